//! Limits of the long-lived transports: WebSocket connections and SSE streams.

use std::time::Duration;

use super::{EnvSource, EnvSourceExt as _};

/// WebSocket (`/graphql/ws`) and SSE (`/graphql/stream`) limits.
#[derive(Clone, Debug)]
pub struct SocketConfig {
    /// `SF_WS_MAX_CONNECTIONS`: sockets and streams one instance holds; the next is closed
    /// with 4429 (SSE: 429).
    pub max_connections: usize,
    /// `SF_WS_MAX_PER_USER`: sockets and streams one user (or gateway token) holds at once.
    pub max_per_user: usize,
    /// `SF_WS_MAX_OPERATIONS`: operations running at once on one socket.
    pub max_operations: usize,
    /// `SF_WS_MAX_MESSAGE_BYTES`: largest client message; a larger one closes the socket
    /// with 1009.
    pub max_message_bytes: usize,
    /// `SF_WS_READ_BUFFER_BYTES`: read buffer per socket (tungstenite's default, 128 KiB,
    /// would cost 1.3 GB at 10,000 sockets).
    pub read_buffer_bytes: usize,
    /// `SF_WS_INIT_TIMEOUT_MS`: how long a socket may stay without `connection_init`
    /// (then 4408).
    pub init_timeout: Duration,
    /// `SF_WS_KEEPALIVE_S`: interval of server pings (and of SSE keep-alive comments); a
    /// socket silent for three intervals is closed.
    pub keepalive: Duration,
    /// `SF_WS_SEND_TIMEOUT_MS`: how long one message may wait for a client that does not
    /// read before the connection is dropped.
    pub send_timeout: Duration,
    /// `SF_SUBSCRIPTION_BUFFER`: messages one subscriber may fall behind by before it loses
    /// the oldest (counted in `sf_subscription_dropped_total`).
    pub subscriber_buffer: usize,
}

impl SocketConfig {
    /// The limits from their variables, defaults in code.
    pub fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let config = Self {
            max_connections: env.parse_or("SF_WS_MAX_CONNECTIONS", 10_000)?,
            max_per_user: env.parse_or("SF_WS_MAX_PER_USER", 50)?,
            max_operations: env.parse_or("SF_WS_MAX_OPERATIONS", 100)?,
            max_message_bytes: env.parse_or("SF_WS_MAX_MESSAGE_BYTES", 256 * 1024)?,
            read_buffer_bytes: env.parse_or("SF_WS_READ_BUFFER_BYTES", 4 * 1024)?,
            init_timeout: Duration::from_millis(env.parse_or("SF_WS_INIT_TIMEOUT_MS", 10_000)?),
            keepalive: Duration::from_secs(env.parse_or("SF_WS_KEEPALIVE_S", 15)?),
            send_timeout: Duration::from_millis(env.parse_or("SF_WS_SEND_TIMEOUT_MS", 10_000)?),
            subscriber_buffer: env.parse_or("SF_SUBSCRIPTION_BUFFER", 32)?,
        };
        if config.keepalive.is_zero() {
            anyhow::bail!("SF_WS_KEEPALIVE_S must be at least 1");
        }
        if config.subscriber_buffer == 0 {
            anyhow::bail!("SF_SUBSCRIPTION_BUFFER must be at least 1");
        }
        if config.read_buffer_bytes < 1024 {
            anyhow::bail!("SF_WS_READ_BUFFER_BYTES must be at least 1024");
        }
        Ok(config)
    }
}
