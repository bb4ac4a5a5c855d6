//! Production orders, reports and shifts: the lists, the order lifecycle (an explicit state
//! machine, [`order_move`]), production reports that add to their order's totals, and shift
//! planning. Every write checks role and scope, runs in one transaction with its audit row,
//! and publishes the order's progress after the commit.

use chrono::{DateTime, Duration, Utc};
use entity::{
    enums::{OrderStatus, Role},
    production_order, production_report, shift, workshop,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{
    audit::Audit,
    equipment_status::{self, MAX_CLOCK_SKEW},
    line as line_service,
    page::{self, Ordering, Page, PageRequest, SortValue},
    product as product_service, validate,
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult, DbResultExt},
    events::{Event, EventBus, OrderProgress},
};

/// Filters of the `productionOrders` list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub workshop_id: Option<i64>,
    pub line_id: Option<i64>,
    pub status: Option<Vec<OrderStatus>>,
    pub product_id: Option<i64>,
    /// Orders planned to start at or after this time.
    pub planned_from: Option<DateTime<Utc>>,
    /// Orders planned to start before this time.
    pub planned_to: Option<DateTime<Utc>>,
}

/// Orderings of the `productionOrders` list.
pub const BY_PLANNED_START: Ordering<production_order::Entity> = Ordering {
    key: "planned_start",
    column: production_order::Column::PlannedStart,
    descending: false,
    value: |m| SortValue::Time(m.planned_start),
    id_column: production_order::Column::Id,
    id: |m| m.id,
};
pub const NEWEST_FIRST: Ordering<production_order::Entity> = Ordering {
    key: "created_desc",
    column: production_order::Column::CreatedAt,
    descending: true,
    value: |m| SortValue::Time(m.created_at),
    id_column: production_order::Column::Id,
    id: |m| m.id,
};

