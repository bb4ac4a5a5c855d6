//! Live subscriptions before their stream starts: who may subscribe, which arguments are
//! valid, and what the named ids are — resolved to workshops and checked against the
//! caller's scope — so that a subscription the caller may not have fails at once instead of
//! staying silent. The result is the [`Interest`] the hub filters by.
//!
//! Viewers and above may subscribe; gateways may not (they write, dashboards read), and
//! anonymous callers are `UNAUTHENTICATED`. An id the caller cannot see is `FORBIDDEN`,
//! whether it lies in another workshop or does not exist at all — telling the two apart
//! would reveal what other workshops hold; a caller who sees every workshop is told
//! `NOT_FOUND` for an id that does not exist.

use std::{collections::HashMap, time::Duration};

use entity::{enums::Role, equipment, production_line, production_order, sensor, workshop};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    auth::{Caller, WorkshopScope},
    error::{AppError, AppResult},
    events::AlarmCounts,
    realtime::{AlarmInterest, Interest, Selector},
    service::alarm::severity,
};

/// Most sensors one `readingsUpdated` may name.
pub const MAX_SENSORS: usize = 1_000;
/// Shortest coalescing window of `readingsUpdated`, in milliseconds.
pub const MIN_THROTTLE_MS: i32 = 100;
/// Longest coalescing window of `readingsUpdated`, in milliseconds.
pub const MAX_THROTTLE_MS: i32 = 60_000;
/// Least time between two `alarmCountsChanged` messages of one subscription.
pub const COUNTS_GAP: Duration = Duration::from_millis(500);

/// The arguments of `readingsUpdated`.
#[derive(Clone, Debug, Default)]
pub struct ReadingsRequest {
    pub sensor_ids: Option<Vec<i64>>,
    pub equipment_id: Option<i64>,
    pub line_id: Option<i64>,
    pub throttle_ms: i32,
}

/// A checked `readingsUpdated`: what it wants, and its coalescing window.
#[derive(Clone, Debug)]
pub struct ReadingsPlan {
    pub interest: Interest,
    pub window: Duration,
}

/// Checks `readingsUpdated`: exactly one of sensors (1 to [`MAX_SENSORS`]), a machine or a
/// line, all visible to the caller, and a window of [`MIN_THROTTLE_MS`] to
/// [`MAX_THROTTLE_MS`].
pub async fn readings(
    db: &impl ConnectionTrait,
    caller: &Caller,
    request: ReadingsRequest,
) -> AppResult<ReadingsPlan> {
    may_subscribe(caller)?;
    if !(MIN_THROTTLE_MS..=MAX_THROTTLE_MS).contains(&request.throttle_ms) {
        return Err(AppError::invalid(
            "throttleMs",
            format!("`throttleMs` must be {MIN_THROTTLE_MS} to {MAX_THROTTLE_MS}"),
        ));
    }
    let window = Duration::from_millis(request.throttle_ms.unsigned_abs().into());
    let selector = match (request.sensor_ids, request.equipment_id, request.line_id) {
        (Some(ids), None, None) => {
            sensors_visible(db, caller, &ids).await?;
            Selector::Sensors(ids)
        }
        (None, Some(id), None) => named(db, caller, Selector::Equipment(id)).await?,
        (None, None, Some(id)) => named(db, caller, Selector::Line(id)).await?,
        _ => {
            return Err(AppError::bad_input(
                "give exactly one of `sensorIds`, `equipmentId`, `lineId`",
            ));
        }
    };
    Ok(ReadingsPlan {
        interest: interest(caller, selector),
        window,
    })
}

/// Checks `equipmentStatusChanged`: at most one of a workshop, a line or a machine.
pub async fn status(
    db: &impl ConnectionTrait,
    caller: &Caller,
    workshop_id: Option<i64>,
    line_id: Option<i64>,
    equipment_id: Option<i64>,
) -> AppResult<Interest> {
    may_subscribe(caller)?;
    let selector = at_most_one(
        "give at most one of `workshopId`, `lineId`, `equipmentId`",
        [
            workshop_id.map(Selector::Workshop),
            line_id.map(Selector::Line),
            equipment_id.map(Selector::Equipment),
        ],
    )?;
    Ok(interest(caller, named(db, caller, selector).await?))
}

