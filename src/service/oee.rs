//! OEE and downtime analysis (factory-domain §5–§6): `oee` per bucket (shift, hour, day or
//! the whole range) for a machine, a line (at its bottleneck) or a workshop (the sum over its
//! lines' bottlenecks), `downtime_pareto` per reason, and the current shift's OEE that
//! `oeeUpdated` sends.
//!
//! Every call runs a fixed number of statements whatever the number of machines or buckets:
//! the scope (one to three), the workshop's shifts, the status intervals (joined with their
//! reasons) and the production reports (joined with their order's product); the rest is
//! arithmetic here. The rules it applies are in `docs/architecture.md` ("OEE").
//!
//! Managers and admins only (factory-domain §3: "manager: … OEE and downtime reports");
//! an id outside the caller's workshops is `FORBIDDEN`, an unknown one `NOT_FOUND`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use entity::{
    downtime_reason,
    enums::{EquipmentStatus, ReasonCategory, Role},
    equipment, equipment_status_event as status_event, product, production_line, production_order,
    production_report, shift, workshop,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, Iterable, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

use crate::{
    auth::{Caller, WorkshopScope},
    error::{AppError, AppResult},
};

/// Longest range of `HOUR` and `SHIFT` buckets, in days.
pub const MAX_FINE_DAYS: i64 = 93;
/// Longest range of `DAY` and `TOTAL` buckets and of `downtimePareto`, in days.
pub const MAX_COARSE_DAYS: i64 = 366;
/// Most buckets one call returns (93 days of hours is 2,233).
pub const MAX_BUCKETS: usize = 2_500;

/// What an OEE figure is measured over: exactly one machine, line or workshop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Equipment(i64),
    Line(i64),
    Workshop(i64),
}

impl Scope {
    /// The one id given; `BAD_USER_INPUT` for none or several.
    pub fn exactly_one(
        equipment_id: Option<i64>,
        line_id: Option<i64>,
        workshop_id: Option<i64>,
    ) -> AppResult<Self> {
        match (equipment_id, line_id, workshop_id) {
            (Some(id), None, None) => Ok(Self::Equipment(id)),
            (None, Some(id), None) => Ok(Self::Line(id)),
            (None, None, Some(id)) => Ok(Self::Workshop(id)),
            _ => Err(AppError::invalid(
                "scope",
                "give exactly one of `equipmentId`, `lineId`, `workshopId` in `scope`",
            )),
        }
    }
}

/// How the range is cut into buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// The workshop's shift instances.
    Shift,
    /// UTC hours.
    Hour,
    /// UTC days.
    Day,
    /// The whole range.
    Total,
}

impl Granularity {
    fn max_days(self) -> i64 {
        match self {
            Self::Shift | Self::Hour => MAX_FINE_DAYS,
            Self::Day | Self::Total => MAX_COARSE_DAYS,
        }
    }
}

/// The raw inputs of one bucket, summed over the machines measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Inputs {
    /// Planned production time, seconds.
    pub planned_s: f64,
    /// Run time (planned time minus stops), seconds.
    pub run_s: f64,
    /// Unplanned stops and setup within planned time, seconds.
    pub stop_s: f64,
    /// Units made (prorated from the reports overlapping the bucket).
    pub total: f64,
    /// Good units (prorated likewise).
    pub good: f64,
    /// Σ ideal cycle time × total, seconds.
    pub ideal_s: f64,
    /// Σ ideal cycle time × good, seconds.
    pub good_ideal_s: f64,
    /// Units whose ideal cycle time is unknown (neither machine nor product has one).
    pub unknown_ict: f64,
}

impl Inputs {
    fn add(&mut self, o: &Inputs) {
        self.planned_s += o.planned_s;
        self.run_s += o.run_s;
        self.stop_s += o.stop_s;
        self.total += o.total;
        self.good += o.good;
        self.ideal_s += o.ideal_s;
        self.good_ideal_s += o.good_ideal_s;
        self.unknown_ict += o.unknown_ict;
    }

