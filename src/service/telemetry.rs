//! Readings: latest values, raw ranges, bucketed series, and the batched write path.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use entity::{equipment, sensor, sensor_latest, sensor_reading};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
    sea_query::{ExprTrait, OnConflict, Query},
};

use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    events::{Event, EventBus, Reading},
    service::audit::Audit,
};

/// Which sensors a latest-values query is about: exactly one selector.
#[derive(Clone, Debug)]
pub enum SensorSelector {
    Ids(Vec<i64>),
    Equipment(i64),
    Line(i64),
}

/// Most sensors one selector may name.
pub const MAX_SENSORS_PER_QUERY: usize = 1_000;

/// Latest value of each selected sensor the caller may see, by sensor id.
pub async fn latest(
    db: &DatabaseConnection,
    caller: &Caller,
    selector: &SensorSelector,
) -> AppResult<Vec<sensor_latest::Model>> {
    let mut sensors = Query::select()
        .column(sensor::Column::Id)
        .from(sensor::Entity)
        .cond_where(caller.scope.condition(sensor::Column::WorkshopId))
        .to_owned();
    match selector {
        SensorSelector::Ids(ids) => {
            if ids.len() > MAX_SENSORS_PER_QUERY {
                return Err(AppError::invalid(
                    "sensorIds",
                    format!("at most {MAX_SENSORS_PER_QUERY} sensors per query"),
                ));
            }
            sensors.and_where(sensor::Column::Id.is_in(ids.iter().copied()));
        }
        SensorSelector::Equipment(id) => {
            sensors.and_where(sensor::Column::EquipmentId.eq(*id));
        }
        SensorSelector::Line(id) => {
            sensors.and_where(
                sensor::Column::EquipmentId.in_subquery(
                    Query::select()
                        .column(equipment::Column::Id)
                        .from(equipment::Entity)
                        .and_where(equipment::Column::LineId.eq(*id))
                        .to_owned(),
                ),
            );
        }
    }
    Ok(sensor_latest::Entity::find()
        .filter(sensor_latest::Column::SensorId.in_subquery(sensors))
        .order_by_asc(sensor_latest::Column::SensorId)
        .all(db)
        .await?)
}

/// Latest values by sensor id (for the loader); no scope check: callers pass visible ids.
pub async fn latest_by_sensor_ids(
    db: &DatabaseConnection,
    ids: &[i64],
) -> AppResult<HashMap<i64, sensor_latest::Model>> {
    let rows = sensor_latest::Entity::find()
        .filter(sensor_latest::Column::SensorId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.sensor_id, r)).collect())
}

/// Checks a time range: `from < to`, both within ±100 years of now, at most `max_days` long.
pub fn check_range(from: DateTime<Utc>, to: DateTime<Utc>, max_days: i64) -> AppResult<()> {
    if from >= to {
        return Err(AppError::invalid("from", "`from` must be before `to`"));
    }
    let now = Utc::now();
    let century = chrono::Duration::days(36_525);
    if from < now - century || to > now + century {
        return Err(AppError::invalid(
            "to",
            "the range must lie within 100 years of now",
        ));
    }
    if to - from > chrono::Duration::days(max_days) {
        return Err(AppError::invalid(
            "to",
            format!("the range must be at most {max_days} days long"),
        ));
    }
    Ok(())
}

/// Raw readings of one sensor in `[from, to)`, oldest first, at most `limit`.
pub async fn readings(
    db: &DatabaseConnection,
    caller: &Caller,
    sensor_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<sensor_reading::Model>> {
    check_range(from, to, 366)?;
    super::sensor::get(db, caller, sensor_id).await?;
    Ok(sensor_reading::Entity::find()
        .filter(sensor_reading::Column::SensorId.eq(sensor_id))
        .filter(sensor_reading::Column::Ts.gte(from))
        .filter(sensor_reading::Column::Ts.lt(to))
        .order_by_asc(sensor_reading::Column::Ts)
        .limit(limit)
        .all(db)
        .await?)
}

/// Aggregates a series may carry.
#[derive(Clone, Copy, Debug, Default)]
pub struct Aggregates {
    pub avg: bool,
    pub min: bool,
    pub max: bool,
    pub last: bool,
    pub sum: bool,
    pub count: bool,
}

/// One bucket of one sensor's series.
#[derive(Clone, Debug, FromQueryResult)]
pub struct BucketRow {
    pub sensor_id: i64,
    /// Bucket number: start time = bucket × bucket seconds since the epoch.
    pub bucket: i64,
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: Option<f64>,
    pub count: i64,
    pub last: Option<f64>,
}

/// A series request after validation.
#[derive(Clone, Debug)]
pub struct SeriesRequest {
    pub sensor_ids: Vec<i64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Explicit bucket width in seconds; otherwise derived from `max_points`.
    pub bucket_s: Option<i64>,
    pub max_points: u32,
    pub aggregates: Aggregates,
}

/// The buckets of every requested sensor, with the bucket width used.
pub struct Series {
    pub bucket_s: i64,
    pub rows: Vec<BucketRow>,
    /// What the range read (its newest minutes may come from finer sources).
    pub source: SeriesSource,
}

/// Most sensors in one series request.
pub const MAX_SERIES_SENSORS: usize = 100;

/// Where a series is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesSource {
    Raw,
    Rollup1m,
    Rollup1h,
}

