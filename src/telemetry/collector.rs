//! The collector: one task per instance that, every `SF_METRICS_INTERVAL_MS`, builds one
//! [`Snapshot`] from the registry's counters (deltas since the previous tick give the
//! rates), the latency windows, `/proc`, the pools and a database ping; hands it to the
//! [`Monitor`](super::monitor::Monitor) (queries, the subscription and `/metrics` read it
//! there), publishes it on the bus for the other instances, stores a row in
//! `metric_snapshots` once a minute and evaluates the alert rules.

use std::{sync::Arc, time::Instant};

use chrono::{DateTime, Timelike as _, Utc};
use sea_orm::{ActiveModelTrait as _, DatabaseConnection, Set};
use tokio::{
    sync::{broadcast, watch},
    task::JoinHandle,
    time::MissedTickBehavior,
};

use super::{
    Metrics,
    metrics::OutcomeLabels,
    process::{self, CpuSample},
    snapshot::{CacheSample, Snapshot, hit_ratio, ratio},
    window::Window,
};
use crate::{
    events::{Event, Topic},
    realtime::Kind,
    state::AppState,
};

/// How long the per-tick database ping may take before the instance counts as not ready.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts the collector of `state`'s instance; it stops when `stop` turns true.
pub fn start(state: AppState, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    // Taken now, before the server serves: no peer snapshot published after start is missed.
    let peers = state.events.subscribe(Topic::Metrics);
    let alerts = super::alerts::Engine::new(&state);
    tokio::spawn(run(state, peers, alerts, stop))
}

