//! Telemetry writes: batched ingest from line gateways.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    graphql::context::ContextExt,
    service::telemetry::{self, IngestRow, SensorRef},
};

/// One reading to store.
#[derive(InputObject)]
pub struct ReadingInput {
    /// The sensor, by id; or give `tag`.
    pub sensor_id: Option<ID>,
    /// The sensor, by its tag (e.g. `WS-01-L1-M01.TEMPERATURE`); or give `sensorId`.
    pub tag: Option<String>,
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
    /// `NOT_FOUND` (unknown, hidden or inactive sensor), `FORBIDDEN` (a gateway naming a
    /// sensor of another workshop) or `BAD_USER_INPUT`.
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
                sensor: SensorRef::of(r.sensor_id.as_ref().map(|id| id.as_str()), r.tag.as_deref()),
                ts: r.ts,
                value: r.value,
                quality: r.quality,
            })
            .collect();
        let state = ctx.state();
        // The audit row names the batch, not its thousands of values.
        let audit = ctx
            .audit()
            .with_arguments(serde_json::json!({ "readings": rows.len() }));
        let report = telemetry::ingest(state.sink(), ctx.caller()?, &audit, &rows).await?;
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