/// Checks `alarmChanged`: at most one of a workshop or a machine, and the lowest severity
/// rank that notifies (default: every alarm).
pub async fn alarms(
    db: &impl ConnectionTrait,
    caller: &Caller,
    workshop_id: Option<i64>,
    equipment_id: Option<i64>,
    min_severity: Option<i16>,
) -> AppResult<AlarmInterest> {
    may_subscribe(caller)?;
    let selector = at_most_one(
        "give at most one of `workshopId`, `equipmentId`",
        [
            workshop_id.map(Selector::Workshop),
            equipment_id.map(Selector::Equipment),
        ],
    )?;
    let interest = interest(caller, named(db, caller, selector).await?);
    Ok(AlarmInterest {
        system: caller.sees_system_alarms()
            && interest.selector == Selector::Scope
            && matches!(interest.scope, WorkshopScope::All),
        interest,
        min_severity: min_severity.unwrap_or(severity::INDETERMINATE),
    })
}

/// Checks `alarmCountsChanged`: one workshop, or every workshop of the scope.
pub async fn alarm_counts(
    db: &impl ConnectionTrait,
    caller: &Caller,
    workshop_id: Option<i64>,
) -> AppResult<Interest> {
    may_subscribe(caller)?;
    let selector = workshop_id.map_or(Selector::Scope, Selector::Workshop);
    Ok(interest(caller, named(db, caller, selector).await?))
}

/// Checks `productionOrderProgress`: at most one of a line or an order.
pub async fn production(
    db: &impl ConnectionTrait,
    caller: &Caller,
    line_id: Option<i64>,
    order_id: Option<i64>,
) -> AppResult<Interest> {
    may_subscribe(caller)?;
    let selector = at_most_one(
        "give at most one of `lineId`, `orderId`",
        [line_id.map(Selector::Line), order_id.map(Selector::Order)],
    )?;
    Ok(interest(caller, named(db, caller, selector).await?))
}

/// Checks `maintenanceOrderChanged`: one workshop, or every workshop of the scope.
pub async fn maintenance(
    db: &impl ConnectionTrait,
    caller: &Caller,
    workshop_id: Option<i64>,
) -> AppResult<Interest> {
    may_subscribe(caller)?;
    let selector = workshop_id.map_or(Selector::Scope, Selector::Workshop);
    Ok(interest(caller, named(db, caller, selector).await?))
}

/// The open alarm counts an `alarmCountsChanged` subscription sums: one entry per workshop
/// it covers, replaced by each `AlarmCounts` event of that workshop.
#[derive(Clone, Debug, Default)]
pub struct CountsBoard {
    by_workshop: HashMap<i64, [i64; 5]>,
}

impl CountsBoard {
    /// The current open counts of the workshops `interest` covers (one grouped statement;
    /// for a caller who sees everything, one more for the workshop ids).
    pub async fn load(db: &impl ConnectionTrait, interest: &Interest) -> AppResult<Self> {
        let workshops: Vec<i64> = match (&interest.selector, &interest.scope) {
            (Selector::Workshop(id), _) => vec![*id],
            (_, WorkshopScope::Only(ids)) => ids.to_vec(),
            (_, WorkshopScope::All) => {
                workshop::Entity::find()
                    .select_only()
                    .column(workshop::Column::Id)
                    .into_tuple()
                    .all(db)
                    .await?
            }
        };
        let now = super::alarm_transition::now();
        let counts = super::alarm_transition::open_counts(db, &workshops, now).await?;
        let mut board = Self::default();
        for c in &counts {
            board.apply(c);
        }
        Ok(board)
    }

    /// Takes the counts of one workshop after a change.
    pub fn apply(&mut self, counts: &AlarmCounts) {
        self.by_workshop
            .insert(counts.workshop_id, counts.open_by_severity);
    }

    /// Open alarms by severity rank, highest first; severities without any are left out,
    /// as `alarmCounts(groupBy: SEVERITY)` answers.
    pub fn by_severity(&self) -> Vec<(i16, i64)> {
        let mut total = [0i64; 5];
        for counts in self.by_workshop.values() {
            for (sum, n) in total.iter_mut().zip(counts) {
                *sum += n;
            }
        }
        (severity::INDETERMINATE..=severity::CRITICAL)
            .rev()
            .zip(total.iter().rev())
            .filter(|(_, n)| **n > 0)
            .map(|(rank, n)| (rank, *n))
            .collect()
    }
}

/// Viewers and above; not gateways, not anonymous callers.
fn may_subscribe(caller: &Caller) -> AppResult<()> {
    caller.require(Role::Viewer)
}