    /// The four factors under the domain's rules: PPT 0 ⇒ all null; no units with run time
    /// ⇒ P 0 and Q null; an unknown ideal cycle time ⇒ P and OEE null; P > 1 is flagged.
    pub fn factors(&self) -> Factors {
        let ict = (self.total > 0.0 && self.unknown_ict <= 0.0).then(|| self.ideal_s / self.total);
        if self.planned_s <= 0.0 {
            return Factors {
                ideal_cycle_time_s: ict,
                ..Factors::default()
            };
        }
        let known = self.unknown_ict <= 0.0;
        let performance = if !known || self.run_s <= 0.0 {
            None
        } else if self.total <= 0.0 {
            Some(0.0)
        } else {
            Some(self.ideal_s / self.run_s)
        };
        Factors {
            availability: Some(self.run_s / self.planned_s),
            performance,
            quality: (self.total > 0.0).then(|| self.good / self.total),
            oee: known.then(|| self.good_ideal_s / self.planned_s),
            ideal_cycle_time_s: ict,
            performance_over_one: performance.is_some_and(|p| p > 1.0 + 1e-9),
        }
    }
}

/// Availability, performance, quality and OEE of a bucket (each 0–1, or null).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Factors {
    pub availability: Option<f64>,
    pub performance: Option<f64>,
    pub quality: Option<f64>,
    pub oee: Option<f64>,
    /// Σ(ICT × total) / total: the ideal cycle time the counts were weighed with.
    pub ideal_cycle_time_s: Option<f64>,
    /// Performance above 1: the ideal cycle time is wrong.
    pub performance_over_one: bool,
}

/// One bucket of `oee`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    /// End of the bucket (measurement stops at the time of the call).
    pub end: DateTime<Utc>,
    /// The shift (id, name) of a `SHIFT` bucket, or of the current shift.
    pub shift: Option<(i64, String)>,
    pub inputs: Inputs,
    pub factors: Factors,
    /// The machines measured (a line's bottleneck; a workshop's lines' bottlenecks).
    pub equipment_ids: Vec<i64>,
}

/// One row of `downtime_pareto`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReasonDowntime {
    /// `None`: non-running time without a reason.
    pub reason: Option<downtime_reason::Model>,
    pub seconds: f64,
    /// Status intervals overlapping the range.
    pub intervals: i64,
    /// Share of all non-running time in the scope and range, 0–1.
    pub share: f64,
}

/// A machine as OEE needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Machine {
    id: i64,
    ict: Option<f64>,
}

impl From<&equipment::Model> for Machine {
    fn from(m: &equipment::Model) -> Self {
        Self {
            id: m.id,
            ict: m.ideal_cycle_time_s.filter(|t| t.is_finite() && *t > 0.0),
        }
    }
}

/// A resolved scope: its workshop, the machines OEE measures, and every machine in it.
struct Target {
    workshop_id: i64,
    measured: Vec<Machine>,
    all: Vec<Machine>,
}

/// `FORBIDDEN` unless `workshop` (of `entity` `id`; `None` when it does not exist) is in the
/// caller's scope; `NOT_FOUND` for a missing one when the caller sees every workshop.
fn visible(
    caller: &Caller,
    entity: &'static str,
    id: i64,
    workshop: Option<i64>,
) -> AppResult<i64> {
    match workshop {
        Some(w) if caller.scope.allows(w) => Ok(w),
        None if caller.scope == WorkshopScope::All => Err(AppError::not_found(entity, id)),
        _ => Err(AppError::Forbidden(format!(
            "{entity} {id} is not in your workshops"
        ))),
    }
}

