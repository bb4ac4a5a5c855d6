//! `equipmentStatusChanged`: machines changing status.

use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::status::StatusEvent;
use crate::{
    events::Event,
    graphql::context::{ContextExt, parse_opt_id},
    service::live,
};

/// Plant subscriptions.
#[derive(Default)]
pub struct PlantSubscription;

/// Plant subscriptions.
#[Subscription]
impl PlantSubscription {
    /// Each status interval a machine opens, as it opens. Give at most one of `workshopId`,
    /// `lineId`, `equipmentId`; none means every workshop you may see (viewers and above;
    /// ids outside your workshops are `FORBIDDEN`).
    async fn equipment_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the machines of this workshop.")] workshop_id: Option<ID>,
        #[graphql(desc = "Only the machines of this line.")] line_id: Option<ID>,
        #[graphql(desc = "Only this machine.")] equipment_id: Option<ID>,
    ) -> Result<impl Stream<Item = StatusEvent>> {
        let state = ctx.state();
        let interest = live::status(
            &state.db.read,
            ctx.caller()?,
            parse_opt_id("workshopId", workshop_id.as_ref())?,
            parse_opt_id("lineId", line_id.as_ref())?,
            parse_opt_id("equipmentId", equipment_id.as_ref())?,
        )
        .await?;
        let events = state.hub.status(interest).into_stream();
        ctx.established();
        Ok(events.filter_map(|event| {
            std::future::ready(match &*event {
                Event::EquipmentStatus(change) => Some(StatusEvent::from(change)),
                _ => None,
            })
        }))
    }
}
