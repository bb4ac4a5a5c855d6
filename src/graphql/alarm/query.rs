//! Alarm queries.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{Alarm, AlarmCount};
use crate::{
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, Selection, parse_id, parse_opt_id},
        enums::{AlarmSeverity, AlarmStatus},
        page_request, prefetch,
    },
    service::alarm::{self as alarm_service, CountGroup, CountKey},
};

/// Filters of `alarms`.
#[derive(InputObject, Default)]
pub struct AlarmFilter {
    /// Only this workshop.
    pub workshop_id: Option<ID>,
    /// Only machines of this line.
    pub line_id: Option<ID>,
    /// Only this machine.
    pub equipment_id: Option<ID>,
    /// Only this sensor.
    pub sensor_id: Option<ID>,
    /// Only this severity or worse.
    pub min_severity: Option<AlarmSeverity>,
    /// Only these statuses.
    pub status: Option<Vec<AlarmStatus>>,
    /// `true`: only uncleared alarms; `false`: only cleared ones.
    pub open: Option<bool>,
    /// Only this alarm type (exact match).
    #[graphql(name = "type")]
    pub alarm_type: Option<String>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// Only alarms assigned to this user.
    pub assignee_id: Option<ID>,
}

/// Orderings of `alarms`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum AlarmOrder {
    /// Newest first (by start).
    #[default]
    StartDesc,
    /// Most severe first.
    SeverityDesc,
    /// Most recent occurrence first.
    LastDesc,
}

/// Grouping of `alarmCounts`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlarmCountGroup {
    /// One count per severity.
    Severity,
    /// One count per status.
    Status,
    /// One count per workshop.
    Workshop,
}

/// Alarm queries.
#[derive(Default)]
pub struct AlarmQuery;

/// Alarm queries.
#[Object]
impl AlarmQuery {
    /// Alarms the caller may see.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn alarms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<AlarmFilter>,
        #[graphql(desc = "Order (default newest first).")] order_by: Option<AlarmOrder>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Alarm>> {
        let f = filter.unwrap_or_default();
        let filter = alarm_service::AlarmFilter {
            workshop_id: parse_opt_id("workshopId", f.workshop_id.as_ref())?,
            line_id: parse_opt_id("lineId", f.line_id.as_ref())?,
            equipment_id: parse_opt_id("equipmentId", f.equipment_id.as_ref())?,
            sensor_id: parse_opt_id("sensorId", f.sensor_id.as_ref())?,
            min_severity: f.min_severity.map(AlarmSeverity::rank),
            status: f.status.map(|l| l.into_iter().map(Into::into).collect()),
            open: f.open,
            alarm_type: f.alarm_type,
            from: f.from,
            to: f.to,
            assignee_id: parse_opt_id("assigneeId", f.assignee_id.as_ref())?,
        };
        let ordering = match order_by.unwrap_or_default() {
            AlarmOrder::StartDesc => &alarm_service::NEWEST_FIRST,
            AlarmOrder::SeverityDesc => &alarm_service::MOST_SEVERE_FIRST,
            AlarmOrder::LastDesc => &alarm_service::LATEST_ACTIVITY_FIRST,
        };
        let request = page_request(ctx, "alarms", first, after)?;
        let page = alarm_service::list(
            &ctx.state().db.read,
            ctx.caller()?,
            &filter,
            ordering,
            &request,
        )
        .await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::alarms(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows).await?;
        Ok(connection(page, Alarm))
    }

    /// One alarm by id.
    async fn alarm_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The alarm's id.")] id: ID,
    ) -> Result<Alarm> {
        let id = parse_id("id", &id)?;
        let model = alarm_service::get(&ctx.state().db.read, ctx.caller()?, id).await?;
        Ok(Alarm(model))
    }

    /// Alarm counts, grouped, in one statement.
    async fn alarm_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this workshop.")] workshop_id: Option<ID>,
        #[graphql(desc = "How to group.")] group_by: AlarmCountGroup,
        #[graphql(desc = "Count only uncleared alarms (default true).", default = true)]
        only_open: bool,
    ) -> Result<Vec<AlarmCount>> {
        let workshop_id = parse_opt_id("workshopId", workshop_id.as_ref())?;
        let group = match group_by {
            AlarmCountGroup::Severity => CountGroup::Severity,
            AlarmCountGroup::Status => CountGroup::Status,
            AlarmCountGroup::Workshop => CountGroup::Workshop,
        };
        let rows = alarm_service::counts(
            &ctx.state().db.read,
            ctx.caller()?,
            workshop_id,
            group,
            only_open,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(key, count)| {
                let mut out = AlarmCount {
                    severity: None,
                    status: None,
                    workshop_id: None,
                    count,
                };
                match key {
                    CountKey::Severity(s) => out.severity = Some(AlarmSeverity::from_rank(s)),
                    CountKey::Status(s) => out.status = Some(s.into()),
                    CountKey::Workshop(w) => out.workshop_id = Some(w.into()),
                }
                out
            })
            .collect())
    }
}