/// One page of the orders the caller may see.
pub async fn list_orders(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &OrderFilter,
    ordering: &Ordering<production_order::Entity>,
    request: &PageRequest,
) -> AppResult<Page<production_order::Model>> {
    let mut c = caller.scope.condition(production_order::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        c = c.add(production_order::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.line_id {
        c = c.add(production_order::Column::LineId.eq(id));
    }
    if let Some(statuses) = &filter.status {
        c = c.add(production_order::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(id) = filter.product_id {
        c = c.add(production_order::Column::ProductId.eq(id));
    }
    if let Some(from) = filter.planned_from {
        c = c.add(production_order::Column::PlannedStart.gte(from));
    }
    if let Some(to) = filter.planned_to {
        c = c.add(production_order::Column::PlannedStart.lt(to));
    }
    page::fetch(
        db,
        production_order::Entity::find().filter(c),
        ordering,
        request,
    )
    .await
}

/// One order, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get_order(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<production_order::Model> {
    production_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("production order", id))
}

/// One order locked until the transaction ends (PostgreSQL), or `NOT_FOUND`.
async fn lock_order(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<production_order::Model> {
    production_order::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("production order", id))
}

// ---------------------------------------------------------------------------------------------
// The order lifecycle

/// A step of an order's lifecycle; each has the least role that may take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderMove {
    /// DRAFT → RELEASED.
    Release,
    /// RELEASED → IN_PROGRESS.
    Start,
    /// IN_PROGRESS → PAUSED.
    Pause,
    /// PAUSED → IN_PROGRESS.
    Resume,
    /// IN_PROGRESS or PAUSED → COMPLETED.
    Complete,
    /// Any open state → CANCELLED.
    Cancel,
}

impl OrderMove {
    /// Managers plan (release, cancel); operators run the work (start, pause, resume,
    /// complete).
    pub fn minimum_role(self) -> Role {
        match self {
            Self::Release | Self::Cancel => Role::Manager,
            Self::Start | Self::Pause | Self::Resume | Self::Complete => Role::Operator,
        }
    }
}

/// The lifecycle: DRAFT → RELEASED → IN_PROGRESS ⇄ PAUSED → COMPLETED (from IN_PROGRESS or
/// PAUSED), and any open state → CANCELLED; `None` for every other pair, staying put included.
pub fn order_move(from: OrderStatus, to: OrderStatus) -> Option<OrderMove> {
    use OrderStatus::*;
    match (from, to) {
        (Draft, Released) => Some(OrderMove::Release),
        (Released, InProgress) => Some(OrderMove::Start),
        (InProgress, Paused) => Some(OrderMove::Pause),
        (Paused, InProgress) => Some(OrderMove::Resume),
        (InProgress | Paused, Completed) => Some(OrderMove::Complete),
        (Draft | Released | InProgress | Paused, Cancelled) => Some(OrderMove::Cancel),
        _ => None,
    }
}

/// The `CONFLICT` of a move a lifecycle does not have, naming the states `from` may go to.
pub(crate) fn illegal_move(
    what: &str,
    from: &'static str,
    to: &'static str,
    allowed: &[&'static str],
) -> AppError {
    let api = |s: &str| s.to_uppercase();
    if allowed.is_empty() {
        return AppError::Conflict(format!(
            "a {} {what} is closed: it cannot become {}",
            api(from),
            api(to)
        ));
    }
    let allowed: Vec<String> = allowed.iter().map(|s| api(s)).collect();
    AppError::Conflict(format!(
        "a {} {what} cannot become {}; it may become {}",
        api(from),
        api(to),
        allowed.join(" or ")
    ))
}

/// The order's progress as `productionOrderProgress` shows it: percent of plan made good, the
/// good rate per hour since the actual start (until the actual end), and when the plan is met
/// at that rate (only while running or paused with some rate and something left to make).
pub fn progress(order: &production_order::Model, now: DateTime<Utc>) -> OrderProgress {
    let planned = f64::from(order.qty_planned);
    let good = f64::from(order.qty_good);
    let percent = if order.qty_planned > 0 {
        good * 100.0 / planned
    } else {
        0.0
    };
    let rate_per_hour = order.actual_start.and_then(|start| {
        let hours = (order.actual_end.unwrap_or(now) - start).num_milliseconds() as f64 / 3.6e6;
        (hours > 0.0).then(|| good / hours)
    });
    let open = matches!(order.status, OrderStatus::InProgress | OrderStatus::Paused);
    let eta = match rate_per_hour {
        Some(rate) if open && rate > 0.0 && good < planned => {
            Duration::try_milliseconds(((planned - good) / rate * 3.6e6) as i64)
                .and_then(|left| now.checked_add_signed(left))
        }
        _ => None,
    };
    OrderProgress {
        workshop_id: order.workshop_id,
        line_id: order.line_id,
        order_id: order.id,
        status: order.status,
        qty_planned: order.qty_planned,
        qty_good: order.qty_good,
        qty_scrap: order.qty_scrap,
        percent,
        rate_per_hour,
        eta,
    }
}

fn publish_progress(events: &EventBus, order: &production_order::Model) {
    events.publish(Event::OrderProgress(progress(order, Utc::now())));
}

/// Moves an order along its lifecycle (operators and above; releasing and cancelling need a
/// manager). The first start sets the actual start; completing or cancelling the actual end.
pub async fn transition_order(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    to: OrderStatus,
) -> AppResult<production_order::Model> {
    caller.require(Role::Operator)?;
    let txn = super::begin_write(db).await?;
    let order = lock_order(&txn, caller, id).await?;
    let Some(step) = order_move(order.status, to) else {
        let allowed: Vec<&'static str> = OrderStatus::iter()
            .filter(|t| order_move(order.status, *t).is_some())
            .map(|t| t.as_str())
            .collect();
        return Err(illegal_move(
            "production order",
            order.status.as_str(),
            to.as_str(),
            &allowed,
        ));
    };
    caller.require(step.minimum_role())?;
    let now = Utc::now();
    let mut active: production_order::ActiveModel = order.clone().into();
    active.status = Set(to);
    if step == OrderMove::Start && order.actual_start.is_none() {
        active.actual_start = Set(Some(now));
    }
    if matches!(step, OrderMove::Complete | OrderMove::Cancel) {
        active.actual_end = Set(Some(now));
    }
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    audit.write(&txn, order.id).await?;
    txn.commit().await?;
    publish_progress(events, &order);
    Ok(order)
}

// ---------------------------------------------------------------------------------------------
// Planning orders

/// Input of `create_order`.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub number: String,
    pub product_id: i64,
    pub line_id: i64,
    pub qty_planned: i32,
    /// Default 0; higher runs first.
    pub priority: Option<i32>,
    pub planned_start: DateTime<Utc>,
    pub planned_end: DateTime<Utc>,
}

/// Changes of `update_order`; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrderPatch {
    pub number: Option<String>,
    pub product_id: Option<i64>,
    pub line_id: Option<i64>,
    pub qty_planned: Option<i32>,
    pub priority: Option<i32>,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
}

