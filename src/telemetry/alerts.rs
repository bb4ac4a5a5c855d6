//! Alert rules: a metric of the instance's snapshot compared with a threshold; a rule that
//! holds for its `forS` fires — logged, counted, a `SYSTEM` alarm opened through the alarm
//! lifecycle (`service::system_alarm`), and sent to the webhook and by e-mail when those are
//! configured — and clears, closing its alarm, when it has not held for as long.
//!
//! The alarm writes go through one task per instance, in order and retried, so a slow or
//! absent database (the `not_ready` rule) never holds up the collector's tick.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::snapshot::Snapshot;
use crate::{
    db::Db,
    events::EventBus,
    service::system_alarm::{self, Firing},
    state::AppState,
};

/// What a rule watches (names as in `SystemMetrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertMetric {
    CpuPercent,
    LatencyP95Ms,
    ErrorRate,
    DbPingMs,
    CacheHitRatio,
    /// 1 when ready, 0 when not.
    Ready,
    DroppedMessages,
}

impl AlertMetric {
    /// The name rules use (as in `SystemMetrics`).
    pub fn name(self) -> &'static str {
        match self {
            Self::CpuPercent => "cpuPercent",
            Self::LatencyP95Ms => "latencyP95Ms",
            Self::ErrorRate => "errorRate",
            Self::DbPingMs => "dbPingMs",
            Self::CacheHitRatio => "cacheHitRatio",
            Self::Ready => "ready",
            Self::DroppedMessages => "droppedMessages",
        }
    }

    /// The metric's value in `s`; `None` when it is not measured (no cache yet, a failed
    /// ping): a rule on it neither fires nor clears then, except `dbPingMs`, whose failed
    /// ping counts as infinitely slow.
    pub fn value(self, s: &Snapshot) -> Option<f64> {
        match self {
            Self::CpuPercent => Some(s.cpu_percent),
            Self::LatencyP95Ms => Some(s.latency_p95_ms),
            Self::ErrorRate => Some(s.error_rate),
            Self::DbPingMs => Some(s.db_ping_ms.unwrap_or(f64::INFINITY)),
            Self::CacheHitRatio => s.cache_hit_ratio,
            Self::Ready => Some(if s.ready { 1.0 } else { 0.0 }),
            Self::DroppedMessages => Some(s.dropped_messages as f64),
        }
    }
}

/// How a value is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// The operator as rules write it.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Above => ">",
            Self::AtLeast => ">=",
            Self::Below => "<",
            Self::AtMost => "<=",
        }
    }

    /// Whether `value` breaches `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value > threshold,
            Self::AtLeast => value >= threshold,
            Self::Below => value < threshold,
            Self::AtMost => value <= threshold,
        }
    }
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name: the alarm's message names it, the webhook body carries it.
    pub name: String,
    pub metric: AlertMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    /// Seconds the condition must hold to fire (and be false to clear).
    pub for_s: f64,
    /// Alarm severity 1 (indeterminate) to 5 (critical).
    pub severity: i16,
}

pub(crate) fn rule(
    name: &str,
    metric: AlertMetric,
    comparison: Comparison,
    threshold: f64,
    for_s: f64,
    severity: i16,
) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        metric,
        comparison,
        threshold,
        for_s,
        severity,
    }
}

/// The rules used when `SF_ALERT_RULES` is not set.
pub fn default_rules() -> Vec<AlertRule> {
    use AlertMetric as M;
    use Comparison as C;
    vec![
        rule("cpu_high", M::CpuPercent, C::Above, 90.0, 300.0, 3),
        rule(
            "latency_p95_high",
            M::LatencyP95Ms,
            C::Above,
            500.0,
            60.0,
            4,
        ),
        rule("error_rate_high", M::ErrorRate, C::Above, 0.05, 60.0, 4),
        rule("db_ping_slow", M::DbPingMs, C::Above, 100.0, 60.0, 3),
        rule(
            "cache_hit_ratio_low",
            M::CacheHitRatio,
            C::Below,
            0.5,
            300.0,
            2,
        ),
        rule("not_ready", M::Ready, C::Below, 1.0, 30.0, 5),
        rule(
            "dropped_messages",
            M::DroppedMessages,
            C::Above,
            0.0,
            60.0,
            3,
        ),
    ]
}