impl SeriesSource {
    /// The source's own resolution in seconds (raw: one).
    fn width(self) -> i64 {
        match self {
            Self::Raw => 1,
            Self::Rollup1m => 60,
            Self::Rollup1h => 3_600,
        }
    }
}

/// Which ranges read which source (`SF_SERIES_RAW_MAX_H`, `SF_SERIES_1M_MAX_D`).
#[derive(Clone, Copy, Debug)]
pub struct SeriesSources {
    pub raw_max: chrono::Duration,
    pub one_minute_max: chrono::Duration,
}

impl SeriesSources {
    /// The source a range of `span` reads by its length.
    fn wanted(&self, span: chrono::Duration) -> SeriesSource {
        if span <= self.raw_max {
            SeriesSource::Raw
        } else if span <= self.one_minute_max {
            SeriesSource::Rollup1m
        } else {
            SeriesSource::Rollup1h
        }
    }

    /// The coarsest source the range asks for whose resolution divides `bucket_s`.
    fn choose(&self, span: chrono::Duration, bucket_s: i64) -> SeriesSource {
        let wanted = self.wanted(span);
        [wanted, SeriesSource::Rollup1m, SeriesSource::Raw]
            .into_iter()
            .find(|s| s.width() <= wanted.width() && bucket_s % s.width() == 0)
            .unwrap_or(SeriesSource::Raw)
    }
}

/// Buckets a series in the database. Short ranges read raw readings (one grouped statement
/// for all sensors); longer ones read the 1-minute or 1-hour rollups up to their watermark and
/// the finer sources after it (rollups run every minute and hour), so the newest minutes are
/// never missing. Rollup buckets are whole: a range that starts inside one starts at the next.
pub async fn series(
    db: &DatabaseConnection,
    caller: &Caller,
    request: &SeriesRequest,
    max_points: u32,
    sources: &SeriesSources,
) -> AppResult<Series> {
    if request.sensor_ids.is_empty() || request.sensor_ids.len() > MAX_SERIES_SENSORS {
        return Err(AppError::invalid(
            "sensorIds",
            format!("give 1 to {MAX_SERIES_SENSORS} sensors"),
        ));
    }
    check_range(request.from, request.to, 366)?;
    if request.max_points == 0 || request.max_points > max_points {
        return Err(AppError::invalid(
            "maxPoints",
            format!("`maxPoints` must be between 1 and {max_points}"),
        ));
    }
    let span_s = Ord::max((request.to - request.from).num_seconds(), 1);
    let bucket_s = match request.bucket_s {
        Some(b) if b < 1 => {
            return Err(AppError::invalid(
                "bucketSeconds",
                "`bucketSeconds` must be at least 1",
            ));
        }
        Some(b) if span_s / b > i64::from(max_points) => {
            return Err(AppError::invalid(
                "bucketSeconds",
                format!("the range holds more than {max_points} buckets of this width"),
            ));
        }
        Some(b) => b,
        None => derive_width(request.from, request.to, span_s, request.max_points),
    };
    let visible = super::sensor::by_ids(db, caller, &request.sensor_ids).await?;
    if let Some(missing) = request
        .sensor_ids
        .iter()
        .find(|id| !visible.contains_key(id))
    {
        return Err(AppError::not_found("sensor", missing));
    }
    let span = request.to - request.from;
    // A derived width is rounded up to what a rollup can answer for long ranges (fewer
    // points, never more).
    let bucket_s = match request.bucket_s {
        Some(_) => bucket_s,
        None => {
            let w = sources.wanted(span).width();
            (bucket_s + w - 1) / w * w
        }
    };
    let source = sources.choose(span, bucket_s);
    let backend = db.get_database_backend();
    if source == SeriesSource::Raw {
        let statement = series_statement(backend, request, bucket_s);
        let rows = BucketRow::find_by_statement(statement).all(db).await?;
        return Ok(Series {
            bucket_s,
            rows,
            source,
        });
    }
    // Parts in time order: the hour rollup to its watermark, the minute rollup to its own,
    // raw readings after that.
    use crate::maintenance::rollup::{Level, watermark};
    let minutes_to = watermark(db, Level::Minute).await?;
    let hours_to = if source == SeriesSource::Rollup1h {
        watermark(db, Level::Hour).await?
    } else {
        None
    };
    let clamp =
        |t: Option<DateTime<Utc>>| Ord::clamp(t.unwrap_or(request.from), request.from, request.to);
    let hours_end = clamp(hours_to);
    let minutes_end = Ord::max(clamp(minutes_to), hours_end);
    let mut parts = Vec::new();
    if hours_end > request.from {
        parts.push(rollup_statement(
            backend,
            "readings_1h",
            request,
            request.from,
            hours_end,
            bucket_s,
        ));
    }
    if minutes_end > hours_end {
        parts.push(rollup_statement(
            backend,
            "readings_1m",
            request,
            hours_end,
            minutes_end,
            bucket_s,
        ));
    }
    if request.to > minutes_end {
        let tail = SeriesRequest {
            from: minutes_end,
            ..request.clone()
        };
        parts.push(series_statement(backend, &tail, bucket_s));
    }
    let mut merged: std::collections::BTreeMap<(i64, i64), BucketRow> = Default::default();
    for statement in parts {
        for row in BucketRow::find_by_statement(statement).all(db).await? {
            match merged.entry((row.sensor_id, row.bucket)) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(row);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().absorb(&row),
            }
        }
    }
    Ok(Series {
        bucket_s,
        rows: merged.into_values().collect(),
        // What the range was meant to read; its newest part may have come from finer ones.
        source: if minutes_to.is_none() && hours_to.is_none() {
            SeriesSource::Raw
        } else {
            source
        },
    })
}

