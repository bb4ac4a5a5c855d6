//! Protections around the request path: the audit trail of mutations, the document guard
//! (size, nesting and shape limits), rate limits, and who the client is behind proxies.

pub mod audit;
pub mod client_ip;
pub mod document;
pub mod ratelimit;
