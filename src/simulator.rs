//! The demo's telemetry simulator: every tick, each active sensor whose sample interval has
//! passed gets a new plausible reading, written through the same path as ingest (stored,
//! thresholds evaluated, published). Now and then a sensor with thresholds drifts past one
//! for a minute or two and back, so the demo's alarms raise, escalate and clear by
//! themselves.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::sensor;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::watch;

use crate::{
    seed::synthetic_value,
    service::{
        audit::Audit,
        telemetry::{NewReading, PlacedSensor, placed_sensors, store},
    },
    state::AppState,
};

/// How often the sensor list is re-read (sensors added or deactivated meanwhile).
const REFRESH_EVERY_TICKS: u32 = 60;
/// How often (in ticks) a machine may change status and running orders report counts.
const OPERATIONS_EVERY_TICKS: u32 = 15;
/// Running orders reported on per round, at most.
const REPORTING_ORDERS: u64 = 50;

/// Runs until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config.demo.simulator_tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rng = StdRng::from_os_rng();
    let mut sensors: HashMap<i64, PlacedSensor> = HashMap::new();
    let mut excursions: HashMap<i64, Excursion> = HashMap::new();
    let mut reported: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut last: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut ticks = 0u32;
    tracing::info!("telemetry simulator started");
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = ticker.tick() => {}
        }
        if ticks.is_multiple_of(REFRESH_EVERY_TICKS) {
            let active = sea_orm::Condition::all().add(sensor::Column::Active.eq(true));
            match placed_sensors(&state.db.write, active).await {
                Ok(list) => sensors = list.into_iter().map(|s| (s.sensor.id, s)).collect(),
                Err(err) => tracing::warn!(error = ?err, "simulator: reading sensors failed"),
            }
        }
        if ticks.is_multiple_of(OPERATIONS_EVERY_TICKS) {
            operations(&state, &mut rng, &mut reported).await;
        }
        ticks = ticks.wrapping_add(1);
        let now = Utc::now();
        let batch: Vec<NewReading> = sensors
            .values()
            .map(|placed| &placed.sensor)
            .filter(|s| {
                last.get(&s.id).is_none_or(|t| {
                    (now - *t).num_milliseconds() >= i64::from(s.sample_interval_ms)
                })
            })
            .map(|s| NewReading {
                sensor_id: s.id,
                ts: now,
                value: simulated_value(s, now, &mut rng, &mut excursions),
                quality: 192,
            })
            .collect();
        if batch.is_empty() {
            continue;
        }
        match store(state.sink(), &Audit::internal(), &batch, &sensors).await {
            Ok(written) => {
                state.metrics.readings_ingested.inc_by(written);
                for r in &batch {
                    last.insert(r.sensor_id, r.ts);
                }
            }
            Err(err) => tracing::warn!(error = ?err, "simulator: writing readings failed"),
        }
    }
    tracing::info!("telemetry simulator stopped");
}

/// A sensor pushed past a threshold for a while.
#[derive(Clone, Copy, Debug)]
struct Excursion {
    until: DateTime<Utc>,
    /// The value held meanwhile (just past `hi`, sometimes past `hi_hi`).
    value: f64,
}

/// Chance per sample that a sensor with a `hi` threshold starts an excursion: with 2,400
/// sensors at 1–10 s, about one a minute across the plant.
const EXCURSION_CHANCE: f64 = 1.0 / 20_000.0;

/// The next value of `sensor`: its synthetic curve, or the excursion it is in.
fn simulated_value(
    sensor: &sensor::Model,
    now: DateTime<Utc>,
    rng: &mut StdRng,
    excursions: &mut HashMap<i64, Excursion>,
) -> f64 {
    if let Some(excursion) = excursions.get(&sensor.id) {
        if excursion.until > now {
            return excursion.value + rng.random_range(-0.001..0.001) * excursion.value.abs();
        }
        excursions.remove(&sensor.id);
    }
    let normal = synthetic_value(sensor, now, rng.random_range(-1.0..1.0));
    if let Some(hi) = sensor.hi
        && rng.random_bool(EXCURSION_CHANCE)
    {
        let span = (hi - sensor.lo.unwrap_or(0.0)).abs().max(1.0);
        let critical = sensor.hi_hi.filter(|_| rng.random_bool(0.3));
        let value = critical.unwrap_or(hi) + span * 0.02;
        let seconds = rng.random_range(45..150);
        excursions.insert(
            sensor.id,
            Excursion {
                until: now + chrono::Duration::seconds(seconds),
                value,
            },
        );
        return value;
    }
    normal
}