impl BucketRow {
    /// Adds a later part of the same bucket (the minutes after an hour rollup's watermark).
    fn absorb(&mut self, later: &BucketRow) {
        let pick = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        self.min = pick(self.min, later.min, f64::min);
        self.max = pick(self.max, later.max, f64::max);
        self.sum = pick(self.sum, later.sum, |a, b| a + b);
        self.count += later.count;
        self.avg = match (self.sum, self.count) {
            (Some(sum), n) if n > 0 => Some(sum / n as f64),
            _ => self.avg,
        };
        self.last = later.last.or(self.last);
    }
}

/// Buckets of `table` (a rollup) whose start is in `[from, to)`, regrouped to `bucket_s`
/// (a multiple of the rollup's width).
fn rollup_statement(
    backend: DatabaseBackend,
    table: &'static str,
    request: &SeriesRequest,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket_s: i64,
) -> Statement {
    let mut values: Vec<Value> = Vec::with_capacity(request.sensor_ids.len() + 2);
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        match backend {
            DatabaseBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    let ids: Vec<String> = request
        .sensor_ids
        .iter()
        .map(|id| param((*id).into(), &mut values))
        .collect();
    let from = param(from.into(), &mut values);
    let to = param(to.into(), &mut values);
    let filter = format!(
        "sensor_id IN ({}) AND bucket >= {from} AND bucket < {to}",
        ids.join(", ")
    );
    // `table` is one of two constants; the width is an integer computed here.
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "SELECT sensor_id, floor(date_part('epoch', bucket) / {bucket_s})::bigint AS bucket, \
             sum(avg * count) / sum(count) AS avg, min(min) AS min, max(max) AS max, \
             sum(avg * count) AS sum, sum(count)::bigint AS count, \
             (array_agg(last ORDER BY bucket DESC))[1] AS last \
             FROM {table} WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        _ => format!(
            "SELECT sensor_id, b AS bucket, sum(avg * count) / sum(count) AS avg, \
             min(min) AS min, max(max) AS max, sum(avg * count) AS sum, sum(count) AS count, \
             max(CASE WHEN rn = 1 THEN last END) AS last \
             FROM (SELECT sensor_id, CAST(strftime('%s', bucket) AS INTEGER) / {bucket_s} AS b, \
             avg, min, max, last, count, row_number() OVER (PARTITION BY sensor_id, \
             CAST(strftime('%s', bucket) AS INTEGER) / {bucket_s} ORDER BY bucket DESC) AS rn \
             FROM {table} WHERE {filter}) t GROUP BY sensor_id, b ORDER BY 1, 2"
        ),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// How many epoch-aligned buckets of `width` seconds the range `[from, to)` touches.
fn buckets_touched(from: DateTime<Utc>, to: DateTime<Utc>, width: i64) -> i64 {
    // The newest instant of the range lies in the second before `to` when `to` is whole.
    let last = if to.timestamp_subsec_nanos() == 0 {
        to.timestamp() - 1
    } else {
        to.timestamp()
    };
    last.div_euclid(width) - from.timestamp().div_euclid(width) + 1
}

/// A width whose epoch-aligned buckets over `[from, to)` number at most `points`, as the API
/// promises. `span / points` (rounded up) touches one bucket too many when the range does not
/// start on a bucket boundary; `span / (points - 1)` fits whole-second ranges; anything else
/// (one point, fractional ends) doubles the width until it fits.
fn derive_width(from: DateTime<Utc>, to: DateTime<Utc>, span_s: i64, points: u32) -> i64 {
    let points = i64::from(Ord::max(points, 1));
    let mut width = Ord::max((span_s + points - 1) / points, 1);
    if buckets_touched(from, to, width) > points && points > 1 {
        width = (span_s + points - 2) / (points - 1);
    }
    // Bounded: past the range's distance from the epoch every instant shares one bucket.
    for _ in 0..64 {
        if buckets_touched(from, to, width) <= points {
            break;
        }
        width = width.saturating_mul(2);
    }
    width
}

fn series_statement(backend: DatabaseBackend, request: &SeriesRequest, bucket_s: i64) -> Statement {
    let mut values: Vec<Value> = Vec::with_capacity(request.sensor_ids.len() + 2);
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        match backend {
            DatabaseBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    // The width is an integer computed here, not client text, and appears twice in the LAST
    // variant: inlined rather than bound, so positional `?` parameters stay aligned.
    let bucket_expr = match backend {
        DatabaseBackend::Postgres => {
            // date_part returns a double; extract() returns numeric, which is ~30 % slower here.
            format!("floor(date_part('epoch', ts) / {bucket_s})::bigint")
        }
        _ => format!("(CAST(strftime('%s', ts) AS INTEGER) / {bucket_s})"),
    };
    let ids: Vec<String> = request
        .sensor_ids
        .iter()
        .map(|id| param((*id).into(), &mut values))
        .collect();
    let from = param(request.from.into(), &mut values);
    let to = param(request.to.into(), &mut values);
    let filter = format!(
        "sensor_id IN ({}) AND ts >= {from} AND ts < {to}",
        ids.join(", ")
    );
    // LAST needs the newest row per bucket: a window over the range, only when asked for.
    let sql = if request.aggregates.last {
        format!(
            "SELECT sensor_id, b AS bucket, avg(value) AS avg, min(value) AS min, \
             max(value) AS max, sum(value) AS sum, count(*) AS count, \
             max(CASE WHEN rn = 1 THEN value END) AS last \
             FROM (SELECT sensor_id, {bucket_expr} AS b, value, row_number() OVER \
             (PARTITION BY sensor_id, {bucket_expr} ORDER BY ts DESC) AS rn \
             FROM sensor_readings WHERE {filter}) t \
             GROUP BY sensor_id, b ORDER BY sensor_id, b"
        )
    } else {
        format!(
            "SELECT sensor_id, {bucket_expr} AS bucket, avg(value) AS avg, min(value) AS min, \
             max(value) AS max, sum(value) AS sum, count(*) AS count, \
             CAST(NULL AS DOUBLE PRECISION) AS last \
             FROM sensor_readings WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
        )
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The start time of bucket number `bucket`.
pub fn bucket_start(bucket: i64, bucket_s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(bucket.saturating_mul(bucket_s), 0)
        .single()
        .unwrap_or_default()
}

/// A reading to store.
#[derive(Clone, Copy, Debug)]
pub struct NewReading {
    pub sensor_id: i64,
    pub ts: DateTime<Utc>,
    pub value: f64,
    pub quality: i16,
}

impl NewReading {
    /// The reading as the bus carries it, with what subscribers filter on (to the
    /// microsecond, as the wire and PostgreSQL keep it, so every instance sees the same).
    pub fn event(&self, sensor: &PlacedSensor) -> Reading {
        use chrono::SubsecRound as _;
        Reading {
            sensor_id: self.sensor_id,
            equipment_id: sensor.sensor.equipment_id,
            workshop_id: sensor.sensor.workshop_id,
            ts: self.ts.trunc_subsecs(6),
            value: self.value,
            quality: self.quality,
            line_id: sensor.line_id,
        }
    }
}

/// A sensor with the line of its machine: what the write path checks and evaluates, and the
/// place its readings are published with.
#[derive(Clone, Debug)]
pub struct PlacedSensor {
    pub sensor: sensor::Model,
    pub line_id: i64,
}

impl FromQueryResult for PlacedSensor {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            sensor: sensor::Model::from_query_result(row, pre)?,
            line_id: row.try_get(pre, "line_id")?,
        })
    }
}

/// The sensors matching `condition`, each with its machine's line: one statement (the line
/// comes from a join, so placing the readings costs the write path nothing more).
pub async fn placed_sensors(
    conn: &impl ConnectionTrait,
    condition: sea_orm::Condition,
) -> AppResult<Vec<PlacedSensor>> {
    use sea_orm::{JoinType, RelationTrait as _};
    Ok(sensor::Entity::find()
        .filter(condition)
        .join(JoinType::InnerJoin, sensor::Relation::Equipment.def())
        .column_as(equipment::Column::LineId, "line_id")
        .into_model::<PlacedSensor>()
        .all(conn)
        .await?)
}

/// Rows per multi-row INSERT: 4 parameters each, well under every engine's limit.
const WRITE_CHUNK: usize = 1_000;

/// Stores readings (idempotent on `(sensor_id, ts)`) and moves each sensor's latest value
/// forward, never back, all in one transaction. Returns how many rows were new.
pub async fn write_readings(db: &DatabaseConnection, readings: &[NewReading]) -> AppResult<u64> {
    if readings.is_empty() {
        return Ok(0);
    }
    let txn = super::begin_write(db).await?;
    let mut inserted = 0;
    for chunk in readings.chunks(WRITE_CHUNK) {
        let rows = chunk.iter().map(|r| sensor_reading::ActiveModel {
            sensor_id: sea_orm::Set(r.sensor_id),
            ts: sea_orm::Set(r.ts),
            value: sea_orm::Set(r.value),
            quality: sea_orm::Set(r.quality),
        });
        let result = sensor_reading::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([sensor_reading::Column::SensorId, sensor_reading::Column::Ts])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        inserted += result;
    }
    // Newest reading per sensor in this batch.
    let mut newest: HashMap<i64, NewReading> = HashMap::new();
    for r in readings {
        newest
            .entry(r.sensor_id)
            .and_modify(|cur| {
                if r.ts > cur.ts {
                    *cur = *r;
                }
            })
            .or_insert(*r);
    }
    let latest: Vec<NewReading> = newest.into_values().collect();
    for chunk in latest.chunks(WRITE_CHUNK) {
        let rows = chunk.iter().map(|r| sensor_latest::ActiveModel {
            sensor_id: sea_orm::Set(r.sensor_id),
            ts: sea_orm::Set(r.ts),
            value: sea_orm::Set(r.value),
            quality: sea_orm::Set(r.quality),
        });
        sensor_latest::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(sensor_latest::Column::SensorId)
                    .update_columns([
                        sensor_latest::Column::Ts,
                        sensor_latest::Column::Value,
                        sensor_latest::Column::Quality,
                    ])
                    .action_and_where(
                        sea_orm::sea_query::Expr::col((
                            sea_orm::sea_query::Alias::new("excluded"),
                            sensor_latest::Column::Ts,
                        ))
                        .gt(sea_orm::sea_query::Expr::col((
                            sensor_latest::Entity,
                            sensor_latest::Column::Ts,
                        ))),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

/// Most readings one `ingestReadings` call may carry.
pub const MAX_INGEST: usize = 5_000;
/// How far ahead of the server clock a reading may be stamped (clock skew).
const INGEST_MAX_AHEAD: chrono::Duration = chrono::Duration::minutes(5);
/// How old a reading may be (a gateway replaying its buffer after an outage).
const INGEST_MAX_AGE: chrono::Duration = chrono::Duration::days(30);
/// Longest sensor tag looked up (the column's width); longer ones cannot exist.
const MAX_TAG_LEN: usize = 128;

/// How a client names the sensor of a reading.
#[derive(Clone, Debug, PartialEq)]
pub enum SensorRef {
    Id(i64),
    Tag(String),
    /// An id that is not one (reported as `NOT_FOUND`).
    Invalid,
    /// Both an id and a tag, or neither (`BAD_USER_INPUT`).
    Ambiguous,
}

impl SensorRef {
    /// The reference a client gave: an id (as text) or a tag, exactly one.
    pub fn of(id: Option<&str>, tag: Option<&str>) -> Self {
        match (id, tag) {
            (Some(id), None) => id
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map_or(Self::Invalid, Self::Id),
            (None, Some(tag)) => Self::Tag(tag.to_owned()),
            _ => Self::Ambiguous,
        }
    }
}

/// One reading as a client sends it.
#[derive(Clone, Debug)]
pub struct IngestRow {
    pub sensor: SensorRef,
    pub ts: DateTime<Utc>,
    pub value: f64,
    pub quality: Option<i32>,
}

/// A row that was not stored, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// Position in the request.
    pub index: usize,
    /// `NOT_FOUND` (unknown, hidden or inactive sensor), `FORBIDDEN` (a gateway naming a
    /// sensor of another workshop) or `BAD_USER_INPUT`.
    pub code: &'static str,
    pub message: &'static str,
}

/// What one ingest did.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    /// Rows that passed the checks (new or already stored).
    pub accepted: usize,
    /// Of those, rows not stored before (the rest repeated a `(sensor, ts)` already held).
    pub inserted: u64,
    pub rejected: Vec<Rejection>,
}

/// Days whose PostgreSQL partition of `sensor_readings` this instance has ensured. A
/// reading of a day without its partition would land in the default partition (never a
/// failed batch); the first batch of a new day creates it, later ones skip the check.
#[derive(Debug, Default)]
pub struct Partitions(std::sync::Mutex<std::collections::HashSet<chrono::NaiveDate>>);

impl Partitions {
    /// Ensures the partitions of the days `readings` fall on (PostgreSQL; nothing on
    /// SQLite). Outside the batch's transaction: the DDL takes a lock of its own. A failure
    /// is logged and the batch goes on into the default partition.
    async fn ensure(&self, db: &DatabaseConnection, readings: &[NewReading]) {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return;
        }
        let missing: Vec<chrono::NaiveDate> = {
            let Ok(known) = self.0.lock() else { return };
            let mut days: Vec<chrono::NaiveDate> = readings
                .iter()
                .map(|r| r.ts.date_naive())
                .filter(|d| !known.contains(d))
                .collect();
            days.sort_unstable();
            days.dedup();
            days
        };
        for day in missing {
            match migration::create_reading_partitions(db, day, 1).await {
                Ok(_) => {
                    if let Ok(mut known) = self.0.lock() {
                        known.insert(day);
                    }
                }
                Err(err) => {
                    tracing::warn!(%day, error = %err, "ensuring a readings partition failed; rows go to the default partition");
                }
            }
        }
    }
}

/// What the write path needs besides the rows.
#[derive(Clone, Copy, Debug)]
pub struct Sink<'a> {
    /// The primary.
    pub db: &'a DatabaseConnection,
    pub events: &'a EventBus,
    /// Its latest-readings cache is written through after each commit.
    pub cache: &'a crate::cache::Cache,
    pub partitions: &'a Partitions,
    /// Wait for each batch's WAL flush at commit (PostgreSQL; `SF_INGEST_SYNC_COMMIT`).
    pub synchronous_commit: bool,
}

