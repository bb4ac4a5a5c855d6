//! The plant structure of a tier: site, workshops, lines, machines, sensors, products.

use chrono::{DateTime, Utc};
use entity::{
    downtime_reason, enums::*, equipment, product, production_line, sensor, site, workshop,
};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, Set};

use super::Shape;

/// Ids of what was created, for the history seeders.
pub struct SeededPlant {
    pub workshop_ids: Vec<i64>,
    pub lines: Vec<production_line::Model>,
    pub equipment: Vec<equipment::Model>,
    pub product_ids: Vec<i64>,
    pub reasons: Vec<downtime_reason::Model>,
    pub sensors: usize,
}

const KINDS: [EquipmentKind; 6] = [
    EquipmentKind::Cnc,
    EquipmentKind::Press,
    EquipmentKind::Robot,
    EquipmentKind::Welder,
    EquipmentKind::Assembly,
    EquipmentKind::Inspection,
];

/// (metric, unit, lo_lo, lo, hi, hi_hi) of the sensors of a machine, in order.
const SENSORS: [(SensorMetric, &str, f64, f64, f64, f64); 10] = [
    (SensorMetric::Temperature, "°C", 5.0, 15.0, 75.0, 90.0),
    (SensorMetric::VibrationRms, "mm/s", 0.0, 0.0, 7.1, 11.2),
    (SensorMetric::Pressure, "bar", 2.0, 4.0, 8.0, 9.5),
    (SensorMetric::Current, "A", 0.0, 1.0, 28.0, 32.0),
    (SensorMetric::Power, "kW", 0.0, 0.5, 18.0, 22.0),
    (SensorMetric::Speed, "rpm", 0.0, 200.0, 3200.0, 3600.0),
    (SensorMetric::Torque, "Nm", 0.0, 5.0, 85.0, 95.0),
    (SensorMetric::Voltage, "V", 360.0, 380.0, 420.0, 440.0),
    (SensorMetric::Flow, "l/min", 0.0, 2.0, 40.0, 45.0),
    (SensorMetric::Humidity, "%", 10.0, 20.0, 70.0, 85.0),
];

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

