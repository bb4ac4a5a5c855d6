//! What a subscription wants: the selector it named (turned into index keys), the caller's
//! workshop scope captured when it subscribed, and the per-kind conditions (an alarm's
//! severity and shelving). Pure decisions, so the hub's filtering is tested without a bus.

use crate::{
    auth::WorkshopScope,
    events::{AlarmAction, AlarmChange, Place},
};

use super::index::Key;

/// The one thing a subscription named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// These sensors.
    Sensors(Vec<i64>),
    Equipment(i64),
    Line(i64),
    Workshop(i64),
    /// A production order.
    Order(i64),
    /// Nothing: every workshop of the caller's scope.
    Scope,
}

/// A subscription's selector and the scope of the caller who made it.
#[derive(Clone, Debug)]
pub struct Interest {
    pub selector: Selector,
    /// The caller's workshops when they subscribed: events of other workshops never reach
    /// the subscriber, whatever the selector.
    pub scope: WorkshopScope,
}

impl Interest {
    /// The index keys to register under. Naming nothing means the workshops of the scope
    /// (or every event, for a caller who sees every workshop).
    pub fn keys(&self) -> Vec<Key> {
        match &self.selector {
            Selector::Sensors(ids) => ids.iter().map(|id| Key::Sensor(*id)).collect(),
            Selector::Equipment(id) => vec![Key::Equipment(*id)],
            Selector::Line(id) => vec![Key::Line(*id)],
            Selector::Workshop(id) => vec![Key::Workshop(*id)],
            Selector::Order(id) => vec![Key::Order(*id)],
            Selector::Scope => match &self.scope {
                WorkshopScope::All => vec![Key::Any],
                WorkshopScope::Only(ids) => ids.iter().map(|id| Key::Workshop(*id)).collect(),
            },
        }
    }

    /// Whether an event of `workshop_id` may reach the subscriber.
    pub fn allows(&self, workshop_id: i64) -> bool {
        self.scope.allows(workshop_id)
    }
}

/// The keys an event at `place` is looked up by.
pub fn place_keys(place: &Place) -> [Key; 4] {
    [
        Key::Equipment(place.equipment_id),
        Key::Line(place.line_id),
        Key::Workshop(place.workshop_id),
        Key::Any,
    ]
}

/// What an `alarmChanged` subscription wants.
#[derive(Clone, Debug)]
pub struct AlarmInterest {
    pub interest: Interest,
    /// The lowest severity rank that notifies (1 = INDETERMINATE: every alarm).
    pub min_severity: i16,
    /// Whether `SYSTEM` alarms (no workshop) reach it: an admin's subscription that named
    /// no workshop or machine.
    pub system: bool,
}

impl AlarmInterest {
    /// Whether `change` reaches the subscriber: in scope, severe enough, and not set aside.
    pub fn wants(&self, change: &AlarmChange) -> bool {
        let in_scope = match &change.place {
            Some(place) => self.interest.allows(place.workshop_id),
            None => self.system,
        };
        in_scope && change.severity >= self.min_severity && notifies(change)
    }
}

/// ISA-18.2 shelving: a shelved alarm is set aside until its time runs out, so its
/// transitions meanwhile notify no one — except being shelved and unshelved, which tell the
/// operator it left and came back. (`shelved_until` is set on an event only while the
/// shelving lasts at the event's time.)
pub fn notifies(change: &AlarmChange) -> bool {
    change.shelved_until.is_none()
        || matches!(change.action, AlarmAction::Shelved | AlarmAction::Unshelved)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, Utc};

    use super::*;

    fn change(action: AlarmAction, severity: i16, shelved: bool) -> AlarmChange {
        let now = Utc::now();
        AlarmChange {
            place: Some(Place {
                workshop_id: 1,
                line_id: 2,
                equipment_id: 3,
            }),
            alarm_id: 10,
            alarm_event_id: 11,
            sensor_id: None,
            action,
            alarm_type: "HIGH".into(),
            severity,
            acknowledged: false,
            cleared: false,
            shelved_until: shelved.then(|| now + Duration::hours(1)),
            ts: now,
            user_id: None,
            note: None,
        }
    }

    fn alarms_of(scope: WorkshopScope, min_severity: i16) -> AlarmInterest {
        AlarmInterest {
            interest: Interest {
                selector: Selector::Scope,
                scope,
            },
            min_severity,
            system: false,
        }
    }

    #[test]
    fn naming_nothing_registers_under_the_workshops_of_the_scope() {
        let only = Interest {
            selector: Selector::Scope,
            scope: WorkshopScope::Only(Arc::from([4, 5])),
        };
        assert_eq!(only.keys(), [Key::Workshop(4), Key::Workshop(5)]);
        let all = Interest {
            selector: Selector::Scope,
            scope: WorkshopScope::All,
        };
        assert_eq!(all.keys(), [Key::Any]);
        let none = Interest {
            selector: Selector::Scope,
            scope: WorkshopScope::Only(Arc::from([])),
        };
        assert!(none.keys().is_empty(), "no workshop, no event");
    }

    #[test]
    fn alarms_below_the_minimum_severity_or_outside_the_scope_do_not_notify() {
        let majors = alarms_of(WorkshopScope::All, 4);
        assert!(majors.wants(&change(AlarmAction::Raised, 4, false)));
        assert!(majors.wants(&change(AlarmAction::Raised, 5, false)));
        assert!(!majors.wants(&change(AlarmAction::Raised, 3, false)));
        let elsewhere = alarms_of(WorkshopScope::Only(Arc::from([2])), 1);
        assert!(!elsewhere.wants(&change(AlarmAction::Raised, 5, false)));
    }

    #[test]
    fn system_alarms_reach_only_subscriptions_that_take_them() {
        let system = AlarmChange {
            place: None,
            alarm_type: "SYSTEM".into(),
            ..change(AlarmAction::Raised, 4, false)
        };
        let manager = alarms_of(WorkshopScope::All, 1);
        assert!(!manager.wants(&system), "all workshops is not the system");
        let admin = AlarmInterest {
            system: true,
            ..alarms_of(WorkshopScope::All, 1)
        };
        assert!(admin.wants(&system));
        assert!(admin.wants(&change(AlarmAction::Raised, 4, false)));
        let picky = AlarmInterest {
            min_severity: 5,
            ..admin
        };
        assert!(!picky.wants(&system), "the severity still filters");
    }

    #[test]
    fn a_shelved_alarm_notifies_only_its_shelving_and_unshelving() {
        let every = alarms_of(WorkshopScope::All, 1);
        assert!(every.wants(&change(AlarmAction::Shelved, 4, true)));
        assert!(every.wants(&change(AlarmAction::Unshelved, 4, false)));
        for action in [
            AlarmAction::Updated,
            AlarmAction::Acknowledged,
            AlarmAction::Cleared,
            AlarmAction::Commented,
        ] {
            assert!(!every.wants(&change(action, 4, true)), "{action:?}");
            assert!(every.wants(&change(action, 4, false)), "{action:?}");
        }
    }
}