/// Parses `SF_ALERT_RULES`: a JSON array of rules, which replaces the defaults (`[]` turns
/// alerting off).
pub fn parse_rules(raw: &str) -> Result<Vec<AlertRule>, String> {
    let rules: Vec<AlertRule> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    if rules.len() > 100 {
        return Err("at most 100 rules".into());
    }
    for (i, r) in rules.iter().enumerate() {
        if r.name.is_empty()
            || r.name.len() > 64
            || !r
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "rule {i}: `name` must be 1 to 64 letters, digits or `_`"
            ));
        }
        if rules[..i].iter().any(|o| o.name == r.name) {
            return Err(format!("rule {i}: the name `{}` is used twice", r.name));
        }
        if !r.threshold.is_finite() {
            return Err(format!("rule `{}`: `threshold` must be a number", r.name));
        }
        if !(0.0..=86_400.0).contains(&r.for_s) {
            return Err(format!("rule `{}`: `forS` must be 0 to 86400", r.name));
        }
        if !(1..=5).contains(&r.severity) {
            return Err(format!("rule `{}`: `severity` must be 1 to 5", r.name));
        }
    }
    Ok(rules)
}

/// A rule's state between ticks.
#[derive(Clone, Debug, Default)]
struct RuleState {
    firing: bool,
    /// Since when the condition has held (not firing) or has not held (firing).
    since: Option<DateTime<Utc>>,
}

/// The rules' state on one instance.
pub struct Engine {
    rules: Vec<(AlertRule, RuleState)>,
    notifier: Option<Arc<super::webhook::Notifier>>,
    mailer: Option<Arc<super::email::Mailer>>,
    /// The alarm writer's queue (`None` in the pure tests).
    alarms: Option<mpsc::Sender<AlarmWork>>,
    /// When the open alarms of vanished instances were last looked for.
    last_sweep: Option<DateTime<Utc>>,
}

/// How often an instance looks for open `SYSTEM` alarms of instances that stopped reporting.
const SWEEP_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// An alarm younger than this is never an orphan: its instance may not have been heard yet.
const ORPHAN_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Alarm writes waiting for the database; more are dropped (and logged).
const ALARM_QUEUE: usize = 256;
/// Tries of one alarm write, with doubling pauses from [`ALARM_RETRY`].
const ALARM_TRIES: u32 = 6;
const ALARM_RETRY: Duration = Duration::from_millis(500);

/// One write of the alarm task.
#[derive(Debug)]
enum AlarmWork {
    Raise(Firing),
    Clear {
        rule: String,
        instance: String,
        note: String,
    },
    /// Clear the open alarms of instances other than these.
    Orphans {
        live: Vec<String>,
    },
}

