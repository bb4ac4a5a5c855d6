//! Protections around the request path: the audit trail of mutations (rate limits and request
//! limits join here with the rest of the security work).

pub mod audit;
pub mod limits;
