//! The two GraphQL-over-WebSocket protocols, chosen by `Sec-WebSocket-Protocol`:
//! `graphql-transport-ws` (the graphql-ws library) and the legacy `graphql-ws`
//! (subscriptions-transport-ws). Client messages are parsed here, strictly: anything else is
//! a protocol error (4400). Server messages are written here as text.

use async_graphql::{Request, ServerError};
use serde::Deserialize;

/// Longest operation id accepted.
const MAX_ID_LEN: usize = 128;

/// Which protocol a socket speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
    LegacyWs,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::LegacyWs => "graphql-ws",
        }
    }

    /// The protocol of an offer like `graphql-transport-ws, graphql-ws`: the first known
    /// one; `None` when the header names only others. No header: `graphql-transport-ws`.
    pub fn select(offer: Option<&str>) -> Option<Self> {
        let Some(offer) = offer else {
            return Some(Self::TransportWs);
        };
        offer.split(',').map(str::trim).find_map(|name| {
            [Self::TransportWs, Self::LegacyWs]
                .into_iter()
                .find(|p| p.name().eq_ignore_ascii_case(name))
        })
    }
}

/// A message from the client, once parsed for its protocol.
#[derive(Debug)]
pub enum ClientMessage {
    Init(Option<serde_json::Value>),
    Ping,
    Pong,
    Subscribe { id: String, request: Box<Request> },
    Complete { id: String },
    Terminate,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[serde(default)]
        #[expect(dead_code, reason = "accepted and ignored, as the protocol allows")]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[expect(dead_code, reason = "accepted and ignored, as the protocol allows")]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Start {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
    Stop {
        id: String,
    },
    ConnectionTerminate,
}

/// Why a message was refused (the socket closes with 4400).
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Protocol {
    /// Parses one text message.
    pub fn parse(self, text: &str) -> Result<ClientMessage, Malformed> {
        let wire: Wire = serde_json::from_str(text)
            .map_err(|err| Malformed(format!("invalid message: {err}")))?;
        let message = match (self, wire) {
            (_, Wire::ConnectionInit { payload }) => ClientMessage::Init(payload),
            (Self::TransportWs, Wire::Ping { .. }) => ClientMessage::Ping,
            (Self::TransportWs, Wire::Pong { .. }) => ClientMessage::Pong,
            (Self::TransportWs, Wire::Subscribe { id, payload })
            | (Self::LegacyWs, Wire::Start { id, payload }) => ClientMessage::Subscribe {
                id: checked_id(id)?,
                request: payload,
            },
            (Self::TransportWs, Wire::Complete { id }) | (Self::LegacyWs, Wire::Stop { id }) => {
                ClientMessage::Complete {
                    id: checked_id(id)?,
                }
            }
            (Self::LegacyWs, Wire::ConnectionTerminate) => ClientMessage::Terminate,
            (_, _) => {
                return Err(Malformed(format!(
                    "that message type is not part of {}",
                    self.name()
                )));
            }
        };
        Ok(message)
    }

    /// `connection_ack`.
    pub fn ack(self) -> String {
        r#"{"type":"connection_ack"}"#.to_owned()
    }

    /// The answer to a client `ping`.
    pub fn pong(self) -> String {
        r#"{"type":"pong"}"#.to_owned()
    }

    /// The legacy protocol's keep-alive message (the other protocol uses ping frames only).
    pub fn keep_alive(self) -> Option<String> {
        (self == Self::LegacyWs).then(|| r#"{"type":"ka"}"#.to_owned())
    }

    /// A result of operation `id`; `payload` is the encoded `{data, errors}`.
    pub fn next(self, id: &str, payload: &str) -> String {
        let kind = match self {
            Self::TransportWs => "next",
            Self::LegacyWs => "data",
        };
        format!(
            r#"{{"type":"{kind}","id":{},"payload":{payload}}}"#,
            quote(id)
        )
    }

    /// Operation `id` failed before it ran: its errors; nothing follows for that id.
    pub fn error(self, id: &str, errors: &[ServerError]) -> String {
        let errors = serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned());
        format!(
            r#"{{"type":"error","id":{},"payload":{errors}}}"#,
            quote(id)
        )
    }

    /// Operation `id` is done.
    pub fn complete(self, id: &str) -> String {
        format!(r#"{{"type":"complete","id":{}}}"#, quote(id))
    }

    /// The legacy protocol's refusal of `connection_init` (sent before the close).
    pub fn connection_error(self, message: &str) -> Option<String> {
        (self == Self::LegacyWs).then(|| {
            serde_json::json!({ "type": "connection_error", "payload": { "message": message } })
                .to_string()
        })
    }
}

fn checked_id(id: String) -> Result<String, Malformed> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Malformed(format!(
            "an operation id must have 1 to {MAX_ID_LEN} characters"
        )));
    }
    Ok(id)
}

/// `s` as a JSON string.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_accepts_its_own_messages_only() {
        let t = Protocol::TransportWs;
        let l = Protocol::LegacyWs;
        let subscribe = r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }"}}"#;
        let start = r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#;
        assert!(matches!(
            t.parse(subscribe),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(matches!(
            l.parse(start),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(t.parse(start).is_err());
        assert!(l.parse(subscribe).is_err());
        assert!(matches!(
            l.parse(r#"{"type":"stop","id":"1"}"#),
            Ok(ClientMessage::Complete { .. })
        ));
        assert!(t.parse(r#"{"type":"connection_terminate"}"#).is_err());
    }

    #[test]
    fn malformed_messages_are_refused() {
        let t = Protocol::TransportWs;
        for bad in [
            "not json",
            "[]",
            r#"{"type":"subscribe","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
            r#"{"type":"mystery"}"#,
            r#"{"id":"1"}"#,
        ] {
            assert!(t.parse(bad).is_err(), "{bad}");
        }
        let long = format!(
            r#"{{"type":"complete","id":"{}"}}"#,
            "x".repeat(MAX_ID_LEN + 1)
        );
        assert!(t.parse(&long).is_err());
    }

    #[test]
    fn the_offer_picks_a_known_protocol() {
        assert_eq!(Protocol::select(None), Some(Protocol::TransportWs));
        assert_eq!(
            Protocol::select(Some("graphql-ws")),
            Some(Protocol::LegacyWs)
        );
        assert_eq!(
            Protocol::select(Some("chat, graphql-transport-ws")),
            Some(Protocol::TransportWs)
        );
        assert_eq!(Protocol::select(Some("chat")), None);
        assert_eq!(
            Protocol::TransportWs.next("a\"b", r#"{"data":1}"#),
            r#"{"type":"next","id":"a\"b","payload":{"data":1}}"#
        );
    }
}