impl crate::state::AppState {
    /// The readings write path of this instance.
    pub fn sink(&self) -> Sink<'_> {
        Sink {
            db: &self.db.write,
            events: &self.events,
            cache: &self.cache,
            partitions: &self.partitions,
            synchronous_commit: self.config.database.ingest_sync_commit,
        }
    }
}

/// The advisory-lock class of sensor ids (the second key is the id) taken by batches.
const SENSOR_LOCKS: i32 = 7_301;

/// Rows per readings statement on SQLite: 4 parameters each, under its 32,766, and more than
/// [`MAX_INGEST`], so an ingest batch is one statement there too.
const SQLITE_CHUNK: usize = 8_000;

fn placeholders(backend: DatabaseBackend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 4);
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DatabaseBackend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// `INSERT INTO <table> (sensor_id, ts, value, quality) <rows> <tail>`: on PostgreSQL the rows
/// as four arrays through `unnest` — one statement of four parameters whatever the size
/// (BENCHMARKS.md, "Ingest write path") — on SQLite one multi-row VALUES.
fn rows_statement(
    backend: DatabaseBackend,
    table: &str,
    tail: &str,
    rows: &[NewReading],
) -> Statement {
    let head = format!("INSERT INTO {table} (sensor_id, ts, value, quality)");
    match backend {
        DatabaseBackend::Postgres => Statement::from_sql_and_values(
            backend,
            format!(
                "{head} SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], \
                 $4::int2[]) {tail}"
            ),
            columns(rows),
        ),
        _ => Statement::from_sql_and_values(
            backend,
            format!(
                "{head} VALUES {} {tail}",
                placeholders(backend, rows.len(), 4)
            ),
            row_values(rows),
        ),
    }
}

