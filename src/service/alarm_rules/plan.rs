//! A batch's samples, sensor by sensor and oldest first, through the decisions: the drafts
//! of the alarms they raise or move, with their transitions. Pure as well.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use entity::{alarm, sensor};

use super::{
    Sample,
    decide::{Decision, Limits, Open, Side, step},
};
use crate::events::AlarmAction;

/// One transition of a draft: an `alarm_events` row and a bus event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Transition {
    pub action: AlarmAction,
    pub ts: DateTime<Utc>,
    /// The alarm's severity and cleared flag right after it.
    pub severity: i16,
    pub cleared: bool,
    pub note: String,
    /// Whether the workshop's open counts moved (raise, clear, new severity).
    pub moves_counts: bool,
}

/// An alarm as the batch leaves it, and the transitions that got it there.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    /// `id` is 0 while the alarm is new.
    pub alarm: alarm::Model,
    pub is_new: bool,
    /// Whether the row must be written (a new or moved alarm).
    pub changed: bool,
    pub transitions: Vec<Transition>,
}

impl Draft {
    fn existing(alarm: alarm::Model) -> Self {
        Self {
            alarm,
            is_new: false,
            changed: false,
            transitions: Vec::new(),
        }
    }

    fn state(&self, limits: &Limits) -> Open {
        Open {
            severity: self.alarm.severity,
            in_band: self
                .alarm
                .value
                .is_none_or(|v| limits.level(limits.side.orient(v)).is_some()),
        }
    }

    fn raise(
        sensor: &sensor::Model,
        limits: &Limits,
        level: i16,
        sample: (DateTime<Utc>, f64),
    ) -> Self {
        let (ts, value) = sample;
        let mut draft = Self {
            alarm: alarm::Model {
                id: 0,
                workshop_id: Some(sensor.workshop_id),
                equipment_id: Some(sensor.equipment_id),
                sensor_id: Some(sensor.id),
                r#type: limits.side.alarm_type().to_owned(),
                severity: level,
                message: String::new(),
                value: Some(value),
                threshold: None,
                details: None,
                occurrences: 1,
                start_ts: ts,
                last_ts: ts,
                acknowledged: false,
                ack_ts: None,
                ack_by: None,
                cleared: false,
                clear_ts: None,
                cleared_by: None,
                assignee_id: None,
                shelved_until: None,
                source: None,
            },
            is_new: true,
            changed: true,
            transitions: Vec::new(),
        };
        draft.describe(sensor, limits, level, value);
        draft.push(AlarmAction::Raised, ts, true);
        draft
    }

    /// Message, threshold and details of an occurrence at `level`.
    fn describe(&mut self, sensor: &sensor::Model, limits: &Limits, level: i16, value: f64) {
        let threshold = limits.threshold(level);
        let side = limits.side;
        self.alarm.threshold = threshold;
        self.alarm.message = match threshold {
            Some(t) => format!(
                "{} {}: {value} {} {t}",
                sensor.tag,
                side.word(),
                side.beyond()
            ),
            None => format!("{} {}: {value}", sensor.tag, side.word()),
        }
        .chars()
        .take(500)
        .collect();
        self.alarm.details = Some(serde_json::json!({
            "source": "threshold",
            "tag": sensor.tag,
            "unit": sensor.unit,
            "limits": {
                "loLo": sensor.lo_lo, "lo": sensor.lo, "hi": sensor.hi, "hiHi": sensor.hi_hi,
                "deadband": limits.deadband,
            },
        }));
    }

    fn push(&mut self, action: AlarmAction, ts: DateTime<Utc>, moves_counts: bool) {
        let note = match action {
            AlarmAction::Cleared => self.alarm.value.map_or_else(String::new, |v| v.to_string()),
            _ => self.alarm.message.clone(),
        };
        self.transitions.push(Transition {
            action,
            ts,
            severity: self.alarm.severity,
            cleared: self.alarm.cleared,
            note,
            moves_counts,
        });
    }

    /// Applies one decision; returns whether the alarm is still open.
    fn apply(
        &mut self,
        sensor: &sensor::Model,
        limits: &Limits,
        decision: Decision,
        (ts, value): (DateTime<Utc>, f64),
    ) -> bool {
        self.alarm.value = Some(value);
        self.changed = true;
        match decision {
            Decision::Recur(level) => {
                let escalated = level > self.alarm.severity;
                self.alarm.severity = level;
                self.alarm.occurrences = self.alarm.occurrences.saturating_add(1);
                self.alarm.last_ts = ts;
                self.describe(sensor, limits, level, value);
                self.push(AlarmAction::Updated, ts, escalated);
            }
            Decision::Hold => self.alarm.last_ts = ts,
            Decision::Clear => {
                self.alarm.cleared = true;
                self.alarm.clear_ts = Some(ts);
                self.alarm.cleared_by = None;
                self.push(AlarmAction::Cleared, ts, true);
                if let Some(t) = self.transitions.last_mut() {
                    let bound = limits.side.orient(limits.clear_below());
                    t.note = format!(
                        "{} back to {value}, {} {bound}",
                        sensor.tag,
                        limits.side.inside()
                    );
                }
                return false;
            }
            Decision::Linger | Decision::Normal | Decision::Raise(_) => {}
        }
        true
    }
}

