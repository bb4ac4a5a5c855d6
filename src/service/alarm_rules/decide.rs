//! The pure decision: what one value does to one side of a sensor, given the side's open
//! alarm. No database, so every rule of the module documentation is a unit test here.

use entity::sensor;

use super::{HIGH, LOW};
use crate::service::alarm::severity;

/// Which thresholds an alarm watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    High,
    Low,
}

impl Side {
    /// Both sides.
    pub const ALL: [Side; 2] = [Side::High, Side::Low];

    /// The alarm type of this side.
    pub fn alarm_type(self) -> &'static str {
        match self {
            Self::High => HIGH,
            Self::Low => LOW,
        }
    }

    pub(super) fn of_type(alarm_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.alarm_type() == alarm_type)
    }

    /// A value as the rules see it: LOW is HIGH on negated values (and back).
    pub(super) fn orient(self, v: f64) -> f64 {
        match self {
            Self::High => v,
            Self::Low => -v,
        }
    }

    pub(super) fn word(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
        }
    }

    pub(super) fn beyond(self) -> &'static str {
        match self {
            Self::High => ">",
            Self::Low => "<",
        }
    }

    pub(super) fn inside(self) -> &'static str {
        match self {
            Self::High => "below",
            Self::Low => "above",
        }
    }
}

/// One side's thresholds, oriented so that the band lies above them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub side: Side,
    /// Beyond this: MAJOR (`hi`, or `lo` negated).
    pub major: Option<f64>,
    /// Beyond this: CRITICAL (`hi_hi`, or `lo_lo` negated).
    pub critical: Option<f64>,
    /// How far back inside a value must come to clear (≥ 0).
    pub deadband: f64,
}

impl Limits {
    /// The limits of one side of a sensor; `None` when that side has no threshold.
    pub fn of(sensor: &sensor::Model, side: Side) -> Option<Self> {
        let (major, critical) = match side {
            Side::High => (sensor.hi, sensor.hi_hi),
            Side::Low => (sensor.lo, sensor.lo_lo),
        };
        let oriented = |t: Option<f64>| t.filter(|v| v.is_finite()).map(|v| side.orient(v));
        let (major, critical) = (oriented(major), oriented(critical));
        if major.is_none() && critical.is_none() {
            return None;
        }
        let deadband = sensor
            .deadband
            .filter(|d| d.is_finite() && *d > 0.0)
            .unwrap_or(0.0);
        Some(Self {
            side,
            major,
            critical,
            deadband,
        })
    }

    /// The severity of an oriented value in the band, `None` outside it.
    pub(super) fn level(&self, v: f64) -> Option<i16> {
        if self.critical.is_some_and(|t| v > t) {
            Some(severity::CRITICAL)
        } else if self.major.is_some_and(|t| v > t) {
            Some(severity::MAJOR)
        } else {
            None
        }
    }

    /// The inner threshold (oriented): the band's edge.
    pub(super) fn edge(&self) -> f64 {
        self.major.or(self.critical).unwrap_or(f64::INFINITY)
    }

    /// Below this oriented value an open alarm clears.
    pub(super) fn clear_below(&self) -> f64 {
        self.edge() - self.deadband
    }

    /// The threshold a level crossed, in the sensor's own terms.
    pub(super) fn threshold(&self, level: i16) -> Option<f64> {
        let t = if level >= severity::CRITICAL {
            self.critical
        } else {
            self.major
        };
        t.or(self.major.or(self.critical))
            .map(|t| self.side.orient(t))
    }
}

/// What the evaluation knows of an open alarm of one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Open {
    pub severity: i16,
    /// Whether the latest value was in the band (not in the deadband).
    pub in_band: bool,
}

/// What one sample does to one side of its sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Outside the band, nothing open: nothing to do.
    Normal,
    /// Into the band, nothing open: a new alarm of this severity.
    Raise(i16),
    /// Back into the band or to a worse level: an occurrence; the severity after it.
    Recur(i16),
    /// Still in the band: `last_ts` and `value` move.
    Hold,
    /// Out of the band but within the deadband: only `value` moves.
    Linger,
    /// Back inside by more than the deadband: the alarm clears.
    Clear,
}

