//! The demo's telemetry simulator: every tick, each active sensor whose sample interval has
//! passed gets a new plausible reading, written through the same batched path as ingest and
//! published on the bus like an ingest batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::sensor;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::watch;

use crate::{
    events::Event,
    seed::synthetic_value,
    service::telemetry::{NewReading, write_readings},
    state::AppState,
};

/// How often the sensor list is re-read (sensors added or deactivated meanwhile).
const REFRESH_EVERY_TICKS: u32 = 60;

/// Runs until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config.demo.simulator_tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rng = StdRng::from_os_rng();
    let mut sensors: Vec<sensor::Model> = Vec::new();
    let mut last: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut ticks = 0u32;
    tracing::info!("telemetry simulator started");
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = ticker.tick() => {}
        }
        if ticks.is_multiple_of(REFRESH_EVERY_TICKS) {
            match sensor::Entity::find()
                .filter(sensor::Column::Active.eq(true))
                .all(&state.db.write)
                .await
            {
                Ok(list) => sensors = list,
                Err(err) => tracing::warn!(error = %err, "simulator: reading sensors failed"),
            }
        }
        ticks = ticks.wrapping_add(1);
        let now = Utc::now();
        let (batch, published): (Vec<NewReading>, Vec<_>) = sensors
            .iter()
            .filter(|s| {
                last.get(&s.id).is_none_or(|t| {
                    (now - *t).num_milliseconds() >= i64::from(s.sample_interval_ms)
                })
            })
            .map(|s| {
                let reading = NewReading {
                    sensor_id: s.id,
                    ts: now,
                    value: synthetic_value(s, now, rng.random_range(-1.0..1.0)),
                    quality: 192,
                };
                let event = reading.event(s);
                (reading, event)
            })
            .unzip();
        if batch.is_empty() {
            continue;
        }
        match write_readings(&state.db.write, &batch).await {
            Ok(written) => {
                state.metrics.readings_ingested.inc_by(written);
                for r in &batch {
                    last.insert(r.sensor_id, r.ts);
                }
                state.events.publish(Event::Readings {
                    readings: published,
                });
            }
            Err(err) => tracing::warn!(error = ?err, "simulator: writing readings failed"),
        }
    }
    tracing::info!("telemetry simulator stopped");
}
