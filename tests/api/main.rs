//! Integration tests: each test starts the real application on port 0 with its own database
//! (a SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and talks
//! HTTP to it like a client.

mod helpers;

mod plant;
mod schema;
mod statements;
mod transport;
