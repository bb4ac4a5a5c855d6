//! `maintenanceOrderChanged`.

use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::types::MaintenanceOrder;
use crate::{
    events::Event,
    graphql::context::{ContextExt, parse_opt_id},
    service::{live, maintenance as maintenance_service},
};

/// Maintenance subscriptions.
#[derive(Default)]
pub struct MaintenanceSubscription;

/// Maintenance subscriptions.
#[Subscription]
impl MaintenanceSubscription {
    /// Each maintenance order as it is created, changed or moved, in its state right after
    /// the change. Give `workshopId`, or nothing for every workshop you may see (viewers and
    /// above; a workshop outside yours is `FORBIDDEN`).
    async fn maintenance_order_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this workshop's orders.")] workshop_id: Option<ID>,
    ) -> Result<impl Stream<Item = MaintenanceOrder>> {
        let state = ctx.state();
        let caller = ctx.caller()?;
        let workshop_id = parse_opt_id("workshopId", workshop_id.as_ref())?;
        let interest = live::maintenance(&state.db.read, caller, workshop_id).await?;
        let loaders = ctx.loaders();
        let (primary, caller) = (state.db.write.clone(), caller.clone());
        let events = state.hub.maintenance(interest).into_stream();
        ctx.established();
        Ok(events.filter_map(move |event| {
            let (primary, caller) = (primary.clone(), caller.clone());
            async move {
                let Event::Maintenance(change) = &*event else {
                    return None;
                };
                // Nested objects show their state at this event, not the cached one.
                loaders.clear();
                // The row after the change, from the primary (a replica may lag behind
                // the event). Gone since, or hidden: nothing to send.
                match maintenance_service::get(&primary, &caller, change.order_id).await {
                    Ok(order) => Some(MaintenanceOrder(order)),
                    Err(err) => {
                        tracing::debug!(error = ?err, "maintenanceOrderChanged: reading the order");
                        None
                    }
                }
            }
        }))
    }
}