/// One round of shop-floor activity through the same services as the API: one machine
/// changes status (mostly between RUNNING and IDLE, now and then DOWN or SETUP with a
/// reason), and the first machine of each running order's line reports the parts made since
/// its last report. Failures (a report overlapping a person's) are logged and skipped.
async fn operations(
    state: &AppState,
    rng: &mut StdRng,
    reported: &mut HashMap<i64, DateTime<Utc>>,
) {
    use entity::{
        enums::{EquipmentStatus, OrderStatus},
        equipment, production_order, production_report,
    };
    use sea_orm::{QueryOrder, QuerySelect};

    use crate::{
        auth::{Caller, WorkshopScope},
        service::{equipment_status, production},
    };
    let db = &state.db.write;
    let machines = match equipment::Entity::find()
        .order_by_asc(equipment::Column::Id)
        .all(db)
        .await
    {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => return,
        Err(err) => {
            tracing::warn!(error = %err, "simulator: reading equipment failed");
            return;
        }
    };
    let machine = &machines[rng.random_range(0..machines.len())];
    if machine.status != EquipmentStatus::Maintenance {
        let roll = rng.random_range(0..100);
        let (status, reason) = match machine.status {
            EquipmentStatus::Running if roll < 10 => (EquipmentStatus::Down, Some("BREAKDOWN")),
            EquipmentStatus::Running if roll < 20 => (EquipmentStatus::Setup, Some("CHANGEOVER")),
            EquipmentStatus::Running if roll < 45 => (EquipmentStatus::Idle, None),
            EquipmentStatus::Running => (EquipmentStatus::Running, None),
            _ => (EquipmentStatus::Running, None),
        };
        let new = equipment_status::NewStatus {
            status,
            reason_code: reason.map(str::to_owned),
            at: None,
        };
        if let Err(err) = equipment_status::commit(
            db,
            &state.events,
            &state.cache,
            &Audit::internal(),
            &WorkshopScope::All,
            machine.id,
            new,
            equipment_status::SetBy::simulator(),
        )
        .await
        {
            tracing::debug!(error = ?err, "simulator: status change refused");
        }
    }
    let orders = match production_order::Entity::find()
        .filter(production_order::Column::Status.eq(OrderStatus::InProgress))
        .order_by_asc(production_order::Column::Id)
        .limit(REPORTING_ORDERS)
        .all(db)
        .await
    {
        Ok(orders) => orders,
        Err(err) => {
            tracing::warn!(error = %err, "simulator: reading orders failed");
            return;
        }
    };
    let now = Utc::now();
    let caller = Caller::system();
    for order in orders {
        let Some(machine) = machines.iter().find(|m| m.line_id == order.line_id) else {
            continue;
        };
        let since = match reported.get(&machine.id) {
            Some(t) => *t,
            None => {
                let last: Option<DateTime<Utc>> = production_report::Entity::find()
                    .select_only()
                    .column_as(production_report::Column::PeriodEnd.max(), "last")
                    .filter(production_report::Column::EquipmentId.eq(machine.id))
                    .into_tuple::<Option<DateTime<Utc>>>()
                    .one(db)
                    .await
                    .ok()
                    .flatten()
                    .flatten();
                let started = order.actual_start.unwrap_or(now);
                last.map_or(started, |l| l.max(started))
                    .max(now - chrono::Duration::minutes(10))
            }
        };
        let seconds = (now - since).num_seconds();
        if seconds < 10 {
            continue;
        }
        let cycle = machine.ideal_cycle_time_s.unwrap_or(30.0).max(1.0);
        let total = ((seconds as f64 / cycle) * rng.random_range(0.75..0.98)).round() as i32;
        let scrap = (f64::from(total) * rng.random_range(0.0..0.04)).round() as i32;
        let input = production::NewReport {
            equipment_id: machine.id,
            order_id: order.id,
            period_start: since,
            period_end: now,
            total_count: total,
            good_count: total - scrap,
            scrap_count: scrap,
            scrap_reason: (scrap > 0).then(|| "QUALITY".to_owned()),
        };
        match production::report(db, &state.events, &caller, &Audit::internal(), input).await {
            Ok(_) => {
                reported.insert(machine.id, now);
            }
            Err(err) => {
                // Start after whatever is there next round (a person's report, say).
                reported.insert(machine.id, now);
                tracing::debug!(error = ?err, "simulator: production report refused");
            }
        }
    }
}
