//! Live and historical system metrics (admins only): the monitor's latest snapshots and the
//! `metric_snapshots` history, thinned to one point per instance and step.

use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, Utc};
use entity::{enums::Role, metric_snapshot};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    telemetry::{
        monitor::{ClusterView, Monitor},
        snapshot::{CLUSTER, Snapshot},
    },
};

/// Longest history range of one call.
pub const MAX_HISTORY_DAYS: i64 = 7;
/// Smallest and largest history step, in seconds (rows are written once a minute).
pub const MIN_STEP_S: i32 = 60;
pub const MAX_STEP_S: i32 = 86_400;
/// Most history points one call returns (over every instance).
pub const MAX_POINTS: usize = 20_000;
/// Rows one call reads at most before thinning (a week of minutes for ~5 instances).
const MAX_ROWS: u64 = 60_000;
/// Smallest and largest subscription interval, in milliseconds.
pub const MIN_INTERVAL_MS: i32 = 500;
pub const MAX_INTERVAL_MS: i32 = 3_600_000;

/// What `systemMetrics` answers: one snapshot, with each instance's for the cluster.
#[derive(Clone, Debug)]
pub struct Current {
    pub snapshot: Arc<Snapshot>,
    /// Each instance's latest (the cluster view only).
    pub instances: Vec<Arc<Snapshot>>,
}

impl From<Arc<ClusterView>> for Current {
    fn from(view: Arc<ClusterView>) -> Self {
        Self {
            snapshot: view.aggregate.clone(),
            instances: view.instances.clone(),
        }
    }
}

/// The latest snapshot of `instance` (`None` or `"cluster"`: the cluster view). Unknown
/// instances (or ones not heard from for three intervals) are `NOT_FOUND`.
pub fn current(monitor: &Monitor, caller: &Caller, instance: Option<&str>) -> AppResult<Current> {
    caller.require(Role::Admin)?;
    match instance {
        None | Some(CLUSTER) => Ok(monitor.cluster().into()),
        Some(name) => monitor
            .instance_snapshot(name)
            .map(|snapshot| Current {
                snapshot,
                instances: Vec::new(),
            })
            .ok_or_else(|| AppError::not_found("instance", name)),
    }
}

/// Checks a `systemMetrics` subscription: admins only, interval within bounds.
pub fn check_subscription(caller: &Caller, interval_ms: i32) -> AppResult<std::time::Duration> {
    caller.require(Role::Admin)?;
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&interval_ms) {
        return Err(AppError::invalid(
            "intervalMs",
            format!("`intervalMs` must be {MIN_INTERVAL_MS} to {MAX_INTERVAL_MS}"),
        ));
    }
    Ok(std::time::Duration::from_millis(
        u64::try_from(interval_ms).unwrap_or(5_000),
    ))
}

/// One history point.
#[derive(Clone, Debug)]
pub struct Point {
    pub instance: String,
    pub at: DateTime<Utc>,
    pub snapshot: Snapshot,
}

/// Stored snapshots in `[from, to)`, oldest first: the first row of each instance in each
/// `step_s` bucket. Range at most 7 days, `to > from`, step 60 s to a day.
pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    instance: Option<&str>,
    step_s: i32,
) -> AppResult<Vec<Point>> {
    caller.require(Role::Admin)?;
    super::telemetry::check_range(from, to, MAX_HISTORY_DAYS)?;
    if !(MIN_STEP_S..=MAX_STEP_S).contains(&step_s) {
        return Err(AppError::invalid(
            "stepS",
            format!("`stepS` must be {MIN_STEP_S} to {MAX_STEP_S}"),
        ));
    }
    if let Some(name) = instance
        && (name.is_empty() || name.len() > 200)
    {
        return Err(AppError::invalid(
            "instance",
            "`instance` must be 1 to 200 characters",
        ));
    }
    let mut query = metric_snapshot::Entity::find()
        .filter(metric_snapshot::Column::Ts.gte(from))
        .filter(metric_snapshot::Column::Ts.lt(to));
    if let Some(name) = instance {
        query = query.filter(metric_snapshot::Column::InstanceId.eq(name));
    }
    let rows = query
        .order_by_asc(metric_snapshot::Column::Ts)
        .order_by_asc(metric_snapshot::Column::Id)
        .limit(MAX_ROWS)
        .all(db)
        .await?;
    let step = i64::from(step_s);
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    let mut points = Vec::new();
    for row in rows {
        let bucket = row.ts.timestamp().div_euclid(step);
        if !seen.insert((row.instance_id.clone(), bucket)) {
            continue;
        }
        // A row written by another version may not decode: it is skipped, not fatal.
        let Ok(mut snapshot) = serde_json::from_value::<Snapshot>(row.data) else {
            continue;
        };
        snapshot.instance.clone_from(&row.instance_id);
        points.push(Point {
            instance: row.instance_id,
            at: row.ts,
            snapshot,
        });
        if points.len() >= MAX_POINTS {
            break;
        }
    }
    Ok(points)
}