/// The line's bottleneck: its `bottleneck_equipment_id` when that machine stands on it, else
/// the machine with the largest ideal cycle time (the slowest; ties and machines without one:
/// the lowest id).
fn bottleneck(line: &production_line::Model, machines: &[&equipment::Model]) -> Option<Machine> {
    if let Some(named) = line
        .bottleneck_equipment_id
        .and_then(|b| machines.iter().find(|m| m.id == b))
    {
        return Some(Machine::from(*named));
    }
    machines.iter().map(|m| Machine::from(*m)).max_by(|a, b| {
        let (ta, tb) = (a.ict.unwrap_or(0.0), b.ict.unwrap_or(0.0));
        ta.total_cmp(&tb).then(b.id.cmp(&a.id))
    })
}

/// Resolves the scope in one to three statements.
async fn resolve(db: &impl ConnectionTrait, caller: &Caller, scope: Scope) -> AppResult<Target> {
    match scope {
        Scope::Equipment(id) => {
            let m = equipment::Entity::find_by_id(id).one(db).await?;
            let workshop_id = visible(caller, "equipment", id, m.as_ref().map(|m| m.workshop_id))?;
            let machines: Vec<Machine> = m.iter().map(Machine::from).collect();
            Ok(Target {
                workshop_id,
                measured: machines.clone(),
                all: machines,
            })
        }
        Scope::Line(id) => {
            let line = production_line::Entity::find_by_id(id).one(db).await?;
            let workshop_id = visible(caller, "line", id, line.as_ref().map(|l| l.workshop_id))?;
            let machines = equipment::Entity::find()
                .filter(equipment::Column::LineId.eq(id))
                .order_by_asc(equipment::Column::Id)
                .all(db)
                .await?;
            let refs: Vec<&equipment::Model> = machines.iter().collect();
            let measured = line
                .as_ref()
                .and_then(|l| bottleneck(l, &refs))
                .into_iter()
                .collect();
            Ok(Target {
                workshop_id,
                measured,
                all: machines.iter().map(Machine::from).collect(),
            })
        }
        Scope::Workshop(id) => {
            let w = workshop::Entity::find_by_id(id).one(db).await?;
            let workshop_id = visible(caller, "workshop", id, w.map(|w| w.id))?;
            let lines = production_line::Entity::find()
                .filter(production_line::Column::WorkshopId.eq(id))
                .order_by_asc(production_line::Column::Id)
                .all(db)
                .await?;
            let machines = equipment::Entity::find()
                .filter(equipment::Column::WorkshopId.eq(id))
                .order_by_asc(equipment::Column::Id)
                .all(db)
                .await?;
            let measured = lines
                .iter()
                .filter_map(|l| {
                    let on_line: Vec<&equipment::Model> =
                        machines.iter().filter(|m| m.line_id == l.id).collect();
                    bottleneck(l, &on_line)
                })
                .collect();
            Ok(Target {
                workshop_id,
                measured,
                all: machines.iter().map(Machine::from).collect(),
            })
        }
    }
}

/// A status interval with its reason.
#[derive(Clone, Debug)]
struct StatusRow {
    event: status_event::Model,
    reason_code: Option<String>,
    reason_name: Option<String>,
    reason_category: Option<String>,
}

impl FromQueryResult for StatusRow {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            event: status_event::Model::from_query_result(row, pre)?,
            reason_code: row.try_get(pre, "reason_code")?,
            reason_name: row.try_get(pre, "reason_name")?,
            reason_category: row.try_get(pre, "reason_category")?,
        })
    }
}

impl StatusRow {
    fn category(&self) -> Option<ReasonCategory> {
        let text = self.reason_category.as_deref()?;
        ReasonCategory::iter().find(|c| c.as_str() == text)
    }

    /// `[start, end)` of the interval; an open one runs until `now`.
    fn span(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.event.started_at, self.event.ended_at.unwrap_or(now))
    }
}

/// A production report with the ideal cycle time of its order's product.
#[derive(Clone, Debug)]
struct ReportRow {
    report: production_report::Model,
    product_ict: Option<f64>,
}

impl FromQueryResult for ReportRow {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            report: production_report::Model::from_query_result(row, pre)?,
            product_ict: row.try_get(pre, "product_ict")?,
        })
    }
}