/// Stores `rows` idempotently, returning the `(sensor_id, ts)` of the rows that were new.
fn insert_readings(backend: DatabaseBackend, rows: &[NewReading]) -> Statement {
    rows_statement(
        backend,
        "sensor_readings",
        "ON CONFLICT (sensor_id, ts) DO NOTHING RETURNING sensor_id, ts",
        rows,
    )
}

/// Moves each sensor's latest value forward (never back) to its newest row in `rows` (one
/// row per sensor).
fn upsert_latest(backend: DatabaseBackend, rows: &[NewReading]) -> Statement {
    rows_statement(
        backend,
        "sensor_latest",
        "ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, \
         quality = excluded.quality WHERE excluded.ts > sensor_latest.ts",
        rows,
    )
}

fn columns(rows: &[NewReading]) -> Vec<Value> {
    vec![
        rows.iter().map(|r| r.sensor_id).collect::<Vec<_>>().into(),
        rows.iter().map(|r| r.ts).collect::<Vec<_>>().into(),
        rows.iter().map(|r| r.value).collect::<Vec<_>>().into(),
        rows.iter().map(|r| r.quality).collect::<Vec<_>>().into(),
    ]
}

fn row_values(rows: &[NewReading]) -> Vec<Value> {
    let mut values = Vec::with_capacity(rows.len() * 4);
    for r in rows {
        values.push(r.sensor_id.into());
        values.push(r.ts.into());
        values.push(r.value.into());
        values.push(r.quality.into());
    }
    values
}