/// The task that applies alarm writes in order, each retried while the database fails.
fn alarm_writer(db: Db, events: Arc<EventBus>) -> mpsc::Sender<AlarmWork> {
    let (tx, mut rx) = mpsc::channel::<AlarmWork>(ALARM_QUEUE);
    tokio::spawn(async move {
        while let Some(work) = rx.recv().await {
            let mut pause = ALARM_RETRY;
            for attempt in 1..=ALARM_TRIES {
                match apply(&db, &events, &work).await {
                    Ok(()) => break,
                    Err(err) if attempt == ALARM_TRIES => {
                        tracing::error!(error = ?err, ?work, "a SYSTEM alarm write failed; given up");
                    }
                    Err(err) => {
                        tracing::warn!(error = ?err, attempt, "a SYSTEM alarm write failed; retrying");
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                }
            }
        }
    });
    tx
}

async fn apply(db: &Db, events: &EventBus, work: &AlarmWork) -> crate::error::AppResult<()> {
    match work {
        AlarmWork::Raise(firing) => {
            system_alarm::raise(&db.write, events, firing).await?;
        }
        AlarmWork::Clear {
            rule,
            instance,
            note,
        } => {
            system_alarm::clear(&db.write, events, rule, instance, note).await?;
        }
        AlarmWork::Orphans { live } => {
            let live: Vec<&str> = live.iter().map(String::as_str).collect();
            let n =
                system_alarm::clear_orphans(&db.write, events, &live, Utc::now() - ORPHAN_AFTER)
                    .await?;
            if n > 0 {
                tracing::info!(
                    cleared = n,
                    "SYSTEM alarms of instances that stopped reporting cleared"
                );
            }
        }
    }
    Ok(())
}

impl Transition {
    /// The alarm text: rule, metric, value, comparison, threshold, duration and instance.
    pub fn message(&self) -> String {
        let r = &self.rule;
        format!(
            "{}: {} {} {} {} for {} s on {}",
            r.name,
            r.metric.name(),
            round(self.value),
            if self.state == FIRING {
                r.comparison.symbol()
            } else {
                "back from"
            },
            round(r.threshold),
            r.for_s,
            self.instance
        )
    }

    fn firing(&self) -> Firing {
        Firing {
            rule: self.rule.name.clone(),
            instance: self.instance.clone(),
            severity: self.rule.severity,
            message: self.message(),
            value: self.value,
            threshold: self.rule.threshold,
            details: serde_json::json!({
                "rule": self.rule.name,
                "metric": self.rule.metric.name(),
                "comparison": self.rule.comparison.symbol(),
                "threshold": self.rule.threshold,
                "forS": self.rule.for_s,
                "instance": self.instance,
                "value": self.value.is_finite().then_some(self.value),
            }),
        }
    }
}

/// `v` with at most three decimals, for messages.
fn round(v: f64) -> f64 {
    (v * 1_000.0).round() / 1_000.0
}

/// A rule that changed state on a tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// `firing` or `cleared`.
    pub state: &'static str,
    pub rule: AlertRule,
    /// The metric's value at the tick.
    pub value: f64,
    pub instance: String,
    pub at: DateTime<Utc>,
}

impl Engine {
    /// The engine of `state`'s configured rules (and webhook, when one is configured).
    pub fn new(state: &AppState) -> Self {
        let config = &state.config.metrics;
        Self {
            rules: config
                .rules
                .iter()
                .map(|r| (r.clone(), RuleState::default()))
                .collect(),
            notifier: super::webhook::Notifier::new(config, state.metrics.clone()).map(Arc::new),
            mailer: super::email::Mailer::new(config, state.metrics.clone()).map(Arc::new),
            alarms: (!config.rules.is_empty())
                .then(|| alarm_writer(state.db.clone(), state.events.clone())),
            last_sweep: None,
        }
    }

    fn queue(&self, work: AlarmWork) {
        if let Some(tx) = &self.alarms
            && let Err(err) = tx.try_send(work)
        {
            tracing::error!(error = %err, "the SYSTEM alarm queue is full; a write is lost");
        }
    }

    /// Evaluates every rule on `snapshot`; a rule that fires or clears is logged, counted in
    /// `sf_alerts_firing`, opens or clears its `SYSTEM` alarm and is sent to the webhook and
    /// by e-mail. Every [`SWEEP_EVERY`] it also clears the alarms of vanished instances.
    pub async fn evaluate(&mut self, state: &AppState, snapshot: &Snapshot) {
        if self.alarms.is_some()
            && self
                .last_sweep
                .is_none_or(|last| snapshot.at - last >= SWEEP_EVERY)
        {
            self.last_sweep = Some(snapshot.at);
            let live = state
                .monitor
                .cluster()
                .instances
                .iter()
                .map(|s| s.instance.clone())
                .collect();
            self.queue(AlarmWork::Orphans { live });
        }
        for transition in self.step(snapshot) {
            if transition.state == FIRING {
                state.metrics.system.alerts_firing.inc();
                tracing::warn!(rule = %transition.rule.name, value = transition.value, "alert firing");
                self.queue(AlarmWork::Raise(transition.firing()));
            } else {
                state.metrics.system.alerts_firing.dec();
                tracing::info!(rule = %transition.rule.name, value = transition.value, "alert cleared");
                self.queue(AlarmWork::Clear {
                    rule: transition.rule.name.clone(),
                    instance: transition.instance.clone(),
                    note: transition.message(),
                });
            }
            if let Some(notifier) = &self.notifier {
                notifier.send(&transition);
            }
            if let Some(mailer) = &self.mailer {
                mailer.send(&transition);
            }
        }
    }