/// Status intervals of `machines` overlapping `[from, to)`, with their reasons (one statement).
async fn status_rows(
    db: &impl ConnectionTrait,
    machines: &[Machine],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<StatusRow>> {
    if machines.is_empty() {
        return Ok(Vec::new());
    }
    Ok(status_event::Entity::find()
        .filter(status_event::Column::EquipmentId.is_in(machines.iter().map(|m| m.id)))
        .filter(status_event::Column::StartedAt.lt(to))
        .filter(
            Condition::any()
                .add(status_event::Column::EndedAt.is_null())
                .add(status_event::Column::EndedAt.gt(from)),
        )
        .join(
            JoinType::LeftJoin,
            status_event::Relation::DowntimeReason.def(),
        )
        .column_as(downtime_reason::Column::Code, "reason_code")
        .column_as(downtime_reason::Column::Name, "reason_name")
        .column_as(downtime_reason::Column::Category, "reason_category")
        .into_model::<StatusRow>()
        .all(db)
        .await?)
}

/// Reports of `machines` overlapping `[from, to)`, with their product's ideal cycle time
/// (one statement).
async fn report_rows(
    db: &impl ConnectionTrait,
    machines: &[Machine],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<ReportRow>> {
    if machines.is_empty() {
        return Ok(Vec::new());
    }
    Ok(production_report::Entity::find()
        .filter(production_report::Column::EquipmentId.is_in(machines.iter().map(|m| m.id)))
        .filter(production_report::Column::PeriodStart.lt(to))
        .filter(production_report::Column::PeriodEnd.gt(from))
        .join(
            JoinType::LeftJoin,
            production_report::Relation::ProductionOrder.def(),
        )
        .join(
            JoinType::LeftJoin,
            production_order::Relation::Product.def(),
        )
        .column_as(product::Column::IdealCycleTimeS, "product_ict")
        .into_model::<ReportRow>()
        .all(db)
        .await?)
}

/// Shifts of the workshop overlapping `[from, to)`, by start (one statement).
async fn shifts(
    db: &impl ConnectionTrait,
    workshop_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<shift::Model>> {
    Ok(shift::Entity::find()
        .filter(shift::Column::WorkshopId.eq(workshop_id))
        .filter(shift::Column::StartsAt.lt(to))
        .filter(shift::Column::EndsAt.gt(from))
        .order_by_asc(shift::Column::StartsAt)
        .limit(MAX_BUCKETS as u64 + 1)
        .all(db)
        .await?)
}

/// A bucket before measurement: sorted, disjoint, measured up to `measured_end`.
#[derive(Clone, Debug)]
struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    measured_end: DateTime<Utc>,
    shift: Option<(i64, String)>,
}

fn too_many() -> AppError {
    AppError::invalid(
        "granularity",
        format!("the range holds more than {MAX_BUCKETS} buckets: use a coarser granularity"),
    )
}

/// The buckets of `[from, to)` that have started by `now`, each measured up to `now`.
fn spans(
    granularity: Granularity,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    shifts: &[shift::Model],
    now: DateTime<Utc>,
) -> AppResult<Vec<Span>> {
    let mut out = Vec::new();
    let mut push = |start: DateTime<Utc>, end: DateTime<Utc>, shift: Option<(i64, String)>| {
        if start < end && start < now {
            out.push(Span {
                start,
                end,
                measured_end: end.min(now),
                shift,
            });
        }
    };
    match granularity {
        Granularity::Total => push(from, to, None),
        Granularity::Shift => {
            if shifts.len() > MAX_BUCKETS {
                return Err(too_many());
            }
            for s in shifts {
                push(
                    s.starts_at.max(from),
                    s.ends_at.min(to),
                    Some((s.id, s.name.clone())),
                );
            }
        }
        Granularity::Hour | Granularity::Day => {
            let step = if granularity == Granularity::Hour {
                Duration::hours(1)
            } else {
                Duration::days(1)
            };
            let count = (to - from).num_seconds() / step.num_seconds() + 2;
            if count > MAX_BUCKETS as i64 {
                return Err(too_many());
            }
            let mut t = from;
            while t < to {
                let boundary = t
                    .duration_trunc(step)
                    .map_err(|_| AppError::invalid("from", "`from` is out of range"))?
                    + step;
                let next = boundary.min(to);
                push(t, next, None);
                t = next;
            }
        }
    }
    Ok(out)
}

fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 1000.0
}

/// Calls `f(bucket index, overlap seconds)` for each span `[start, end)` overlaps.
fn spread(spans: &[Span], start: DateTime<Utc>, end: DateTime<Utc>, mut f: impl FnMut(usize, f64)) {
    let first = spans.partition_point(|s| s.measured_end <= start);
    for (i, s) in spans.iter().enumerate().skip(first) {
        if s.start >= end {
            break;
        }
        let o = seconds(s.start.max(start), s.measured_end.min(end));
        if o > 0.0 {
            f(i, o);
        }
    }
}

/// Where a status interval's time counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Running, or a loss the counts show (minor stop, speed, quality).
    Run,
    /// A planned stop: leaves planned production time.
    Planned,
    /// An unplanned stop or setup: costs availability.
    Stop,
}