/// Newest reading per sensor of `readings`.
fn newest_per_sensor(readings: &[NewReading]) -> Vec<NewReading> {
    let mut newest: HashMap<i64, NewReading> = HashMap::new();
    for r in readings {
        newest
            .entry(r.sensor_id)
            .and_modify(|cur| {
                if r.ts > cur.ts {
                    *cur = *r;
                }
            })
            .or_insert(*r);
    }
    let mut newest: Vec<NewReading> = newest.into_values().collect();
    // One lock order for every writer: concurrent batches over the same sensors would
    // otherwise deadlock on `sensor_latest` rows taken in hash order.
    newest.sort_unstable_by_key(|r| r.sensor_id);
    newest
}

/// Stores a checked batch in one transaction and publishes what it changed after the
/// commit: the readings not stored before, and the alarm transitions their values caused.
/// Statements: the readings, the latest values, the threshold evaluation, the audit row —
/// a fixed number whatever the batch size (plus, once per day and instance on PostgreSQL,
/// the partition check). Returns how many rows were new.
pub async fn store(
    sink: Sink<'_>,
    audit: &Audit,
    readings: &[NewReading],
    sensors: &HashMap<i64, PlacedSensor>,
) -> AppResult<u64> {
    if readings.is_empty() {
        return Ok(0);
    }
    sink.partitions.ensure(sink.db, readings).await;
    // Key order, so concurrent batches (a gateway resending while another sends) take the
    // primary key's locks in the same order.
    let mut sorted = readings.to_vec();
    sorted.sort_unstable_by_key(|r| (r.sensor_id, r.ts));
    let readings = sorted.as_slice();
    let backend = sink.db.get_database_backend();
    let txn = sink.db.begin().await?;
    if backend == DatabaseBackend::Postgres && !sink.synchronous_commit {
        // This transaction only: the commit returns before its WAL reaches the disk.
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
    }
    if backend == DatabaseBackend::Postgres {
        // Batches naming the same sensors (two gateways, or a resend racing the original)
        // take turns, in sensor order: the threshold evaluation then sees the other's alarms
        // committed, never raising a second open alarm nor deadlocking on rows. Gateways of
        // different lines never wait for each other. (SQLite has one writer at a time.)
        let mut ids: Vec<i32> = readings
            .iter()
            .filter_map(|r| i32::try_from(r.sensor_id).ok())
            .collect();
        ids.dedup();
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1, s) FROM unnest($2::int4[]) AS s",
            [SENSOR_LOCKS.into(), ids.into()],
        ))
        .await?;
    }
    let mut new_keys: std::collections::HashSet<(i64, i64)> =
        std::collections::HashSet::with_capacity(readings.len());
    let chunk = match backend {
        DatabaseBackend::Postgres => readings.len(),
        _ => SQLITE_CHUNK,
    };
    for part in readings.chunks(chunk.max(1)) {
        let rows = txn.query_all_raw(insert_readings(backend, part)).await?;
        for row in rows {
            let sensor_id: i64 = row.try_get("", "sensor_id")?;
            let ts: DateTime<Utc> = row.try_get("", "ts")?;
            new_keys.insert((sensor_id, ts.timestamp_micros()));
        }
    }
    let latest = newest_per_sensor(readings);
    for part in latest.chunks(chunk.max(1)) {
        txn.execute_raw(upsert_latest(backend, part)).await?;
    }
    let new: Vec<&NewReading> = readings
        .iter()
        .filter(|r| new_keys.remove(&(r.sensor_id, r.ts.timestamp_micros())))
        .collect();
    let samples: Vec<super::alarm_rules::Sample<'_>> = new
        .iter()
        .filter_map(|r| {
            sensors
                .get(&r.sensor_id)
                .map(|placed| super::alarm_rules::Sample {
                    sensor: &placed.sensor,
                    ts: r.ts,
                    value: r.value,
                })
        })
        .collect();
    let alarm_events = super::alarm_rules::evaluate(&txn, &samples).await?;
    audit
        .write(&txn, format!("{} readings", readings.len()))
        .await?;
    txn.commit().await?;
    let published: Vec<Reading> = new
        .iter()
        .filter_map(|r| sensors.get(&r.sensor_id).map(|s| r.event(s)))
        .collect();
    if !published.is_empty() {
        // Before the call returns: a read right after the ingest sees these values.
        sink.cache.latest().apply(&published);
        sink.events.publish(Event::Readings {
            readings: published,
        });
    }
    for event in alarm_events {
        sink.events.publish(event);
    }
    Ok(new.len() as u64)
}