fn interest(caller: &Caller, selector: Selector) -> Interest {
    Interest {
        selector,
        scope: caller.scope.clone(),
    }
}

/// The one selector given, [`Selector::Scope`] for none, `BAD_USER_INPUT` for more.
fn at_most_one<const N: usize>(
    message: &'static str,
    given: [Option<Selector>; N],
) -> AppResult<Selector> {
    let mut given = given.into_iter().flatten();
    match (given.next(), given.next()) {
        (None, _) => Ok(Selector::Scope),
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(AppError::bad_input(message)),
    }
}

/// `selector` after checking that what it names exists and lies in the caller's scope.
async fn named(
    db: &impl ConnectionTrait,
    caller: &Caller,
    selector: Selector,
) -> AppResult<Selector> {
    let (entity, id, workshop) = match &selector {
        Selector::Scope => return Ok(selector),
        Selector::Sensors(ids) => {
            sensors_visible(db, caller, ids).await?;
            return Ok(selector);
        }
        Selector::Workshop(id) => (
            "workshop",
            *id,
            workshop::Entity::find_by_id(*id)
                .one(db)
                .await?
                .map(|w| w.id),
        ),
        Selector::Line(id) => (
            "line",
            *id,
            production_line::Entity::find_by_id(*id)
                .one(db)
                .await?
                .map(|l| l.workshop_id),
        ),
        Selector::Equipment(id) => (
            "equipment",
            *id,
            equipment::Entity::find_by_id(*id)
                .one(db)
                .await?
                .map(|e| e.workshop_id),
        ),
        Selector::Order(id) => (
            "production order",
            *id,
            production_order::Entity::find_by_id(*id)
                .one(db)
                .await?
                .map(|o| o.workshop_id),
        ),
    };
    visible(caller, entity, id, workshop)?;
    Ok(selector)
}

/// Every sensor of `ids` exists in the caller's scope (one statement).
async fn sensors_visible(db: &impl ConnectionTrait, caller: &Caller, ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(AppError::invalid("sensorIds", "name at least one sensor"));
    }
    if ids.len() > MAX_SENSORS {
        return Err(AppError::invalid(
            "sensorIds",
            format!("at most {MAX_SENSORS} ids in `sensorIds`"),
        ));
    }
    let found: HashMap<i64, i64> = sensor::Entity::find()
        .select_only()
        .column(sensor::Column::Id)
        .column(sensor::Column::WorkshopId)
        .filter(sensor::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for id in ids {
        visible(caller, "sensor", *id, found.get(id).copied())?;
    }
    Ok(())
}

/// `FORBIDDEN` unless `workshop` (of `entity` `id`, `None` when it does not exist) is in the
/// caller's scope; `NOT_FOUND` for a missing one when the caller sees everything.
fn visible(caller: &Caller, entity: &'static str, id: i64, workshop: Option<i64>) -> AppResult<()> {
    match workshop {
        Some(w) if caller.scope.allows(w) => Ok(()),
        None if caller.scope == WorkshopScope::All => Err(AppError::not_found(entity, id)),
        _ => Err(AppError::Forbidden(format!(
            "{entity} {id} is not in your workshops"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_sums_its_workshops_by_severity_highest_first() {
        let mut board = CountsBoard::default();
        board.apply(&AlarmCounts {
            workshop_id: 1,
            open_by_severity: [0, 1, 0, 2, 0],
            unacknowledged: 3,
        });
        board.apply(&AlarmCounts {
            workshop_id: 2,
            open_by_severity: [0, 0, 0, 1, 4],
            unacknowledged: 0,
        });
        assert_eq!(board.by_severity(), [(5, 4), (4, 3), (2, 1)]);
        // A workshop's new counts replace its old ones.
        board.apply(&AlarmCounts {
            workshop_id: 2,
            open_by_severity: [0; 5],
            unacknowledged: 0,
        });
        assert_eq!(board.by_severity(), [(4, 2), (2, 1)]);
    }

    #[test]
    fn more_than_one_selector_is_bad_input() {
        let two = at_most_one("two", [Some(Selector::Line(1)), Some(Selector::Order(2))]);
        assert!(matches!(two, Err(AppError::BadInput { .. })));
        assert_eq!(
            at_most_one("none", [None, None]).ok(),
            Some(Selector::Scope)
        );
    }
}
