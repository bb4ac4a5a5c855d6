//! `alarmChanged` and `alarmCountsChanged`.

use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::types::{AlarmCount, AlarmEvent};
use crate::{
    events::Event,
    graphql::{
        context::{ContextExt, parse_opt_id},
        enums::AlarmSeverity,
    },
    realtime,
    service::{alarm as alarm_service, live},
};

/// Alarm subscriptions.
#[derive(Default)]
pub struct AlarmSubscription;

/// Alarm subscriptions.
#[Subscription]
impl AlarmSubscription {
    /// Each alarm transition (raised, updated, acknowledged, cleared, assigned, commented,
    /// shelved, unshelved) as it happens; `alarm` has the alarm's state right after it. A
    /// shelved alarm notifies nothing but its shelving and unshelving (ISA-18.2). Give at
    /// most one of `workshopId`, `equipmentId`; none means every workshop you may see
    /// (viewers and above; ids outside your workshops are `FORBIDDEN`).
    async fn alarm_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the alarms of this workshop.")] workshop_id: Option<ID>,
        #[graphql(desc = "Only the alarms of this machine.")] equipment_id: Option<ID>,
        #[graphql(desc = "Only alarms at least this severe (default: all).")] min_severity: Option<
            AlarmSeverity,
        >,
    ) -> Result<impl Stream<Item = AlarmEvent>> {
        let state = ctx.state();
        let caller = ctx.caller()?;
        let interest = live::alarms(
            &state.db.read,
            caller,
            parse_opt_id("workshopId", workshop_id.as_ref())?,
            parse_opt_id("equipmentId", equipment_id.as_ref())?,
            min_severity.map(AlarmSeverity::rank),
        )
        .await?;
        let wants_alarm = ctx.look_ahead().field("alarm").exists();
        let loaders = ctx.loaders();
        let (primary, caller) = (state.db.write.clone(), caller.clone());
        let events = state.hub.alarms(interest).into_stream();
        ctx.established();
        Ok(events.filter_map(move |event| {
            let (primary, caller) = (primary.clone(), caller.clone());
            async move {
                let Event::Alarm(change) = &*event else {
                    return None;
                };
                // Nested objects show their state at this event, not the cached one.
                loaders.clear();
                if wants_alarm {
                    // The alarm after the transition from the primary: a replica may not
                    // have it yet. Should this fail, the loader reads it again.
                    match alarm_service::get(&primary, &caller, change.alarm_id).await {
                        Ok(alarm) => loaders.alarm_by_id.feed_one(alarm.id, alarm).await,
                        Err(err) => {
                            tracing::debug!(error = ?err, "alarmChanged: reading the alarm")
                        }
                    }
                }
                Some(AlarmEvent::from(change))
            }
        }))
    }

    /// The open (uncleared, unshelved) alarms by severity, highest first — the list
    /// `alarmCounts(groupBy: SEVERITY)` answers — each time they change: at most one
    /// message per 500 ms, the last one always up to date. Give `workshopId`, or nothing for
    /// every workshop you may see (viewers and above).
    async fn alarm_counts_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this workshop's alarms.")] workshop_id: Option<ID>,
    ) -> Result<impl Stream<Item = Vec<AlarmCount>>> {
        let state = ctx.state();
        let workshop_id = parse_opt_id("workshopId", workshop_id.as_ref())?;
        let interest = live::alarm_counts(&state.db.read, ctx.caller()?, workshop_id).await?;
        // Registered before the counts are read: a change between the two is queued, not
        // lost (each event carries its workshop's counts whole, so applying it again is
        // harmless).
        let changes = state.hub.alarm_counts(interest.clone());
        let mut board = live::CountsBoard::load(&state.db.write, &interest).await?;
        ctx.established();
        Ok(
            realtime::debounced(changes, live::COUNTS_GAP).map(move |events| {
                for event in &events {
                    if let Event::AlarmCounts(counts) = &**event {
                        board.apply(counts);
                    }
                }
                board
                    .by_severity()
                    .into_iter()
                    .map(|(rank, count)| AlarmCount {
                        severity: Some(AlarmSeverity::from_rank(rank)),
                        status: None,
                        workshop_id: None,
                        count,
                    })
                    .collect()
            }),
        )
    }
}