/// Stores a batch of readings from a gateway (its own workshop) or an engineer and above (in
/// scope). Each row is checked on its own — unknown, hidden, inactive or (for a gateway)
/// another workshop's sensor, named by id or tag; time too far ahead or behind; value not
/// finite; quality out of range — and reported if rejected; the rest are stored by
/// [`store`]. One statement for the checks, however many rows.
pub async fn ingest(
    sink: Sink<'_>,
    caller: &Caller,
    audit: &Audit,
    rows: &[IngestRow],
) -> AppResult<IngestReport> {
    caller.require_gateway_or(entity::enums::Role::Engineer)?;
    if rows.len() > MAX_INGEST {
        return Err(AppError::invalid(
            "readings",
            format!("at most {MAX_INGEST} readings per call"),
        ));
    }
    let mut ids: Vec<i64> = Vec::new();
    let mut tags: Vec<&str> = Vec::new();
    for row in rows {
        match &row.sensor {
            SensorRef::Id(id) => ids.push(*id),
            SensorRef::Tag(tag) if tag.len() <= MAX_TAG_LEN => tags.push(tag),
            _ => {}
        }
    }
    ids.sort_unstable();
    ids.dedup();
    tags.sort_unstable();
    tags.dedup();
    // Every named sensor, whatever its workshop: scope is decided per row below, so a
    // gateway is told FORBIDDEN and a person NOT_FOUND.
    let found: Vec<PlacedSensor> = if ids.is_empty() && tags.is_empty() {
        Vec::new()
    } else {
        let mut named = sea_orm::Condition::any();
        if !ids.is_empty() {
            named = named.add(sensor::Column::Id.is_in(ids));
        }
        if !tags.is_empty() {
            named = named.add(sensor::Column::Tag.is_in(tags.iter().copied()));
        }
        placed_sensors(sink.db, named).await?
    };
    let by_tag: HashMap<&str, usize> = found
        .iter()
        .enumerate()
        .map(|(i, s)| (s.sensor.tag.as_str(), i))
        .collect();
    let by_id: HashMap<i64, usize> = found
        .iter()
        .enumerate()
        .map(|(i, s)| (s.sensor.id, i))
        .collect();
    let now = Utc::now();
    let gateway = caller.role == Some(entity::enums::Role::Gateway);
    let mut report = IngestReport::default();
    let mut good = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let reject = |code, message| Rejection {
            index,
            code,
            message,
        };
        let sensor = match &row.sensor {
            SensorRef::Id(id) => by_id.get(id),
            SensorRef::Tag(tag) => by_tag.get(tag.as_str()),
            SensorRef::Invalid | SensorRef::Ambiguous => None,
        }
        .map(|&i| &found[i].sensor);
        let problem = match sensor {
            None if row.sensor == SensorRef::Ambiguous => Some(reject(
                "BAD_USER_INPUT",
                "give exactly one of `sensorId` and `tag`",
            )),
            None => Some(reject("NOT_FOUND", "no such sensor")),
            Some(s) if !caller.scope.allows(s.workshop_id) => Some(if gateway {
                reject("FORBIDDEN", "the sensor belongs to another workshop")
            } else {
                reject("NOT_FOUND", "no such sensor")
            }),
            Some(s) if !s.active => Some(reject("NOT_FOUND", "the sensor is inactive")),
            Some(_) if !row.value.is_finite() => {
                Some(reject("BAD_USER_INPUT", "`value` must be a finite number"))
            }
            Some(_) if row.ts > now + INGEST_MAX_AHEAD => Some(reject(
                "BAD_USER_INPUT",
                "`ts` is more than 5 minutes in the future",
            )),
            Some(_) if row.ts < now - INGEST_MAX_AGE => {
                Some(reject("BAD_USER_INPUT", "`ts` is more than 30 days old"))
            }
            Some(_) if row.quality.is_some_and(|q| !(0..=255).contains(&q)) => Some(reject(
                "BAD_USER_INPUT",
                "`quality` must be between 0 and 255",
            )),
            Some(s) => {
                use chrono::SubsecRound as _;
                good.push(NewReading {
                    sensor_id: s.id,
                    // Microseconds, as PostgreSQL keeps them and the bus carries them.
                    ts: row.ts.trunc_subsecs(6),
                    value: row.value,
                    quality: row.quality.map_or(192, |q| q as i16),
                });
                None
            }
        };
        if let Some(problem) = problem {
            report.rejected.push(problem);
        }
    }
    report.accepted = good.len();
    let sensors: HashMap<i64, PlacedSensor> = found.into_iter().map(|s| (s.sensor.id, s)).collect();
    report.inserted = store(sink, audit, &good, &sensors).await?;
    Ok(report)
}