/// RUNNING is run time whatever its reason; any other status counts by its reason's
/// category; without a reason (IDLE, SETUP, DOWN, MAINTENANCE, OFFLINE alike) it is a stop,
/// so that unexplained time costs availability until someone names a planned reason.
fn classify(status: EquipmentStatus, category: Option<ReasonCategory>) -> Class {
    if status == EquipmentStatus::Running {
        return Class::Run;
    }
    match category {
        Some(ReasonCategory::Planned) => Class::Planned,
        Some(ReasonCategory::Unplanned | ReasonCategory::Setup) | None => Class::Stop,
        Some(ReasonCategory::MinorStop | ReasonCategory::Speed | ReasonCategory::Quality) => {
            Class::Run
        }
    }
}

/// Per machine and bucket: what the rows add up to before PPT is formed.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    planned_stop_s: f64,
    stop_s: f64,
    counts: Inputs,
}

/// Measures `target.measured` over `spans` from the rows in two statements.
async fn measure(
    db: &impl ConnectionTrait,
    target: &Target,
    spans: &[Span],
    shifts: &[shift::Model],
    now: DateTime<Utc>,
) -> AppResult<Vec<Bucket>> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Ok(Vec::new());
    };
    let (from, to) = (first.start, last.measured_end);
    let statuses = status_rows(db, &target.measured, from, to).await?;
    let reports = report_rows(db, &target.measured, from, to).await?;

    // Breaks belong to the workshop's shifts: prorated over the part of each shift a bucket
    // holds, the same for every machine of the workshop.
    let mut breaks = vec![0.0; spans.len()];
    for s in shifts.iter().filter(|s| s.planned_break_s > 0) {
        let length = seconds(s.starts_at, s.ends_at);
        if length > 0.0 {
            let per_s = f64::from(s.planned_break_s) / length;
            spread(spans, s.starts_at, s.ends_at, |i, o| breaks[i] += per_s * o);
        }
    }

    let index: HashMap<i64, usize> = target
        .measured
        .iter()
        .enumerate()
        .map(|(k, m)| (m.id, k))
        .collect();
    let n = spans.len();
    let mut cells = vec![Cell::default(); target.measured.len() * n];
    for row in &statuses {
        let Some(&k) = index.get(&row.event.equipment_id) else {
            continue;
        };
        let (start, end) = row.span(now);
        match classify(row.event.status, row.category()) {
            Class::Run => {}
            Class::Planned => spread(spans, start, end, |i, o| {
                cells[k * n + i].planned_stop_s += o;
            }),
            Class::Stop => spread(spans, start, end, |i, o| cells[k * n + i].stop_s += o),
        }
    }
    for row in &reports {
        let r = &row.report;
        let Some(&k) = index.get(&r.equipment_id) else {
            continue;
        };
        let length = seconds(r.period_start, r.period_end);
        if length <= 0.0 {
            continue;
        }
        let ict = target.measured[k]
            .ict
            .or(row.product_ict.filter(|t| t.is_finite() && *t > 0.0));
        let (total, good) = (f64::from(r.total_count), f64::from(r.good_count));
        spread(spans, r.period_start, r.period_end, |i, o| {
            let share = o / length;
            let c = &mut cells[k * n + i].counts;
            c.total += total * share;
            c.good += good * share;
            match ict {
                Some(t) => {
                    c.ideal_s += t * total * share;
                    c.good_ideal_s += t * good * share;
                }
                None => c.unknown_ict += total * share,
            }
        });
    }

    let equipment_ids: Vec<i64> = target.measured.iter().map(|m| m.id).collect();
    Ok(spans
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let length = seconds(span.start, span.measured_end);
            let mut sum = Inputs::default();
            for k in 0..target.measured.len() {
                let cell = &cells[k * n + i];
                let planned = (length - breaks[i] - cell.planned_stop_s).max(0.0);
                let stop = cell.stop_s.min(planned);
                let mut inputs = cell.counts;
                inputs.planned_s = planned;
                inputs.stop_s = stop;
                inputs.run_s = planned - stop;
                sum.add(&inputs);
            }
            Bucket {
                start: span.start,
                end: span.end,
                shift: span.shift.clone(),
                inputs: sum,
                factors: sum.factors(),
                equipment_ids: equipment_ids.clone(),
            }
        })
        .collect())
}

