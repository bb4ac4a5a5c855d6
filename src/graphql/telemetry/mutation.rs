//! Telemetry writes: batched ingest from line gateways.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    graphql::context::ContextExt,
    service::telemetry::{self, IngestRow},
};

/// One reading to store.
#[derive(InputObject)]
pub struct ReadingInput {
    /// The sensor.
    pub sensor_id: ID,
    /// When it was measured (at most 5 minutes ahead, at most 30 days back).
    pub ts: DateTime<Utc>,
    /// The value, in the sensor's unit.
    pub value: f64,
    /// OPC UA style quality, 0–255 (default 192 = good).
    pub quality: Option<i32>,
}

/// Input of `ingestReadings`.
#[derive(InputObject)]
pub struct IngestReadingsInput {
    /// Up to 5,000 readings; a `(sensor, ts)` already stored is not stored again.
    pub readings: Vec<ReadingInput>,
}

/// A reading that was not stored.
#[derive(SimpleObject)]
pub struct IngestRejection {
    /// Its position in `readings`.
    pub index: i32,
    /// `NOT_FOUND` (unknown, hidden or inactive sensor) or `BAD_USER_INPUT`.
    pub code: String,
    /// Why.
    pub message: String,
}

/// Result of `ingestReadings`.
#[derive(SimpleObject)]
pub struct IngestReadingsPayload {
    /// Readings that passed the checks.
    pub accepted: i32,
    /// Of those, readings not stored before.
    pub inserted: i32,
    /// Readings refused, each with its reason; the others are stored regardless.
    pub rejected: Vec<IngestRejection>,
}

/// Telemetry mutations.
#[derive(Default)]
pub struct TelemetryMutation;

#[Object]
impl TelemetryMutation {
    /// Stores a batch of readings (gateways for their workshop; engineers and above in
    /// scope), in one transaction, reporting each refused row.
    async fn ingest_readings(
        &self,
        ctx: &Context<'_>,
        input: IngestReadingsInput,
    ) -> Result<IngestReadingsPayload> {
        let rows: Vec<IngestRow> = input
            .readings
            .iter()
            .map(|r| IngestRow {
                sensor_id: r.sensor_id.parse::<i64>().ok().filter(|id| *id > 0),
                ts: r.ts,
                value: r.value,
                quality: r.quality,
            })
            .collect();
        let state = ctx.state();
        let report =
            telemetry::ingest(&state.db.write, &state.events, ctx.caller()?, &rows).await?;
        state.metrics.readings_ingested.inc_by(report.inserted);
        Ok(IngestReadingsPayload {
            accepted: i32::try_from(report.accepted).unwrap_or(i32::MAX),
            inserted: i32::try_from(report.inserted).unwrap_or(i32::MAX),
            rejected: report
                .rejected
                .into_iter()
                .map(|r| IngestRejection {
                    index: i32::try_from(r.index).unwrap_or(i32::MAX),
                    code: r.code.to_owned(),
                    message: r.message.to_owned(),
                })
                .collect(),
        })
    }
}
