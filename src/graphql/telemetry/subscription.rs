//! `readingsUpdated`: the readings of some sensors, a machine or a line, coalesced.

use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::types::Reading;
use crate::{
    events,
    graphql::context::{ContextExt, parse_ids, parse_opt_id},
    realtime,
    service::live,
};

/// Telemetry subscriptions.
#[derive(Default)]
pub struct TelemetrySubscription;

/// Telemetry subscriptions.
#[Subscription]
impl TelemetrySubscription {
    /// The readings of some sensors, a machine or a line as they are stored, coalesced: per
    /// window of `throttleMs`, one message with the newest reading of each sensor that
    /// reported in it (by sensor id); a window without readings sends nothing. The first
    /// readings after a quiet window go at once, and a message may leave a tenth of
    /// `throttleMs` early, so a gateway as fast as the throttle is delivered as it lands.
    /// Give exactly
    /// one of `sensorIds`, `equipmentId`, `lineId` (viewers and above; ids outside your
    /// workshops are `FORBIDDEN`).
    async fn readings_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "These sensors (1 to 1,000).")] sensor_ids: Option<Vec<ID>>,
        #[graphql(desc = "Every sensor of this machine.")] equipment_id: Option<ID>,
        #[graphql(desc = "Every sensor on this line.")] line_id: Option<ID>,
        #[graphql(
            desc = "The coalescing window in milliseconds, 100 to 60,000.",
            default = 1000
        )]
        throttle_ms: i32,
    ) -> Result<impl Stream<Item = Vec<Reading>>> {
        let request = live::ReadingsRequest {
            sensor_ids: sensor_ids
                .map(|ids| parse_ids("sensorIds", &ids, live::MAX_SENSORS))
                .transpose()?,
            equipment_id: parse_opt_id("equipmentId", equipment_id.as_ref())?,
            line_id: parse_opt_id("lineId", line_id.as_ref())?,
            throttle_ms,
        };
        let state = ctx.state();
        let plan = live::readings(&state.db.read, ctx.caller()?, request).await?;
        let readings = realtime::coalesced(state.hub.readings(plan.interest), plan.window);
        ctx.established();
        Ok(readings.map(|batch| batch.into_iter().map(Reading::from).collect()))
    }
}

impl From<events::Reading> for Reading {
    fn from(r: events::Reading) -> Self {
        Self {
            sensor_id: r.sensor_id.into(),
            ts: r.ts,
            value: r.value,
            quality: i32::from(r.quality),
        }
    }
}
