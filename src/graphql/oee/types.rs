//! OEE buckets and downtime rows as the API shows them, and the scope argument.

use async_graphql::{Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    error::AppResult,
    graphql::{context::parse_opt_id, enums::ReasonCategory},
    service::oee,
};

/// What OEE is measured over: give exactly one id.
#[derive(InputObject, Clone, Debug, Default)]
pub struct OeeScope {
    /// One machine.
    pub equipment_id: Option<ID>,
    /// A line, measured at its bottleneck machine.
    pub line_id: Option<ID>,
    /// A workshop: the sum of its lines' bottlenecks.
    pub workshop_id: Option<ID>,
}

impl OeeScope {
    /// The service's scope; `BAD_USER_INPUT` for a malformed id or not exactly one.
    pub fn parse(&self) -> AppResult<oee::Scope> {
        oee::Scope::exactly_one(
            parse_opt_id("equipmentId", self.equipment_id.as_ref())?,
            parse_opt_id("lineId", self.line_id.as_ref())?,
            parse_opt_id("workshopId", self.workshop_id.as_ref())?,
        )
    }
}

/// How `oee` cuts its range.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OeeGranularity {
    /// The workshop's shift instances (range at most 93 days).
    Shift,
    /// UTC hours (range at most 93 days).
    Hour,
    /// UTC days (range at most 366 days).
    Day,
    /// The whole range as one bucket (at most 366 days).
    Total,
}

impl From<OeeGranularity> for oee::Granularity {
    fn from(g: OeeGranularity) -> Self {
        match g {
            OeeGranularity::Shift => Self::Shift,
            OeeGranularity::Hour => Self::Hour,
            OeeGranularity::Day => Self::Day,
            OeeGranularity::Total => Self::Total,
        }
    }
}

/// OEE of one bucket, with the raw inputs it was computed from.
#[derive(SimpleObject, Clone, Debug)]
pub struct OeeBucket {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// End of the bucket; a bucket still running is measured up to now.
    pub end: DateTime<Utc>,
    /// The shift of a `SHIFT` bucket (and of `oeeUpdated`).
    pub shift_id: Option<ID>,
    /// That shift's name.
    pub shift_name: Option<String>,
    /// Run time / planned production time (null when planned time is 0).
    pub availability: Option<f64>,
    /// Σ(ideal cycle time × total) / run time; 0 with run time but no units; null with no
    /// run time or an unknown ideal cycle time. May exceed 1 (see `performanceOverOne`).
    pub performance: Option<f64>,
    /// Good / total (null without units).
    pub quality: Option<f64>,
    /// Σ(good × ideal cycle time) / planned production time (= A × P × Q).
    pub oee: Option<f64>,
    /// Planned production time, seconds: bucket length − prorated shift breaks − planned
    /// stops.
    pub planned_time_s: f64,
    /// Planned production time − stop time, seconds.
    pub run_time_s: f64,
    /// Unplanned stops and setup within planned production time, seconds.
    pub stop_time_s: f64,
    /// Units made, prorated from the reports by the share of their period in the bucket
    /// (fractional at bucket edges).
    pub total_count: f64,
    /// Good units, prorated likewise.
    pub good_count: f64,
    /// The ideal cycle time the counts were weighed with, seconds (Σ(ICT × total) / total).
    pub ideal_cycle_time_s: Option<f64>,
    /// Performance above 1: the ideal cycle time is wrong (the value is still returned).
    pub performance_over_one: bool,
    /// The machines measured: the machine, a line's bottleneck, a workshop's lines'
    /// bottlenecks.
    pub equipment_ids: Vec<ID>,
}

impl From<oee::Bucket> for OeeBucket {
    fn from(b: oee::Bucket) -> Self {
        let (shift_id, shift_name) = match b.shift {
            Some((id, name)) => (Some(ID::from(id)), Some(name)),
            None => (None, None),
        };
        Self {
            start: b.start,
            end: b.end,
            shift_id,
            shift_name,
            availability: b.factors.availability,
            performance: b.factors.performance,
            quality: b.factors.quality,
            oee: b.factors.oee,
            planned_time_s: b.inputs.planned_s,
            run_time_s: b.inputs.run_s,
            stop_time_s: b.inputs.stop_s,
            total_count: b.inputs.total,
            good_count: b.inputs.good,
            ideal_cycle_time_s: b.factors.ideal_cycle_time_s,
            performance_over_one: b.factors.performance_over_one,
            equipment_ids: b.equipment_ids.into_iter().map(ID::from).collect(),
        }
    }
}

/// Non-running time of one downtime reason.
#[derive(SimpleObject, Clone, Debug)]
pub struct ReasonDuration {
    /// The reason (null: non-running time without a reason).
    pub reason_id: Option<ID>,
    /// Its code.
    pub code: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its OEE category.
    pub category: Option<ReasonCategory>,
    /// Non-running seconds within the range.
    pub downtime_s: f64,
    /// Status intervals overlapping the range.
    pub intervals: i64,
    /// Share of all non-running time in the scope and range, 0–1.
    pub share: f64,
}

impl From<oee::ReasonDowntime> for ReasonDuration {
    fn from(r: oee::ReasonDowntime) -> Self {
        let (reason_id, code, name, category) = match r.reason {
            Some(m) => (
                Some(ID::from(m.id)),
                Some(m.code),
                Some(m.name),
                Some(m.category.into()),
            ),
            None => (None, None, None, None),
        };
        Self {
            reason_id,
            code,
            name,
            category,
            downtime_s: r.seconds,
            intervals: r.intervals,
            share: r.share,
        }
    }
}
