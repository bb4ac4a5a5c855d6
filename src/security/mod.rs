//! Protections around the request path: the audit trail of mutations, request-shape limits,
//! rate limits, and who the client is behind proxies.

pub mod audit;
pub mod client_ip;
pub mod limits;
pub mod ratelimit;
