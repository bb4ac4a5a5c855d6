//! Integration tests: each test starts the real application on port 0 with its own database
//! (a SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and talks
//! HTTP to it like a client.

#![expect(
    clippy::expect_used,
    reason = "a test that cannot proceed should fail loudly"
)]

mod bad_input;
mod helpers;
mod hostile_corpus;
mod live_client;
mod plant_ops;
mod process;

mod alarm_lifecycle;
mod alarm_rules;
mod alarms;
mod alerts;
mod audit_txn;
mod auth;
mod cache;
mod cache_codec;
mod cli;
mod dashboard;
mod dashboard_page;
mod equipment_status;
mod events;
mod fuzz;
mod graphiql;
mod headers;
mod hostile;
mod ingest;
mod ingest_http;
mod instances;
mod jobs;
mod maintenance_orders;
mod metrics_endpoint;
mod oee;
mod pagination;
mod plant_bad_equipment_input;
mod plant_bad_input;
mod plant_hostile_text;
mod plant_mutations;
mod plant_queries;
mod policy;
mod production;
mod production_orders;
mod products;
mod ratelimit;
mod response_cache;
mod roles;
mod rollups;
mod schema;
mod simulator;
mod sse;
mod statements;
mod subscriptions;
mod subscriptions_delivery;
mod subscriptions_instances;
mod subscriptions_scope;
mod system_alarms;
mod system_metrics;
mod telemetry;
mod transport;
mod users;
mod ws;
mod ws_backpressure;
