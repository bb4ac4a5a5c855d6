//! GraphQL over every transport: HTTP POST and GET (`http`), WebSocket (`ws`) and
//! Server-Sent Events (`sse`). Each is a thin adapter over [`operation`], the one policy path
//! every operation takes (caller, limits, rate limit, timeout, audit, security events, fresh
//! loaders on the right pool); [`feeds`] shares the execution of identical subscriptions and
//! [`sockets`] holds the long-lived connections (limits, revocation, shutdown).

pub mod errors;
pub mod feeds;
pub mod http;
pub mod operation;
pub mod persisted;
pub mod sockets;
pub mod sse;
pub mod ws;

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use super::AppSchema;
use crate::{security::client_ip::client_ip, service::session::ClientInfo, state::AppState};

/// What the GraphQL routes share.
#[derive(Clone)]
pub struct GraphqlHttp {
    pub state: AppState,
    pub schema: AppSchema,
}

/// Where the request came from: the peer, or the client behind a trusted proxy.
pub fn client_info(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> ClientInfo {
    let ip = client_ip(peer.ip(), headers, &state.config.server.trusted_proxies);
    ClientInfo {
        ip: Some(ip.to_string()),
        user_agent: errors::header(headers, header::USER_AGENT).map(str::to_owned),
    }
}