/// `oee`: the buckets of `[from, to)` that have started, each measured up to now.
pub async fn oee(
    db: &impl ConnectionTrait,
    caller: &Caller,
    scope: Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
) -> AppResult<Vec<Bucket>> {
    caller.require(Role::Manager)?;
    super::telemetry::check_range(from, to, granularity.max_days())?;
    let target = resolve(db, caller, scope).await?;
    let now = Utc::now();
    if from >= now {
        return Ok(Vec::new());
    }
    let shifts = shifts(db, target.workshop_id, from, to.min(now)).await?;
    let spans = spans(granularity, from, to, &shifts, now)?;
    measure(db, &target, &spans, &shifts, now).await
}

/// The current shift of the scope's workshop so far (its UTC day when no shift is on), as
/// `oeeUpdated` sends it: the scope (one to three statements), the shift, then two more.
pub async fn current(
    db: &impl ConnectionTrait,
    caller: &Caller,
    scope: Scope,
) -> AppResult<Bucket> {
    caller.require(Role::Manager)?;
    let target = resolve(db, caller, scope).await?;
    let now = Utc::now();
    let on = shift::Entity::find()
        .filter(shift::Column::WorkshopId.eq(target.workshop_id))
        .filter(shift::Column::StartsAt.lte(now))
        .filter(shift::Column::EndsAt.gt(now))
        .one(db)
        .await?;
    let (span, shifts) = match on {
        Some(s) => (
            Span {
                start: s.starts_at,
                end: s.ends_at,
                measured_end: now,
                shift: Some((s.id, s.name.clone())),
            },
            vec![s],
        ),
        None => {
            let day = now
                .duration_trunc(Duration::days(1))
                .map_err(|e| AppError::Internal(e.into()))?;
            (
                Span {
                    start: day,
                    end: day + Duration::days(1),
                    measured_end: now,
                    shift: None,
                },
                Vec::new(),
            )
        }
    };
    let buckets = measure(db, &target, std::slice::from_ref(&span), &shifts, now).await?;
    buckets.into_iter().next().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("the current bucket measured to nothing"))
    })
}