async fn run(
    state: AppState,
    mut peers: broadcast::Receiver<Arc<Event>>,
    mut alerts: super::alerts::Engine,
    mut stop: watch::Receiver<bool>,
) {
    let config = &state.config.metrics;
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sampler = Sampler::new(&state);
    let mut last_minute: Option<i64> = None;
    loop {
        tokio::select! {
            // The guard `wait_for` returns is not `Send`: dropped inside the branch future.
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
            _ = ticker.tick() => {
                let snapshot = Arc::new(sampler.tick(&state).await);
                state.monitor.tick(snapshot.clone());
                state.events.publish(Event::Metrics(Box::new((*snapshot).clone())));
                let minute = snapshot.at.timestamp().div_euclid(60);
                if last_minute != Some(minute) {
                    last_minute = Some(minute);
                    write_history(&state.db.write, &snapshot).await;
                }
                alerts.evaluate(&state, &snapshot).await;
            }
            received = peers.recv() => match received {
                Ok(event) => {
                    if let Event::Metrics(snapshot) = &*event {
                        state.monitor.peer((**snapshot).clone());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

/// Stores one history row; a failure is logged, never fatal (the next minute tries again).
async fn write_history(db: &DatabaseConnection, snapshot: &Snapshot) {
    let data = match serde_json::to_value(snapshot) {
        Ok(data) => data,
        Err(err) => {
            tracing::error!(error = %err, "encoding a metric snapshot");
            return;
        }
    };
    let row = entity::metric_snapshot::ActiveModel {
        instance_id: Set(snapshot.instance.clone()),
        ts: Set(snapshot.at.with_nanosecond(0).unwrap_or(snapshot.at)),
        data: Set(data),
        ..Default::default()
    };
    if let Err(err) = row.insert(db).await {
        tracing::warn!(error = %err, "writing the metric snapshot failed");
    }
}

/// The registry counters the collector turns into per-tick rates.
#[derive(Clone, Copy, Default)]
struct Counters {
    ok: u64,
    errors: u64,
    sql: u64,
    slow_sql: u64,
    slow_operations: u64,
    readings: u64,
    dropped: u64,
}

impl Counters {
    fn read(m: &Metrics) -> Self {
        let outcome = |outcome| {
            m.graphql_requests
                .get_or_create(&OutcomeLabels { outcome })
                .get()
        };
        let hub_dropped: u64 = Kind::ALL
            .iter()
            .map(|k| {
                m.hub
                    .dropped
                    .get_or_create(&super::hub_metrics::SubscriptionKindLabels { kind: k.name() })
                    .get()
            })
            .sum();
        Self {
            ok: outcome("ok"),
            errors: outcome("error"),
            sql: m.sql_statements.get(),
            slow_sql: m.sql_slow_statements.get(),
            slow_operations: m.system.slow_operations.get(),
            readings: m.readings_ingested.get(),
            dropped: m.sockets.subscriber_dropped.get() + hub_dropped,
        }
    }
}

/// What one tick needs of the previous one.
struct Sampler {
    counters: Counters,
    cpu: CpuSample,
    at: Instant,
    latency: Window,
    sql: Window,
    cache: CacheCounters,
}

/// The cache's lookup counters at the previous tick, by kind: `(l1 hits, l2 hits, lookups)`.
#[derive(Default)]
struct CacheCounters(std::collections::HashMap<&'static str, (u64, u64, u64)>);

/// The cache lookups of one tick.
struct CacheTick {
    hits: u64,
    lookups: u64,
    kinds: Vec<CacheSample>,
}

impl CacheCounters {
    /// The lookups since the previous call, per kind and in all.
    fn tick(&mut self, state: &AppState) -> CacheTick {
        let mut out = CacheTick {
            hits: 0,
            lookups: 0,
            kinds: Vec::new(),
        };
        for k in state.cache.stats().kinds {
            let now = (k.l1.hits, k.l2.hits, k.l1.hits + k.l1.misses);
            let (l1, l2, lookups) = self.0.insert(k.kind, now).unwrap_or_default();
            let sample = CacheSample {
                kind: k.kind.to_owned(),
                l1_hits: now.0.saturating_sub(l1),
                l2_hits: now.1.saturating_sub(l2),
                lookups: now.2.saturating_sub(lookups),
            };
            if sample.lookups > 0 {
                out.hits += sample.l1_hits + sample.l2_hits;
                out.lookups += sample.lookups;
                out.kinds.push(sample);
            }
        }
        out
    }
}

impl Sampler {
    fn new(state: &AppState) -> Self {
        let config = &state.config.metrics;
        let ticks = (config.window.as_millis() / config.interval.as_millis().max(1)).max(1);
        let ticks = usize::try_from(ticks).unwrap_or(usize::MAX);
        Self {
            counters: Counters::read(&state.metrics),
            cpu: process::sample(),
            at: Instant::now(),
            latency: Window::new(ticks),
            sql: Window::new(ticks),
            cache: {
                let mut c = CacheCounters::default();
                c.tick(state);
                c
            },
        }
    }

    async fn tick(&mut self, state: &AppState) -> Snapshot {
        let m = &state.metrics;
        let probe = tokio::time::timeout(PING_TIMEOUT, state.db.probe()).await;
        let (pool_acquire_ms, db_ping_ms) = match probe {
            Ok(Ok((acquired, latency))) => {
                m.db_ping_us
                    .set(i64::try_from(latency.as_micros()).unwrap_or(i64::MAX));
                (
                    Some(acquired.as_secs_f64() * 1_000.0),
                    Some(latency.as_secs_f64() * 1_000.0),
                )
            }
            _ => (None, None),
        };
        let cache = self.cache.tick(state);
        let now = Instant::now();
        let seconds = now.duration_since(self.at).as_secs_f64().max(1e-3);
        let counters = Counters::read(m);
        let prev = std::mem::replace(&mut self.counters, counters);
        self.at = now;
        let cpu = process::sample();
        let (cpu_percent, machine_cpu_percent) = process::cpu_percent(&self.cpu, &cpu);
        self.cpu = cpu;
        self.latency.push(m.latency.take());
        self.sql.push(m.sql_latency.take());
        let delta = |f: fn(&Counters) -> u64| f(&counters).saturating_sub(f(&prev));
        let ok = delta(|c| c.ok);
        let errors = delta(|c| c.errors);
        let operations = ok + errors;
        let (in_use, idle) = pool_stats(state);
        let connections = ["ws", "sse"]
            .iter()
            .map(|&transport| {
                m.sockets
                    .connections
                    .get_or_create(&super::socket_metrics::TransportLabels { transport })
                    .get()
            })
            .sum::<i64>();
        let subscriptions: usize = Kind::ALL
            .iter()
            .map(|k| state.hub.active(*k))
            .sum::<usize>()
            + state.monitor.streams();
        let snapshot = Snapshot {
            instance: state.instance_id.to_string(),
            version: crate::VERSION.to_owned(),
            at: clock_now(state),
            uptime_s: state.started_at.elapsed().as_secs_f64(),
            cpu_percent,
            machine_cpu_percent,
            rss_bytes: process::rss_bytes() as f64,
            requests_per_s: operations as f64 / seconds,
            latency_p50_ms: self.latency.quantile_ms(0.50),
            latency_p95_ms: self.latency.quantile_ms(0.95),
            latency_p99_ms: self.latency.quantile_ms(0.99),
            operations,
            errors,
            error_rate: ratio(errors, operations),
            sql_statements_per_s: delta(|c| c.sql) as f64 / seconds,
            sql_p95_ms: self.sql.quantile_ms(0.95),
            slow_statements: delta(|c| c.slow_sql),
            slow_operations: delta(|c| c.slow_operations),
            pool_in_use: in_use,
            pool_idle: idle,
            pool_waiting: 0,
            cache_hit_ratio: hit_ratio(cache.hits, cache.lookups),
            ws_connections: u64::try_from(connections).unwrap_or(0),
            subscriptions: subscriptions as u64,
            dropped_messages: delta(|c| c.dropped),
            ingest_readings_per_s: delta(|c| c.readings) as f64 / seconds,
            job_queue_depth: None,
            job_failures: None,
            db_ping_ms,
            ready: db_ping_ms.is_some(),
            pool_acquire_ms,
            cache_hits: cache.hits,
            cache_lookups: cache.lookups,
            cache: cache.kinds,
        };
        m.system.set(&snapshot);
        snapshot
    }
}

fn clock_now(state: &AppState) -> DateTime<Utc> {
    state.config.metrics.clock.now()
}

/// `(in use, idle)` connections of the primary pool, plus the replica's when there is one.
fn pool_stats(state: &AppState) -> (u64, u64) {
    let mut pools = vec![&state.db.write];
    if state.config.database.read_url.is_some() {
        pools.push(&state.db.read);
    }
    pools.into_iter().fold((0, 0), |(used, idle), db| {
        let (size, free) = one_pool(db);
        (used + size.saturating_sub(free), idle + free)
    })
}

fn one_pool(db: &DatabaseConnection) -> (u64, u64) {
    use sea_orm::DbBackend;
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (u64::from(pool.size()), pool.num_idle() as u64)
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (u64::from(pool.size()), pool.num_idle() as u64)
        }
        _ => (0, 0),
    }
}
