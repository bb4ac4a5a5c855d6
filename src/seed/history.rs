//! Recent operations history: shifts, orders, status changes, production reports, alarms and
//! maintenance, so that every list and count of the API has realistic content.

use chrono::{DateTime, Duration, DurationRound, Utc};
use entity::{
    alarm, enums::*, equipment, equipment_status_event as status_event, maintenance_order,
    production_order, production_report, shift,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::{Shape, plant::SeededPlant};

const CHUNK: usize = 500;
const SHIFT_HOURS: i64 = 8;

async fn insert_chunked<A>(db: &DatabaseConnection, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Clone + Send,
{
    for chunk in rows.chunks(CHUNK) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Creates the history of the last `shape.history_hours` (shifts reach a day ahead).
pub async fn create(
    db: &DatabaseConnection,
    shape: &Shape,
    plant: &SeededPlant,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(42);
    let start = (now - Duration::hours(shape.history_hours)).duration_trunc(Duration::hours(1))?;
    let day_start = now.duration_trunc(Duration::days(1))? - Duration::days(1);

    // Three 8-hour shifts a day, from yesterday to tomorrow.
    let mut shifts = Vec::new();
    for &workshop_id in &plant.workshop_ids {
        for n in 0..9 {
            let starts = day_start + Duration::hours(SHIFT_HOURS * n);
            shifts.push(shift::ActiveModel {
                workshop_id: Set(workshop_id),
                name: Set(["Early", "Late", "Night"][(n % 3) as usize].into()),
                starts_at: Set(starts),
                ends_at: Set(starts + Duration::hours(SHIFT_HOURS)),
                planned_break_s: Set(1_800),
                ..Default::default()
            });
        }
    }
    insert_chunked(db, shifts).await?;

    // Three orders per line per shift over the same three days.
    let mut orders = Vec::new();
    let mut number = 0;
    for line in &plant.lines {
        for n in 0..9 {
            let shift_start = day_start + Duration::hours(SHIFT_HOURS * n);
            for k in 0..3 {
                number += 1;
                let planned_start = shift_start + Duration::minutes(160 * k);
                let planned_end = planned_start + Duration::minutes(150);
                let status = if planned_end < now {
                    OrderStatus::Completed
                } else if planned_start < now {
                    OrderStatus::InProgress
                } else if n < 7 {
                    OrderStatus::Released
                } else {
                    OrderStatus::Draft
                };
                let planned = rng.random_range(200..600);
                let done = match status {
                    OrderStatus::Completed => planned,
                    OrderStatus::InProgress => planned / 2,
                    _ => 0,
                };
                let product_id = plant.product_ids[number % plant.product_ids.len().max(1)];
                orders.push(production_order::ActiveModel {
                    number: Set(format!("PO-{number:06}")),
                    product_id: Set(product_id),
                    line_id: Set(line.id),
                    workshop_id: Set(line.workshop_id),
                    qty_planned: Set(planned),
                    qty_good: Set(done * 97 / 100),
                    qty_scrap: Set(done * 3 / 100),
                    status: Set(status),
                    priority: Set(rng.random_range(0..5)),
                    planned_start: Set(planned_start),
                    planned_end: Set(planned_end),
                    actual_start: Set((planned_start < now).then_some(planned_start)),
                    actual_end: Set((planned_end < now).then_some(planned_end)),
                    created_by: Set(None),
                    created_at: Set(day_start),
                    updated_at: Set(now),
                    ..Default::default()
                });
            }
        }
    }
    insert_chunked(db, orders).await?;

    // Status changes: mostly running, with idle, setup and short breakdowns; the last one open.
    let mut events = Vec::new();
    let mut reports = Vec::new();
    let mut final_status = Vec::with_capacity(plant.equipment.len());
    let breakdown = plant
        .reasons
        .iter()
        .find(|r| r.code == "BREAKDOWN")
        .map(|r| r.id);
    let changeover = plant
        .reasons
        .iter()
        .find(|r| r.code == "CHANGEOVER")
        .map(|r| r.id);
    for machine in &plant.equipment {
        let mut t = start;
        let mut last = (EquipmentStatus::Running, start);
        while t < now {
            let (status, minutes, reason) = match rng.random_range(0..10) {
                0 => (EquipmentStatus::Down, rng.random_range(5..30), breakdown),
                1 => (EquipmentStatus::Setup, rng.random_range(10..25), changeover),
                2 => (EquipmentStatus::Idle, rng.random_range(5..20), None),
                _ => (EquipmentStatus::Running, rng.random_range(30..90), None),
            };
            let end = t + Duration::minutes(minutes);
            let open = end >= now;
            events.push(status_event::ActiveModel {
                equipment_id: Set(machine.id),
                workshop_id: Set(machine.workshop_id),
                status: Set(status),
                reason_id: Set(reason),
                started_at: Set(t),
                ended_at: Set((!open).then_some(end)),
                source: Set(StatusSource::Simulator),
                user_id: Set(None),
                ..Default::default()
            });
            last = (status, t);
            t = end;
        }
        final_status.push((machine.clone(), last));
        // One production report per machine per 15 minutes.
        let cycle = machine.ideal_cycle_time_s.unwrap_or(30.0);
        let mut p = start;
        while p + Duration::minutes(15) <= now {
            let ideal = (900.0 / cycle) as i32;
            let total = rng.random_range(ideal * 6 / 10..=ideal);
            let scrap = rng.random_range(0..=total / 20 + 1).min(total);
            reports.push(production_report::ActiveModel {
                equipment_id: Set(machine.id),
                workshop_id: Set(machine.workshop_id),
                order_id: Set(None),
                shift_id: Set(None),
                period_start: Set(p),
                period_end: Set(p + Duration::minutes(15)),
                total_count: Set(total),
                good_count: Set(total - scrap),
                scrap_count: Set(scrap),
                scrap_reason: Set((scrap > 0).then(|| "dimension out of tolerance".to_owned())),
                reported_by: Set(None),
                created_at: Set(p + Duration::minutes(15)),
                ..Default::default()
            });
            p += Duration::minutes(15);
        }
    }
    insert_chunked(db, events).await?;
    insert_chunked(db, reports).await?;
    for (machine, (status, since)) in final_status {
        let mut active: equipment::ActiveModel = machine.into();
        active.status = Set(status);
        active.status_since = Set(since);
        active.update(db).await?;
    }

    // About six alarms an hour per workshop; the most recent few stay open.
    let mut alarms = Vec::new();
    let hours = shape.history_hours.max(1);
    let per_workshop = plant.equipment.len() / plant.workshop_ids.len().max(1);
    for (w, &workshop_id) in plant.workshop_ids.iter().enumerate() {
        let machines = &plant.equipment[w * per_workshop..(w + 1) * per_workshop];
        for n in 0..hours * 6 {
            let machine = &machines[rng.random_range(0..machines.len())];
            let started = start + Duration::minutes(n * 10 + rng.random_range(0..10));
            let open = n >= hours * 6 - 4;
            let severity = [2i16, 3, 4, 4, 5][rng.random_range(0..5)];
            alarms.push(alarm::ActiveModel {
                workshop_id: Set(Some(workshop_id)),
                equipment_id: Set(Some(machine.id)),
                sensor_id: Set(None),
                r#type: Set(format!("SEED_{}", n % 7)),
                severity: Set(severity),
                message: Set(format!("{} reported condition {}", machine.code, n % 7)),
                value: Set(None),
                threshold: Set(None),
                details: Set(None),
                occurrences: Set(1),
                start_ts: Set(started),
                last_ts: Set(started),
                acknowledged: Set(!open || n % 2 == 0),
                ack_ts: Set((!open).then_some(started + Duration::minutes(2))),
                ack_by: Set(None),
                cleared: Set(!open),
                clear_ts: Set((!open).then_some(started + Duration::minutes(8))),
                cleared_by: Set(None),
                assignee_id: Set(None),
                shelved_until: Set(None),
                ..Default::default()
            });
        }
    }
    insert_chunked(db, alarms).await?;

    // A preventive order per machine, plus a few corrective ones.
    let mut orders = Vec::new();
    for (n, machine) in plant.equipment.iter().enumerate() {
        let corrective = n % 7 == 0;
        orders.push(maintenance_order::ActiveModel {
            number: Set(format!("MO-{:06}", n + 1)),
            equipment_id: Set(machine.id),
            workshop_id: Set(machine.workshop_id),
            kind: Set(if corrective {
                MaintenanceKind::Corrective
            } else {
                MaintenanceKind::Preventive
            }),
            priority: Set(if corrective { 1 } else { 3 }),
            status: Set(match n % 4 {
                0 => MaintenanceStatus::Done,
                1 => MaintenanceStatus::Scheduled,
                2 => MaintenanceStatus::Requested,
                _ => MaintenanceStatus::InProgress,
            }),
            title: Set(if corrective {
                format!("Repair {}", machine.code)
            } else {
                format!("Monthly service {}", machine.code)
            }),
            description: Set(None),
            alarm_id: Set(None),
            assignee_id: Set(None),
            scheduled_for: Set(Some(now + Duration::days((n % 30) as i64))),
            started_at: Set(None),
            completed_at: Set(None),
            downtime_s: Set(None),
            created_by: Set(None),
            created_at: Set(start),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    insert_chunked(db, orders).await?;
    Ok(())
}
