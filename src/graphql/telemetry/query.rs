//! Telemetry queries.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{Agg, Reading, Series, SeriesPoint};
use crate::{
    error::AppError,
    graphql::context::{ContextExt, parse_id, parse_ids},
    service::telemetry::{self, Aggregates, SensorSelector, SeriesRequest},
};

/// Telemetry queries.
#[derive(Default)]
pub struct TelemetryQuery;

/// Telemetry queries.
#[Object]
impl TelemetryQuery {
    /// The newest reading of each selected sensor (sensors without readings are left out).
    /// Give exactly one of `sensorIds`, `equipmentId`, `lineId`.
    async fn latest_readings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "These sensors (at most 1,000).")] sensor_ids: Option<Vec<ID>>,
        #[graphql(desc = "Every sensor of this machine.")] equipment_id: Option<ID>,
        #[graphql(desc = "Every sensor on this line.")] line_id: Option<ID>,
    ) -> Result<Vec<Reading>> {
        let selector = match (sensor_ids, equipment_id, line_id) {
            (Some(ids), None, None) => SensorSelector::Ids(parse_ids(
                "sensorIds",
                &ids,
                telemetry::MAX_SENSORS_PER_QUERY,
            )?),
            (None, Some(id), None) => SensorSelector::Equipment(parse_id("equipmentId", &id)?),
            (None, None, Some(id)) => SensorSelector::Line(parse_id("lineId", &id)?),
            _ => {
                return Err(AppError::bad_input(
                    "give exactly one of `sensorIds`, `equipmentId`, `lineId`",
                )
                .into());
            }
        };
        let rows = telemetry::latest(&ctx.state().db.read, ctx.caller()?, &selector).await?;
        Ok(rows.into_iter().map(Reading::from).collect())
    }

    /// Raw readings of one sensor in `[from, to)`, oldest first.
    #[graphql(complexity = "limit.unwrap_or(1000).max(0) as usize * child_complexity / 10 + 1")]
    async fn readings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sensor.")] sensor_id: ID,
        #[graphql(desc = "Start of the range (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (exclusive).")] to: DateTime<Utc>,
        #[graphql(
            desc = "Most readings returned (default 1,000; at most the configured maximum)."
        )]
        limit: Option<i32>,
    ) -> Result<Vec<Reading>> {
        let sensor_id = parse_id("sensorId", &sensor_id)?;
        let max = ctx.state().config.graphql.max_readings;
        let limit = match limit {
            None => 1_000.min(max),
            Some(n) if n < 1 || n.unsigned_abs() > max => {
                return Err(
                    AppError::invalid("limit", format!("`limit` must be 1 to {max}")).into(),
                );
            }
            Some(n) => n.unsigned_abs(),
        };
        let rows = telemetry::readings(
            &ctx.state().db.read,
            ctx.caller()?,
            sensor_id,
            from,
            to,
            u64::from(limit),
        )
        .await?;
        Ok(rows.into_iter().map(Reading::from).collect())
    }

    /// Bucketed series of up to 100 sensors over `[from, to)`, computed in the database.
    /// Give `bucketSeconds` for a fixed width, or let `maxPoints` pick the width.
    #[expect(
        clippy::too_many_arguments,
        reason = "one parameter per GraphQL argument"
    )]
    async fn reading_series(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sensors (1 to 100).")] sensor_ids: Vec<ID>,
        #[graphql(desc = "Start of the range (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (exclusive).")] to: DateTime<Utc>,
        #[graphql(desc = "Fixed bucket width in seconds.")] bucket_seconds: Option<i64>,
        #[graphql(desc = "Most buckets per sensor when the width is derived (default 500).")]
        max_points: Option<i32>,
        #[graphql(desc = "Aggregates to compute (default AVG).")] aggs: Option<Vec<Agg>>,
    ) -> Result<Vec<Series>> {
        let ids = parse_ids("sensorIds", &sensor_ids, telemetry::MAX_SERIES_SENSORS)?;
        let aggs = aggs.unwrap_or_else(|| vec![Agg::Avg]);
        if aggs.is_empty() {
            return Err(AppError::invalid("aggs", "ask for at least one aggregate").into());
        }
        let mut aggregates = Aggregates::default();
        for agg in &aggs {
            match agg {
                Agg::Avg => aggregates.avg = true,
                Agg::Min => aggregates.min = true,
                Agg::Max => aggregates.max = true,
                Agg::Last => aggregates.last = true,
                Agg::Sum => aggregates.sum = true,
                Agg::Count => aggregates.count = true,
            }
        }
        let max_points = match max_points {
            None => 500,
            Some(n) if n < 1 => {
                return Err(AppError::invalid("maxPoints", "`maxPoints` must be positive").into());
            }
            Some(n) => n.unsigned_abs(),
        };
        let request = SeriesRequest {
            sensor_ids: ids.clone(),
            from,
            to,
            bucket_s: bucket_seconds,
            max_points,
            aggregates,
        };
        let limit = ctx.state().config.graphql.max_series_points;
        let jobs = &ctx.state().config.jobs;
        let sources = telemetry::SeriesSources {
            raw_max: jobs.series_raw_max,
            one_minute_max: jobs.series_1m_max,
        };
        let series = telemetry::series(
            &ctx.state().db.read,
            ctx.caller()?,
            &request,
            limit,
            &sources,
        )
        .await?;
        let mut by_sensor: BTreeMap<i64, Vec<SeriesPoint>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for row in series.rows {
            let a = &aggregates;
            by_sensor
                .entry(row.sensor_id)
                .or_default()
                .push(SeriesPoint {
                    ts: telemetry::bucket_start(row.bucket, series.bucket_s),
                    avg: row.avg.filter(|_| a.avg),
                    min: row.min.filter(|_| a.min),
                    max: row.max.filter(|_| a.max),
                    last: row.last.filter(|_| a.last),
                    sum: row.sum.filter(|_| a.sum),
                    count: a.count.then_some(row.count),
                });
        }
        // Keep the caller's order of sensors.
        Ok(ids
            .iter()
            .map(|id| Series {
                sensor_id: (*id).into(),
                bucket_seconds: series.bucket_s,
                source: series.source.into(),
                // A sensor named twice gets its series twice.
                points: by_sensor.get(id).cloned().unwrap_or_default(),
            })
            .collect())
    }
}
