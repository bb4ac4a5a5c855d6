//! Integration tests: each test starts the real application on port 0 with its own database
//! (a SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and talks
//! HTTP to it like a client.

#![expect(
    clippy::expect_used,
    reason = "a test that cannot proceed should fail loudly"
)]

mod helpers;

mod alarms;
mod cli;
mod pagination;
mod plant;
mod production;
mod products;
mod schema;
mod statements;
mod telemetry;
mod transport;