/// The decision for one value given the side's open alarm, and the open alarm after it.
pub fn step(limits: &Limits, open: Option<Open>, value: f64) -> (Decision, Option<Open>) {
    let v = limits.side.orient(value);
    match (open, limits.level(v)) {
        (None, None) => (Decision::Normal, None),
        (None, Some(level)) => (
            Decision::Raise(level),
            Some(Open {
                severity: level,
                in_band: true,
            }),
        ),
        (Some(open), Some(level)) => {
            let severity = open.severity.max(level);
            let decision = if severity > open.severity || !open.in_band {
                Decision::Recur(severity)
            } else {
                Decision::Hold
            };
            (
                decision,
                Some(Open {
                    severity,
                    in_band: true,
                }),
            )
        }
        (Some(_), None) if v < limits.clear_below() => (Decision::Clear, None),
        (Some(open), None) => (
            Decision::Linger,
            Some(Open {
                in_band: false,
                ..open
            }),
        ),
    }
}

#[cfg(test)]
pub(super) mod fixtures {
    use chrono::Utc;
    use entity::sensor;

    /// A sensor with these thresholds.
    pub fn sensor(
        lo_lo: Option<f64>,
        lo: Option<f64>,
        hi: Option<f64>,
        hi_hi: Option<f64>,
        deadband: Option<f64>,
    ) -> sensor::Model {
        sensor::Model {
            id: 7,
            equipment_id: 3,
            workshop_id: 1,
            tag: "T7".into(),
            name: "t".into(),
            metric: entity::enums::SensorMetric::Temperature,
            unit: "degC".into(),
            sample_interval_ms: 1000,
            lo_lo,
            lo,
            hi,
            hi_hi,
            deadband,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::sensor, *};

    /// The decisions of a sequence of values on one side, from nothing open.
    fn decisions(limits: &Limits, values: &[f64]) -> Vec<Decision> {
        let mut open = None;
        values
            .iter()
            .map(|v| {
                let (d, next) = step(limits, open, *v);
                open = next;
                d
            })
            .collect()
    }

    use Decision::*;
    const MAJOR: i16 = severity::MAJOR;
    const CRITICAL: i16 = severity::CRITICAL;

    #[test]
    fn high_raises_holds_escalates_and_clears_past_the_deadband_only() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(
                &high,
                &[80.0, 93.1, 95.0, 101.0, 95.0, 89.0, 91.0, 88.5, 87.9, 91.0]
            ),
            vec![
                Normal,
                Raise(MAJOR),
                Hold,
                Recur(CRITICAL),
                Hold, // back to the MAJOR band: severity stays at its maximum
                Linger,
                Recur(CRITICAL), // re-entry from the deadband is an occurrence
                Linger,
                Clear,        // 87.9 < 90 − 2
                Raise(MAJOR), // a crossing after a clear is a new alarm
            ]
        );
    }

    #[test]
    fn chatter_inside_the_deadband_neither_clears_nor_raises() {
        let s = sensor(None, None, Some(90.0), None, Some(1.0));
        let high = Limits::of(&s, Side::High).expect("high side");
        let values = [91.0, 89.5, 89.2, 89.9, 89.01, 90.0];
        let got = decisions(&high, &values);
        assert_eq!(got[0], Raise(MAJOR));
        assert!(got[1..].iter().all(|d| *d == Linger), "{got:?}");
    }

    #[test]
    fn low_mirrors_high() {
        let s = sensor(Some(0.0), Some(10.0), None, None, Some(0.5));
        assert!(
            Limits::of(&s, Side::High).is_none(),
            "no hi, no hi_hi: the side is off"
        );
        let low = Limits::of(&s, Side::Low).expect("low side");
        assert_eq!(
            decisions(&low, &[12.0, 9.0, -1.0, 10.2, 10.6, 9.9]),
            vec![
                Normal,
                Raise(MAJOR),
                Recur(CRITICAL),
                Linger,
                Clear,
                Raise(MAJOR)
            ]
        );
        assert_eq!(low.threshold(MAJOR), Some(10.0));
        assert_eq!(low.threshold(CRITICAL), Some(0.0));
    }

    #[test]
    fn only_an_outer_threshold_raises_critical_and_clears_against_it() {
        let s = sensor(None, None, None, Some(100.0), None);
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(&high, &[95.0, 100.0, 100.5, 100.0, 99.9]),
            vec![Normal, Normal, Raise(CRITICAL), Linger, Clear]
        );
    }

    #[test]
    fn the_threshold_itself_is_inside_and_without_deadband_only_it_lingers() {
        let s = sensor(None, None, Some(90.0), None, None);
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(&high, &[90.0, 90.1, 90.0, 89.99]),
            vec![Normal, Raise(MAJOR), Linger, Clear]
        );
    }
}
