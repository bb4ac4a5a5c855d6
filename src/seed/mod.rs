//! Demo and benchmark data: a plant of a chosen size with a realistic recent history.
//!
//! Tiers follow `reference/factory-domain.md` §8. Structure and operations go through SeaORM
//! in batches; raw readings, the bulk of the data, are generated inside PostgreSQL with
//! `INSERT … SELECT generate_series` (no rows cross the wire), or in Rust and written in
//! multi-row batches on SQLite.

mod history;
mod plant;
mod readings;

use std::{str::FromStr, time::Instant};

use anyhow::Context as _;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

/// Size of the seeded plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// 2 workshops, 4 lines, 24 machines, 192 sensors, 6 h of readings: seeds in seconds.
    Demo,
    /// Tier S: as demo with 24 h of readings (~1.7 M rows).
    S,
    /// Tier M: 6 workshops, 24 lines, 240 machines, 2,400 sensors (20 % sampling each second),
    /// 24 h of readings at 10 s (~20.7 M).
    M,
}

impl FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "demo" => Ok(Self::Demo),
            "s" => Ok(Self::S),
            "m" => Ok(Self::M),
            other => Err(format!("unknown tier `{other}` (use demo, S or M)")),
        }
    }
}

/// The dimensions of a tier.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub workshops: usize,
    pub lines_per_workshop: usize,
    pub machines_per_line: usize,
    pub sensors_per_machine: usize,
    /// Share of sensors sampled every second; the rest every 10 s.
    pub fast_share: f64,
    pub history_hours: i64,
    pub products: usize,
}

impl Tier {
    /// The dimensions of this tier.
    pub fn shape(self) -> Shape {
        match self {
            Self::Demo => Shape {
                workshops: 2,
                lines_per_workshop: 2,
                machines_per_line: 6,
                sensors_per_machine: 8,
                fast_share: 0.0,
                history_hours: 6,
                products: 10,
            },
            Self::S => Shape {
                history_hours: 24,
                ..Self::Demo.shape()
            },
            Self::M => Shape {
                workshops: 6,
                lines_per_workshop: 4,
                machines_per_line: 10,
                sensors_per_machine: 10,
                fast_share: 0.2,
                history_hours: 24,
                products: 50,
            },
        }
    }
}

/// Whether the database holds no plant yet.
pub async fn is_empty(db: &DatabaseConnection) -> anyhow::Result<bool> {
    Ok(entity::site::Entity::find().count(db).await? == 0)
}

/// What a seed run wrote.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub sensors: usize,
    pub readings: u64,
    pub seconds: f64,
}

/// Seeds `tier` into an empty, migrated database.
pub async fn run(db: &DatabaseConnection, tier: Tier) -> anyhow::Result<SeedReport> {
    let report = run_shape(db, &tier.shape()).await?;
    tracing::info!(
        ?tier,
        sensors = report.sensors,
        readings = report.readings,
        seconds = report.seconds,
        "seeded"
    );
    Ok(report)
}

/// Seeds a plant of any shape (tests use small and large ones) into an empty database.
pub async fn run_shape(db: &DatabaseConnection, shape: &Shape) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let shape = *shape;
    let now = chrono::Utc::now();
    let plant = plant::create(db, &shape, now)
        .await
        .context("seeding the plant structure")?;
    history::create(db, &shape, &plant, now)
        .await
        .context("seeding operations history")?;
    let readings = readings::create(db, &shape, now)
        .await
        .context("seeding readings")?;
    let report = SeedReport {
        sensors: plant.sensors,
        readings,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(report)
}

pub use readings::synthetic_value;