/// Creates the structure of `shape`.
pub async fn create(
    db: &DatabaseConnection,
    shape: &Shape,
    now: DateTime<Utc>,
) -> anyhow::Result<SeededPlant> {
    let site = site::Entity::insert(site::ActiveModel {
        code: Set("PLANT-1".into()),
        name: Set("Demo plant".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    let site_id = site.last_insert_id;

    let workshops = (0..shape.workshops).map(|w| workshop::ActiveModel {
        site_id: Set(site_id),
        code: Set(format!("WS-{:02}", w + 1)),
        name: Set(format!("Workshop {}", w + 1)),
        description: Set(Some(format!("Assembly hall {}", w + 1))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    workshop::Entity::insert_many(workshops).exec(db).await?;
    let workshops = workshop::Entity::find()
        .order_by_asc(workshop::Column::Id)
        .all(db)
        .await?;

    let lines = workshops.iter().flat_map(|w| {
        (0..shape.lines_per_workshop).map(move |l| production_line::ActiveModel {
            workshop_id: Set(w.id),
            code: Set(format!("{}-L{}", w.code, l + 1)),
            name: Set(format!("{} line {}", w.name, l + 1)),
            status: Set(LineStatus::Running),
            bottleneck_equipment_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
    });
    production_line::Entity::insert_many(lines.collect::<Vec<_>>())
        .exec(db)
        .await?;
    let lines = production_line::Entity::find()
        .order_by_asc(production_line::Column::Id)
        .all(db)
        .await?;

    let machines: Vec<equipment::ActiveModel> = lines
        .iter()
        .flat_map(|line| {
            (0..shape.machines_per_line).map(move |m| {
                let kind = KINDS[m % KINDS.len()];
                equipment::ActiveModel {
                    line_id: Set(line.id),
                    workshop_id: Set(line.workshop_id),
                    code: Set(format!("{}-M{:02}", line.code, m + 1)),
                    name: Set(format!("{} {}", kind.as_str().to_uppercase(), m + 1)),
                    kind: Set(kind),
                    model: Set(Some(format!("X-{}", 100 + m * 10))),
                    serial_no: Set(Some(format!("SN{:06}", line.id * 100 + m as i64))),
                    ideal_cycle_time_s: Set(Some(20.0 + (m % 4) as f64 * 5.0)),
                    status: Set(EquipmentStatus::Running),
                    status_since: Set(now),
                    attributes: Set(serde_json::json!({ "vendor": "Acme", "year": 2020 + m % 6 })),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
            })
        })
        .collect();
    for chunk in machines.chunks(CHUNK) {
        equipment::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    let equipment = equipment::Entity::find()
        .order_by_asc(equipment::Column::Id)
        .all(db)
        .await?;

    // Every n-th sensor samples each second; none when the share is zero.
    let fast_every = (shape.fast_share > 0.0).then(|| (1.0 / shape.fast_share).round() as usize);
    let mut sensors = Vec::with_capacity(equipment.len() * shape.sensors_per_machine);
    for machine in &equipment {
        for s in 0..shape.sensors_per_machine {
            let (metric, unit, lo_lo, lo, hi, hi_hi) = SENSORS[s % SENSORS.len()];
            let index = sensors.len();
            sensors.push(sensor::ActiveModel {
                equipment_id: Set(machine.id),
                workshop_id: Set(machine.workshop_id),
                tag: Set(format!(
                    "{}.{}",
                    machine.code,
                    metric.as_str().to_uppercase()
                )),
                name: Set(format!(
                    "{} {}",
                    machine.name,
                    metric.as_str().replace('_', " ")
                )),
                metric: Set(metric),
                unit: Set(unit.into()),
                sample_interval_ms: Set(if fast_every.is_some_and(|n| index % n == 0) {
                    1_000
                } else {
                    10_000
                }),
                lo_lo: Set(Some(lo_lo)),
                lo: Set(Some(lo)),
                hi: Set(Some(hi)),
                hi_hi: Set(Some(hi_hi)),
                deadband: Set(Some((hi - lo) * 0.02)),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
    }
    let sensor_count = sensors.len();
    for chunk in sensors.chunks(CHUNK) {
        sensor::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }

    let products = (0..shape.products).map(|p| product::ActiveModel {
        sku: Set(format!("SKU-{:04}", p + 1)),
        name: Set(format!("Part {}", p + 1)),
        unit: Set("pcs".into()),
        ideal_cycle_time_s: Set(20.0 + (p % 5) as f64 * 5.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    product::Entity::insert_many(products.collect::<Vec<_>>())
        .exec(db)
        .await?;
    let product_ids = product::Entity::find()
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();

    let reasons = [
        ("BREAK", "Planned break", ReasonCategory::Planned),
        ("NO-DEMAND", "No demand", ReasonCategory::Planned),
        (
            "PLANNED-MAINT",
            "Planned maintenance",
            ReasonCategory::Planned,
        ),
        ("BREAKDOWN", "Breakdown", ReasonCategory::Unplanned),
        (
            "MATERIAL",
            "Waiting for material",
            ReasonCategory::Unplanned,
        ),
        ("CHANGEOVER", "Changeover", ReasonCategory::Setup),
        ("JAM", "Jam", ReasonCategory::MinorStop),
        ("SLOW", "Reduced speed", ReasonCategory::Speed),
        ("QUALITY", "Quality hold", ReasonCategory::Quality),
    ]
    .map(|(code, name, category)| downtime_reason::ActiveModel {
        code: Set(code.into()),
        name: Set(name.into()),
        category: Set(category),
        ..Default::default()
    });
    downtime_reason::Entity::insert_many(reasons)
        .exec(db)
        .await?;
    let reasons = downtime_reason::Entity::find().all(db).await?;

    Ok(SeededPlant {
        workshop_ids: workshops.iter().map(|w| w.id).collect(),
        lines,
        equipment,
        product_ids,
        reasons,
        sensors: sensor_count,
    })
}