/// `downtimePareto`: the non-running time of every machine in the scope over `[from, to)`
/// (up to now) by reason, largest first; time without a reason is one row of its own.
pub async fn downtime_pareto(
    db: &impl ConnectionTrait,
    caller: &Caller,
    scope: Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<ReasonDowntime>> {
    caller.require(Role::Manager)?;
    super::telemetry::check_range(from, to, MAX_COARSE_DAYS)?;
    let target = resolve(db, caller, scope).await?;
    let now = Utc::now();
    let to = to.min(now);
    if from >= to {
        return Ok(Vec::new());
    }
    let rows = status_rows(db, &target.all, from, to).await?;
    let mut by_reason: HashMap<Option<i64>, ReasonDowntime> = HashMap::new();
    let mut all_s = 0.0;
    for row in rows
        .iter()
        .filter(|r| r.event.status != EquipmentStatus::Running)
    {
        let (start, end) = row.span(now);
        let s = seconds(start.max(from), end.min(to));
        if s <= 0.0 {
            continue;
        }
        all_s += s;
        let entry = by_reason
            .entry(row.event.reason_id)
            .or_insert_with(|| ReasonDowntime {
                reason: row.event.reason_id.and_then(|id| {
                    Some(downtime_reason::Model {
                        id,
                        code: row.reason_code.clone()?,
                        name: row.reason_name.clone()?,
                        category: row.category()?,
                    })
                }),
                seconds: 0.0,
                intervals: 0,
                share: 0.0,
            });
        entry.seconds += s;
        entry.intervals += 1;
    }
    let mut out: Vec<ReasonDowntime> = by_reason.into_values().collect();
    for r in &mut out {
        r.share = r.seconds / all_s;
    }
    out.sort_by(|a, b| {
        b.seconds.total_cmp(&a.seconds).then_with(|| {
            let code = |r: &ReasonDowntime| r.reason.as_ref().map(|m| m.code.clone());
            // Equal time: by code, the reasonless row last.
            match (code(a), code(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        })
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_example_gives_the_domain_figures() {
        let inputs = Inputs {
            planned_s: 480.0 * 60.0,
            run_s: 420.0 * 60.0,
            stop_s: 60.0 * 60.0,
            total: 400.0,
            good: 380.0,
            ideal_s: 400.0 * 60.0,
            good_ideal_s: 380.0 * 60.0,
            unknown_ict: 0.0,
        };
        let f = inputs.factors();
        assert_eq!(f.availability, Some(0.875));
        assert!((f.performance.unwrap_or(0.0) - 0.952_380_952).abs() < 1e-6);
        assert_eq!(f.quality, Some(0.95));
        assert!((f.oee.unwrap_or(0.0) - 380.0 / 480.0).abs() < 1e-12);
        assert!(!f.performance_over_one);
    }

    #[test]
    fn edge_rules() {
        assert_eq!(Inputs::default().factors(), Factors::default());
        let idle = Inputs {
            planned_s: 100.0,
            run_s: 100.0,
            ..Inputs::default()
        };
        let f = idle.factors();
        assert_eq!(
            (f.performance, f.quality, f.oee),
            (Some(0.0), None, Some(0.0))
        );
        let unknown = Inputs {
            planned_s: 100.0,
            run_s: 100.0,
            total: 5.0,
            good: 5.0,
            unknown_ict: 5.0,
            ..Inputs::default()
        };
        assert_eq!(unknown.factors().performance, None);
        assert_eq!(unknown.factors().oee, None);
    }

    #[test]
    fn reasonless_and_idle_time_is_a_stop_and_soft_losses_run() {
        use EquipmentStatus::*;
        assert_eq!(classify(Idle, None), Class::Stop);
        assert_eq!(classify(Offline, None), Class::Stop);
        assert_eq!(
            classify(Maintenance, Some(ReasonCategory::Planned)),
            Class::Planned
        );
        assert_eq!(classify(Down, Some(ReasonCategory::MinorStop)), Class::Run);
        assert_eq!(classify(Running, Some(ReasonCategory::Planned)), Class::Run);
    }
}