impl OrderPatch {
    /// Whether the patch touches the plan (anything but the priority).
    fn changes_plan(&self) -> bool {
        self.number.is_some()
            || self.product_id.is_some()
            || self.line_id.is_some()
            || self.qty_planned.is_some()
            || self.planned_start.is_some()
            || self.planned_end.is_some()
    }
}

const NUMBER_TAKEN: &str = "a production order with this number already exists";
/// Largest planned quantity of one order.
const MAX_QTY_PLANNED: i64 = 10_000_000;
/// Priorities run from 0 to this.
const MAX_PRIORITY: i64 = 100;

fn qty_planned(value: i32) -> AppResult<i32> {
    validate::int("qtyPlanned", value.into(), 1, MAX_QTY_PLANNED)?;
    Ok(value)
}

fn priority(value: i32) -> AppResult<i32> {
    validate::int("priority", value.into(), 0, MAX_PRIORITY)?;
    Ok(value)
}

fn check_plan(start: DateTime<Utc>, end: DateTime<Utc>) -> AppResult<()> {
    if start < end {
        Ok(())
    } else {
        Err(AppError::invalid(
            "plannedEnd",
            "`plannedEnd` must be after `plannedStart`",
        ))
    }
}

/// Creates a DRAFT order (manager): unique number, a product, a line in scope, a positive
/// quantity, a plan that ends after it starts.
pub async fn create_order(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    input: NewOrder,
) -> AppResult<production_order::Model> {
    caller.require(Role::Manager)?;
    let number = validate::code("number", &input.number, 32)?;
    let qty = qty_planned(input.qty_planned)?;
    let priority = priority(input.priority.unwrap_or(0))?;
    check_plan(input.planned_start, input.planned_end)?;
    let txn = super::begin_write(db).await?;
    let product = product_service::get(&txn, input.product_id).await?;
    let line = line_service::get(&txn, caller, input.line_id).await?;
    let now = Utc::now();
    let order = production_order::ActiveModel {
        number: Set(number),
        product_id: Set(product.id),
        line_id: Set(line.id),
        workshop_id: Set(line.workshop_id),
        qty_planned: Set(qty),
        qty_good: Set(0),
        qty_scrap: Set(0),
        status: Set(OrderStatus::Draft),
        priority: Set(priority),
        planned_start: Set(input.planned_start),
        planned_end: Set(input.planned_end),
        actual_start: Set(None),
        actual_end: Set(None),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(NUMBER_TAKEN)?;
    audit.write(&txn, order.id).await?;
    txn.commit().await?;
    publish_progress(events, &order);
    Ok(order)
}

/// Changes an order (manager). The plan (number, product, line, quantity, times) changes only
/// while DRAFT or RELEASED; the priority while the order is open.
pub async fn update_order(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: OrderPatch,
) -> AppResult<production_order::Model> {
    caller.require(Role::Manager)?;
    let number = patch
        .number
        .as_deref()
        .map(|n| validate::code("number", n, 32))
        .transpose()?;
    let qty = patch.qty_planned.map(qty_planned).transpose()?;
    let new_priority = patch.priority.map(priority).transpose()?;
    let txn = super::begin_write(db).await?;
    let order = lock_order(&txn, caller, id).await?;
    let plannable = matches!(order.status, OrderStatus::Draft | OrderStatus::Released);
    let open = plannable || matches!(order.status, OrderStatus::InProgress | OrderStatus::Paused);
    if patch.changes_plan() && !plannable {
        return Err(AppError::Conflict(format!(
            "only DRAFT or RELEASED orders can change their plan; this one is {}",
            order.status.as_str().to_uppercase()
        )));
    }
    if !open {
        return Err(AppError::Conflict(format!(
            "a {} order cannot change",
            order.status.as_str().to_uppercase()
        )));
    }
    let start = patch.planned_start.unwrap_or(order.planned_start);
    let end = patch.planned_end.unwrap_or(order.planned_end);
    check_plan(start, end)?;
    let mut active: production_order::ActiveModel = order.into();
    if let Some(product_id) = patch.product_id {
        active.product_id = Set(product_service::get(&txn, product_id).await?.id);
    }
    if let Some(line_id) = patch.line_id {
        let line = line_service::get(&txn, caller, line_id).await?;
        active.line_id = Set(line.id);
        active.workshop_id = Set(line.workshop_id);
    }
    if let Some(number) = number {
        active.number = Set(number);
    }
    if let Some(qty) = qty {
        active.qty_planned = Set(qty);
    }
    if let Some(p) = new_priority {
        active.priority = Set(p);
    }
    active.planned_start = Set(start);
    active.planned_end = Set(end);
    active.updated_at = Set(Utc::now());
    let order = active.update(&txn).await.on_constraint(NUMBER_TAKEN)?;
    audit.write(&txn, order.id).await?;
    txn.commit().await?;
    publish_progress(events, &order);
    Ok(order)
}

// ---------------------------------------------------------------------------------------------
// Production reports

/// Input of `report`.
#[derive(Clone, Debug)]
pub struct NewReport {
    pub equipment_id: i64,
    pub order_id: i64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub total_count: i32,
    pub good_count: i32,
    pub scrap_count: i32,
    pub scrap_reason: Option<String>,
}

/// Largest count of one report.
const MAX_REPORT_COUNT: i64 = 1_000_000;

fn check_counts(input: &NewReport) -> AppResult<()> {
    for (field, value) in [
        ("totalCount", input.total_count),
        ("goodCount", input.good_count),
        ("scrapCount", input.scrap_count),
    ] {
        validate::int(field, value.into(), 0, MAX_REPORT_COUNT)?;
    }
    if i64::from(input.good_count) + i64::from(input.scrap_count) > i64::from(input.total_count) {
        return Err(AppError::invalid(
            "goodCount",
            "`goodCount` + `scrapCount` must not exceed `totalCount`",
        ));
    }
    Ok(())
}

fn check_period(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    if start >= end {
        return Err(AppError::invalid(
            "periodEnd",
            "`periodEnd` must be after `periodStart`",
        ));
    }
    if end > now + MAX_CLOCK_SKEW {
        return Err(AppError::invalid(
            "periodEnd",
            "`periodEnd` must not be in the future",
        ));
    }
    Ok(())
}

/// Adds `value` to an order total, refusing a sum past the column's range.
fn add_count(total: i32, value: i32) -> AppResult<i32> {
    total
        .checked_add(value)
        .ok_or_else(|| AppError::Conflict("the order's totals would overflow".to_owned()))
}

/// Reports what a machine made for an order over a period (operator): the machine stands on
/// the order's line, the order is IN_PROGRESS or PAUSED, the period lies within the order's
/// running time and overlaps no earlier report of the machine. The report takes the shift of
/// the workshop covering its start, and its counts are added to the order's totals in the
/// same transaction.
pub async fn report(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    input: NewReport,
) -> AppResult<(production_report::Model, production_order::Model)> {
    caller.require(Role::Operator)?;
    check_counts(&input)?;
    let now = Utc::now();
    check_period(input.period_start, input.period_end, now)?;
    let scrap_reason = validate::text("scrapReason", input.scrap_reason.as_deref(), 200)?;
    let txn = super::begin_write(db).await?;
    // The machine's lock serialises its reports, so two cannot overlap unseen.
    let machine = equipment_status::lock_machine(&txn, &caller.scope, input.equipment_id).await?;
    let order = lock_order(&txn, caller, input.order_id).await?;
    if machine.line_id != order.line_id {
        return Err(AppError::invalid(
            "equipmentId",
            "the machine is not on the order's line",
        ));
    }
    if !matches!(order.status, OrderStatus::InProgress | OrderStatus::Paused) {
        return Err(AppError::Conflict(format!(
            "only IN_PROGRESS or PAUSED orders take reports; this one is {}",
            order.status.as_str().to_uppercase()
        )));
    }
    if order
        .actual_start
        .is_none_or(|started| input.period_start < started)
    {
        return Err(AppError::invalid(
            "periodStart",
            "`periodStart` must not be before the order started",
        ));
    }
    let overlapping = production_report::Entity::find()
        .filter(production_report::Column::EquipmentId.eq(machine.id))
        .filter(production_report::Column::PeriodStart.lt(input.period_end))
        .filter(production_report::Column::PeriodEnd.gt(input.period_start))
        .order_by_asc(production_report::Column::PeriodStart)
        .one(&txn)
        .await?;
    if let Some(other) = overlapping {
        return Err(AppError::Conflict(format!(
            "the period overlaps report {} of this machine ({} to {})",
            other.id,
            other.period_start.to_rfc3339(),
            other.period_end.to_rfc3339()
        )));
    }
    let qty_good = add_count(order.qty_good, input.good_count)?;
    let qty_scrap = add_count(order.qty_scrap, input.scrap_count)?;
    let shift_id = shift::Entity::find()
        .filter(shift::Column::WorkshopId.eq(machine.workshop_id))
        .filter(shift::Column::StartsAt.lte(input.period_start))
        .filter(shift::Column::EndsAt.gt(input.period_start))
        .one(&txn)
        .await?
        .map(|s| s.id);
    let report = production_report::ActiveModel {
        equipment_id: Set(machine.id),
        workshop_id: Set(machine.workshop_id),
        order_id: Set(Some(order.id)),
        shift_id: Set(shift_id),
        period_start: Set(input.period_start),
        period_end: Set(input.period_end),
        total_count: Set(input.total_count),
        good_count: Set(input.good_count),
        scrap_count: Set(input.scrap_count),
        scrap_reason: Set(scrap_reason),
        reported_by: Set(caller.user_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut active: production_order::ActiveModel = order.into();
    active.qty_good = Set(qty_good);
    active.qty_scrap = Set(qty_scrap);
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    audit.write(&txn, report.id).await?;
    txn.commit().await?;
    publish_progress(events, &order);
    Ok((report, order))
}

/// Most shifts one query returns (a quarter of 3 shifts a day in 20 workshops is ~5,500).
const MAX_SHIFTS: u64 = 10_000;

/// Shifts overlapping `[from, to)`, in the caller's workshops, by start.
pub async fn shifts(
    db: &DatabaseConnection,
    caller: &Caller,
    workshop_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<shift::Model>> {
    super::telemetry::check_range(from, to, 93)?;
    let mut c = caller.scope.condition(shift::Column::WorkshopId);
    if let Some(id) = workshop_id {
        c = c.add(shift::Column::WorkshopId.eq(id));
    }
    Ok(shift::Entity::find()
        .filter(c)
        .filter(shift::Column::StartsAt.lt(to))
        .filter(shift::Column::EndsAt.gt(from))
        .order_by_asc(shift::Column::StartsAt)
        .order_by_asc(shift::Column::WorkshopId)
        .limit(MAX_SHIFTS)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Shift planning

/// Input of `create_shift`.
#[derive(Clone, Debug)]
pub struct NewShift {
    pub workshop_id: i64,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Default 0.
    pub planned_break_s: Option<i32>,
}

/// Changes of `update_shift`; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ShiftPatch {
    pub name: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub planned_break_s: Option<i32>,
}

/// Longest shift.
const MAX_SHIFT: Duration = Duration::hours(24);

fn check_shift(start: DateTime<Utc>, end: DateTime<Utc>, break_s: i32) -> AppResult<()> {
    if start >= end {
        return Err(AppError::invalid(
            "endsAt",
            "`endsAt` must be after `startsAt`",
        ));
    }
    let length = end - start;
    if length > MAX_SHIFT {
        return Err(AppError::invalid(
            "endsAt",
            "a shift lasts at most 24 hours",
        ));
    }
    validate::int("plannedBreakS", break_s.into(), 0, length.num_seconds())?;
    Ok(())
}

/// The workshop, locked until the transaction ends so that its shifts change one writer at a
/// time (PostgreSQL), or `NOT_FOUND`.
async fn lock_workshop(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<workshop::Model> {
    workshop::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .filter(|w| caller.scope.allows(w.id))
        .ok_or_else(|| AppError::not_found("workshop", id))
}

/// `CONFLICT` when `[start, end)` overlaps another shift of the workshop.
async fn check_no_overlap(
    conn: &impl ConnectionTrait,
    workshop_id: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<i64>,
) -> AppResult<()> {
    let mut select = shift::Entity::find()
        .filter(shift::Column::WorkshopId.eq(workshop_id))
        .filter(shift::Column::StartsAt.lt(end))
        .filter(shift::Column::EndsAt.gt(start));
    if let Some(id) = except {
        select = select.filter(shift::Column::Id.ne(id));
    }
    match select.one(conn).await? {
        Some(other) => Err(AppError::Conflict(format!(
            "the shift overlaps shift {} ({}) of the workshop",
            other.id, other.name
        ))),
        None => Ok(()),
    }
}

async fn get_shift(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<shift::Model> {
    shift::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|s| caller.scope.allows(s.workshop_id))
        .ok_or_else(|| AppError::not_found("shift", id))
}

/// Plans a shift (manager): a name of 1–64 characters, at most 24 hours, breaks within its
/// length, overlapping no other shift of the workshop.
pub async fn create_shift(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    input: NewShift,
) -> AppResult<shift::Model> {
    caller.require(Role::Manager)?;
    let name = validate::name("name", &input.name, 64)?;
    let break_s = input.planned_break_s.unwrap_or(0);
    check_shift(input.starts_at, input.ends_at, break_s)?;
    let txn = super::begin_write(db).await?;
    let workshop = lock_workshop(&txn, caller, input.workshop_id).await?;
    check_no_overlap(&txn, workshop.id, input.starts_at, input.ends_at, None).await?;
    let model = shift::ActiveModel {
        workshop_id: Set(workshop.id),
        name: Set(name),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        planned_break_s: Set(break_s),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Changes a shift (manager), under the rules of `create_shift`.
pub async fn update_shift(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: ShiftPatch,
) -> AppResult<shift::Model> {
    caller.require(Role::Manager)?;
    let name = patch
        .name
        .as_deref()
        .map(|n| validate::name("name", n, 64))
        .transpose()?;
    let txn = super::begin_write(db).await?;
    let current = get_shift(&txn, caller, id).await?;
    lock_workshop(&txn, caller, current.workshop_id).await?;
    let start = patch.starts_at.unwrap_or(current.starts_at);
    let end = patch.ends_at.unwrap_or(current.ends_at);
    let break_s = patch.planned_break_s.unwrap_or(current.planned_break_s);
    check_shift(start, end, break_s)?;
    check_no_overlap(&txn, current.workshop_id, start, end, Some(id)).await?;
    let mut active: shift::ActiveModel = current.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    active.starts_at = Set(start);
    active.ends_at = Set(end);
    active.planned_break_s = Set(break_s);
    let model = active.update(&txn).await?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Deletes a shift (manager); its reports keep their counts and lose the link.
pub async fn delete_shift(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Manager)?;
    let txn = super::begin_write(db).await?;
    get_shift(&txn, caller, id).await?;
    shift::Entity::delete_by_id(id).exec(&txn).await?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (from, to) pair against the lifecycle drawn out by hand.
    #[test]
    fn the_order_lifecycle_has_exactly_its_edges() {
        use OrderMove::*;
        use OrderStatus::*;
        let expected = |from: OrderStatus, to: OrderStatus| match (from, to) {
            (Draft, Released) => Some(Release),
            (Released, InProgress) => Some(Start),
            (InProgress, Paused) => Some(Pause),
            (Paused, InProgress) => Some(Resume),
            (InProgress, Completed) | (Paused, Completed) => Some(Complete),
            (Draft, Cancelled)
            | (Released, Cancelled)
            | (InProgress, Cancelled)
            | (Paused, Cancelled) => Some(Cancel),
            _ => None,
        };
        let mut pairs = 0;
        for from in OrderStatus::iter() {
            for to in OrderStatus::iter() {
                assert_eq!(
                    order_move(from, to),
                    expected(from, to),
                    "{from:?} → {to:?}"
                );
                pairs += 1;
            }
        }
        assert_eq!(pairs, 36);
        assert_eq!(Release.minimum_role(), Role::Manager);
        assert_eq!(Cancel.minimum_role(), Role::Manager);
        for step in [Start, Pause, Resume, Complete] {
            assert_eq!(step.minimum_role(), Role::Operator);
        }
    }

    #[test]
    fn an_illegal_move_names_the_allowed_targets() {
        let err = illegal_move(
            "production order",
            "draft",
            "completed",
            &["released", "cancelled"],
        );
        assert_eq!(
            err.message(),
            "a DRAFT production order cannot become COMPLETED; it may become RELEASED or CANCELLED"
        );
        let err = illegal_move("production order", "completed", "paused", &[]);
        assert_eq!(err.code(), crate::error::ErrorCode::Conflict);
        assert!(err.message().contains("closed"), "{}", err.message());
    }

    fn order(status: OrderStatus, planned: i32, good: i32) -> production_order::Model {
        let t = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        production_order::Model {
            id: 1,
            number: "PO-1".into(),
            product_id: 1,
            line_id: 2,
            workshop_id: 3,
            qty_planned: planned,
            qty_good: good,
            qty_scrap: 0,
            status,
            priority: 0,
            planned_start: t,
            planned_end: t + Duration::hours(8),
            actual_start: Some(t),
            actual_end: None,
            created_by: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn progress_is_percent_rate_and_eta_when_computable() {
        let o = order(OrderStatus::InProgress, 400, 100);
        let start = o.actual_start.expect("started");
        let p = progress(&o, start + Duration::hours(2));
        assert_eq!(p.percent, 25.0);
        assert_eq!(p.rate_per_hour, Some(50.0));
        // 300 left at 50 an hour: 6 hours from now.
        assert_eq!(p.eta, Some(start + Duration::hours(8)));

        // Not started: no rate, no ETA.
        let mut o = order(OrderStatus::Released, 400, 0);
        o.actual_start = None;
        let p = progress(&o, start);
        assert_eq!((p.percent, p.rate_per_hour, p.eta), (0.0, None, None));

        // Nothing made yet: a zero rate and no ETA.
        let p = progress(
            &order(OrderStatus::InProgress, 400, 0),
            start + Duration::hours(1),
        );
        assert_eq!((p.rate_per_hour, p.eta), (Some(0.0), None));

        // Done: the rate up to the actual end, no ETA; percent may pass 100.
        let mut o = order(OrderStatus::Completed, 400, 440);
        o.actual_end = Some(start + Duration::hours(4));
        let p = progress(&o, start + Duration::hours(10));
        assert_eq!(
            (p.percent, p.rate_per_hour, p.eta),
            (110.0, Some(110.0), None)
        );
    }
}