/// Decides a batch: the drafts of every alarm it raised or moved, given the open threshold
/// alarms of its sensors by (sensor, side). Pure, so it is tested without a database.
pub(crate) fn plan(
    samples: &[&Sample<'_>],
    mut open: HashMap<(i64, Side), alarm::Model>,
) -> Vec<Draft> {
    let mut by_sensor: BTreeMap<i64, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    let mut sensors: HashMap<i64, &sensor::Model> = HashMap::new();
    for s in samples {
        if !s.value.is_finite() {
            continue;
        }
        sensors.insert(s.sensor.id, s.sensor);
        by_sensor
            .entry(s.sensor.id)
            .or_default()
            .push((s.ts.trunc_subsecs(6), s.value));
    }
    let mut drafts = Vec::new();
    for (sensor_id, mut values) in by_sensor {
        let Some(sensor) = sensors.get(&sensor_id).copied() else {
            continue;
        };
        // Oldest first; one value per instant (the store keeps the first of a repeated key).
        values.sort_by_key(|(ts, _)| *ts);
        values.dedup_by_key(|(ts, _)| *ts);
        for side in Side::ALL {
            let Some(limits) = Limits::of(sensor, side) else {
                continue;
            };
            let mut current = open.remove(&(sensor_id, side)).map(Draft::existing);
            for &(ts, value) in &values {
                if current.as_ref().is_some_and(|d| ts <= d.alarm.last_ts) {
                    continue;
                }
                let state = current.as_ref().map(|d| d.state(&limits));
                match (step(&limits, state, value).0, current.as_mut()) {
                    (Decision::Normal, _) => {}
                    (Decision::Raise(level), _) => {
                        current = Some(Draft::raise(sensor, &limits, level, (ts, value)));
                    }
                    (decision, Some(draft)) => {
                        if !draft.apply(sensor, &limits, decision, (ts, value)) {
                            drafts.extend(current.take());
                        }
                    }
                    (_, None) => {}
                }
            }
            drafts.extend(current.filter(|d| d.changed));
        }
    }
    drafts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::alarm::severity::{CRITICAL, MAJOR};
    use crate::service::alarm_rules::decide::fixtures::sensor;

    fn samples<'a>(s: &'a sensor::Model, values: &[(i64, f64)]) -> Vec<Sample<'a>> {
        let t0 = Utc::now().trunc_subsecs(0);
        values
            .iter()
            .map(|(sec, v)| Sample {
                sensor: s,
                ts: t0 + chrono::Duration::seconds(*sec),
                value: *v,
            })
            .collect()
    }

    fn actions(d: &Draft) -> Vec<AlarmAction> {
        d.transitions.iter().map(|t| t.action).collect()
    }

    #[test]
    fn a_batch_takes_samples_in_time_order_and_may_close_and_open_alarms() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        // Out of order on purpose: by time it is 95, 101, 80, 93.
        let batch = samples(
            &s,
            &[(3, 80.0), (1, 101.0), (0, 95.0), (4, 93.0), (4, 50.0)],
        );
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        let drafts = plan(&refs, HashMap::new());
        assert_eq!(drafts.len(), 2, "{drafts:?}");
        let (first, second) = (&drafts[0], &drafts[1]);
        assert_eq!(
            actions(first),
            vec![
                AlarmAction::Raised,
                AlarmAction::Updated,
                AlarmAction::Cleared
            ]
        );
        assert!(first.alarm.cleared && first.is_new);
        assert_eq!(first.alarm.severity, CRITICAL);
        assert_eq!(first.alarm.occurrences, 2);
        assert_eq!(first.alarm.threshold, Some(100.0));
        assert_eq!(first.alarm.message, "T7 high: 101 > 100");
        assert_eq!(first.alarm.clear_ts, Some(batch[0].ts));
        assert_eq!(actions(second), vec![AlarmAction::Raised]);
        assert!(!second.alarm.cleared);
        assert_eq!(
            second.alarm.value,
            Some(93.0),
            "the first value of an instant counts"
        );
        assert_eq!(second.alarm.message, "T7 high: 93 > 90");
    }

    #[test]
    fn an_open_alarm_moves_in_place_and_stale_samples_leave_it_alone() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        let batch = samples(&s, &[(-10, 50.0), (1, 95.0), (2, 89.0), (3, 96.0)]);
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        let mut open = Draft::raise(
            &s,
            &Limits::of(&s, Side::High).expect("high"),
            MAJOR,
            (batch[0].ts + chrono::Duration::seconds(5), 93.0),
        )
        .alarm;
        open.id = 41;
        open.acknowledged = true;
        let drafts = plan(&refs, HashMap::from([((s.id, Side::High), open)]));
        assert_eq!(drafts.len(), 1);
        let d = &drafts[0];
        assert!(!d.is_new && d.alarm.id == 41 && !d.alarm.cleared);
        assert_eq!(
            actions(d),
            vec![AlarmAction::Updated],
            "hold, linger, re-entry"
        );
        assert_eq!(d.alarm.occurrences, 2);
        assert_eq!(d.alarm.last_ts, batch[3].ts);
        assert_eq!(d.alarm.value, Some(96.0));
        assert!(d.alarm.acknowledged, "re-entry keeps the acknowledgement");
        assert!(
            !d.transitions[0].moves_counts,
            "no new severity: counts unchanged"
        );
    }

    #[test]
    fn samples_that_change_nothing_leave_no_draft() {
        let s = sensor(None, Some(10.0), Some(90.0), None, None);
        let batch = samples(&s, &[(0, 50.0), (1, f64::NAN), (2, 60.0)]);
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        assert!(plan(&refs, HashMap::new()).is_empty());
    }
}