    /// The transitions `snapshot` causes (pure: the tests drive it tick by tick).
    pub fn step(&mut self, snapshot: &Snapshot) -> Vec<Transition> {
        let at = snapshot.at;
        let mut out = Vec::new();
        for (rule, st) in &mut self.rules {
            // Not measured (no cache yet): the rule keeps its state.
            let Some(value) = rule.metric.value(snapshot) else {
                continue;
            };
            let holds = rule.comparison.holds(value, rule.threshold);
            // Firing waits for the condition to hold; clearing for it not to.
            if holds == st.firing {
                st.since = None;
                continue;
            }
            let since = *st.since.get_or_insert(at);
            let lasted = (at - since).num_milliseconds() as f64 / 1_000.0;
            if lasted >= rule.for_s {
                st.firing = !st.firing;
                st.since = None;
                out.push(Transition {
                    state: if st.firing { FIRING } else { CLEARED },
                    rule: rule.clone(),
                    value,
                    instance: snapshot.instance.clone(),
                    at,
                });
            }
        }
        out
    }
}

/// The transition states.
pub const FIRING: &str = "firing";
pub const CLEARED: &str = "cleared";

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(rules: Vec<AlertRule>) -> Engine {
        Engine {
            rules: rules
                .into_iter()
                .map(|r| (r, RuleState::default()))
                .collect(),
            notifier: None,
            mailer: None,
            alarms: None,
            last_sweep: None,
        }
    }

    fn at(p95: f64, s: i64) -> Snapshot {
        Snapshot {
            latency_p95_ms: p95,
            at: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s),
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_rule_fires_after_holding_for_its_duration_and_clears_the_same_way() {
        let r = rule(
            "slow",
            AlertMetric::LatencyP95Ms,
            Comparison::Above,
            100.0,
            60.0,
            4,
        );
        let mut e = engine(vec![r]);
        assert!(e.step(&at(500.0, 0)).is_empty());
        assert!(e.step(&at(500.0, 30)).is_empty());
        // A dip restarts the count.
        assert!(e.step(&at(50.0, 40)).is_empty());
        assert!(e.step(&at(500.0, 50)).is_empty());
        assert!(e.step(&at(500.0, 100)).is_empty());
        let fired = e.step(&at(500.0, 110));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].state, FIRING);
        assert!(e.step(&at(500.0, 120)).is_empty(), "fires once");
        assert!(e.step(&at(50.0, 130)).is_empty());
        let cleared = e.step(&at(50.0, 190));
        assert_eq!(cleared.len(), 1);
        assert_eq!(cleared[0].state, CLEARED);
    }

    #[test]
    fn rules_parse_from_json_and_bad_ones_are_refused() {
        let ok = r#"[{"name":"p95","metric":"latencyP95Ms","comparison":">","threshold":250,"forS":30,"severity":4}]"#;
        let rules = parse_rules(ok).expect("parses");
        assert_eq!(rules[0].comparison, Comparison::Above);
        assert!(parse_rules("[]").expect("empty").is_empty());
        for bad in [
            "not json",
            r#"[{"name":"x","metric":"nope","comparison":">","threshold":1,"forS":1,"severity":1}]"#,
            r#"[{"name":"x","metric":"errorRate","comparison":">","threshold":1,"forS":1,"severity":9}]"#,
            r#"[{"name":"x","metric":"errorRate","comparison":"~","threshold":1,"forS":1,"severity":1}]"#,
        ] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
        assert_eq!(default_rules().len(), 7);
    }
}
