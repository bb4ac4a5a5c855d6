//! Rollups and retention on each engine: the right min/max/avg/last/count per bucket,
//! idempotent re-runs, late readings within the window re-rolled (and beyond it not), the
//! hourly rollup from the minutes, and retention that removes old data and keeps recent data.

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use entity::{reading_1h, reading_1m, sensor, sensor_reading};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, Set};
use smart_factory::{
    config::{JobsConfig, MapEnv},
    maintenance::{
        retention,
        rollup::{self, Level},
    },
};

use crate::helpers::{SMALL, TestApp};

/// An app without schedules (the test runs every rollup itself).
async fn app() -> TestApp {
    TestApp::spawn_with(Some(SMALL), |c| {
        c.jobs.schedules.clear();
        c.demo.simulator = false;
    })
    .await
}

async fn any_sensor(app: &TestApp) -> i64 {
    sensor::Entity::find()
        .order_by_asc(sensor::Column::Id)
        .one(&app.state.db.write)
        .await
        .expect("sensor")
        .expect("a seeded sensor")
        .id
}

async fn insert(app: &TestApp, sensor_id: i64, points: &[(DateTime<Utc>, f64)]) {
    let rows = points
        .iter()
        .map(|(ts, value)| sensor_reading::ActiveModel {
            sensor_id: Set(sensor_id),
            ts: Set(*ts),
            value: Set(*value),
            quality: Set(0),
        });
    sensor_reading::Entity::insert_many(rows)
        .exec(&app.state.db.write)
        .await
        .expect("insert readings");
}

async fn minutes(app: &TestApp, sensor_id: i64, from: DateTime<Utc>) -> Vec<reading_1m::Model> {
    reading_1m::Entity::find()
        .filter(reading_1m::Column::SensorId.eq(sensor_id))
        .filter(reading_1m::Column::Bucket.gte(from))
        .order_by_asc(reading_1m::Column::Bucket)
        .all(&app.state.db.write)
        .await
        .expect("rollups")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn minute_and_hour_rollups_are_right_idempotent_and_take_late_readings_within_the_window() {
    let app = app().await;
    let db = &app.state.db.write;
    let s = any_sensor(&app).await;
    // A minute three hours ago, clear of the seeded history's timestamps for this sensor:
    // the seed's own readings are removed from the hour first.
    let t0 = (Utc::now() - Duration::hours(3))
        .duration_trunc(Duration::hours(1))
        .expect("hour");
    sensor_reading::Entity::delete_many()
        .filter(sensor_reading::Column::SensorId.eq(s))
        .filter(sensor_reading::Column::Ts.gte(t0))
        .filter(sensor_reading::Column::Ts.lt(t0 + Duration::hours(1)))
        .exec(db)
        .await
        .expect("clear the hour");
    let sec = Duration::seconds;
    insert(
        &app,
        s,
        &[
            (t0 + sec(5), 1.0),
            (t0 + sec(20), 3.0),
            (t0 + sec(50), 2.0),
            (t0 + sec(65), 10.0),
        ],
    )
    .await;
    let late = Duration::minutes(2);
    let horizon = Duration::days(30);
    let now = t0 + Duration::minutes(5) + sec(3);
    let first = rollup::run(db, Level::Minute, now, late, horizon)
        .await
        .expect("rollup");
    assert_eq!(first.to, t0 + Duration::minutes(5), "only closed minutes");
    let rows = minutes(&app, s, t0).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!((a.bucket, a.count), (t0, 3));
    assert!(
        close(a.min, 1.0) && close(a.max, 3.0) && close(a.avg, 2.0) && close(a.last, 2.0),
        "{a:?}"
    );
    assert_eq!((b.bucket, b.count), (t0 + Duration::minutes(1), 1));
    assert!(close(b.last, 10.0) && close(b.avg, 10.0), "{b:?}");
    // Again at the same time: nothing changes.
    rollup::run(db, Level::Minute, now, late, horizon)
        .await
        .expect("again");
    assert_eq!(minutes(&app, s, t0).await, rows);
    // Late readings: one inside the window before the watermark (minute 4), one beyond it
    // (minute 0).
    insert(
        &app,
        s,
        &[
            (t0 + Duration::minutes(4) + sec(10), 7.0),
            (t0 + sec(30), 100.0),
        ],
    )
    .await;
    let later = now + Duration::minutes(1);
    let second = rollup::run(db, Level::Minute, later, late, horizon)
        .await
        .expect("late");
    assert_eq!(
        second.from,
        t0 + Duration::minutes(3),
        "restarts a late window before the watermark"
    );
    let rows = minutes(&app, s, t0).await;
    let minute_4 = rows
        .iter()
        .find(|r| r.bucket == t0 + Duration::minutes(4))
        .expect("minute 4 rolled");
    assert_eq!(minute_4.count, 1);
    assert!(close(minute_4.last, 7.0));
    assert_eq!(rows[0].count, 3, "beyond the late window: not re-rolled");
    // The hour: from the minutes, once they are closed past the hour.
    let hour_later = t0 + Duration::hours(1) + Duration::minutes(2);
    rollup::run(db, Level::Minute, hour_later, late, horizon)
        .await
        .expect("minutes");
    rollup::run(db, Level::Hour, hour_later, late, horizon)
        .await
        .expect("hour");
    let hour = reading_1h::Entity::find_by_id((s, t0))
        .one(db)
        .await
        .expect("hour row")
        .expect("the hour rolled");
    assert_eq!(hour.count, 5, "3 + 1 + the late one in minute 4");
    assert!(close(hour.min, 1.0) && close(hour.max, 10.0), "{hour:?}");
    assert!(
        close(hour.avg, (1.0 + 3.0 + 2.0 + 10.0 + 7.0) / 5.0),
        "weighted by count: {hour:?}"
    );
    assert!(close(hour.last, 7.0), "the newest minute's last: {hour:?}");
}

#[tokio::test]
async fn retention_removes_expired_data_and_keeps_recent_data_and_what_is_not_rolled_up() {
    let app = app().await;
    let db = &app.state.db.write;
    let s = any_sensor(&app).await;
    let config = JobsConfig::from_source(&MapEnv::of(&[]))
        .expect("defaults")
        .retention;
    let now = Utc::now()
        .duration_trunc(Duration::seconds(1))
        .expect("second");
    let old = now - Duration::days(40);
    // On PostgreSQL the old day gets its own partition, which retention drops whole.
    migration::create_reading_partitions(db, old.date_naive(), 1)
        .await
        .expect("partition");
    insert(&app, s, &[(old, 1.0), (now - Duration::hours(2), 2.0)]).await;
    for (bucket, v) in [
        (now - Duration::days(400), 1.0),
        (now - Duration::days(10), 2.0),
    ] {
        reading_1m::Entity::insert(reading_1m::ActiveModel {
            sensor_id: Set(s),
            bucket: Set(bucket),
            min: Set(v),
            max: Set(v),
            avg: Set(v),
            last: Set(v),
            count: Set(1),
        })
        .exec(db)
        .await
        .expect("rollup row");
    }
    // Before any rollup ran, raw retention still cuts at its keep period.
    rollup::run(db, Level::Minute, now, Duration::minutes(2), config.raw)
        .await
        .expect("rollup");
    let run = retention::run(db, &config, now).await.expect("retention");
    assert_eq!(run.raw_cutoff, Some(now - config.raw));
    let raw: Vec<DateTime<Utc>> = sensor_reading::Entity::find()
        .filter(sensor_reading::Column::SensorId.eq(s))
        .filter(sensor_reading::Column::Ts.lt(now - Duration::days(30)))
        .all(db)
        .await
        .expect("raw")
        .into_iter()
        .map(|r| r.ts)
        .collect();
    assert!(raw.is_empty(), "expired raw readings remain: {raw:?}");
    let recent = sensor_reading::Entity::find_by_id((s, now - Duration::hours(2)))
        .one(db)
        .await
        .expect("recent");
    assert!(recent.is_some(), "a recent reading went");
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        assert!(
            run.partitions_dropped >= 1,
            "the old day's partition was dropped: {run:?}"
        );
    } else {
        assert!(run.raw_rows >= 1, "the old reading was deleted: {run:?}");
    }
    let buckets: Vec<DateTime<Utc>> = reading_1m::Entity::find()
        .filter(reading_1m::Column::SensorId.eq(s))
        .filter(reading_1m::Column::Bucket.lt(now - Duration::days(5)))
        .all(db)
        .await
        .expect("1m")
        .into_iter()
        .map(|r| r.bucket)
        .collect();
    assert_eq!(
        buckets,
        [now - Duration::days(10)],
        "the year-old minute went, the 10-day one stayed"
    );
    // Raw readings the minute rollup has not reached are kept: with the watermark set back,
    // a reading just past the keep period survives.
    let edge = now - config.raw - Duration::hours(1);
    insert(&app, s, &[(edge, 5.0)]).await;
    entity::rollup_watermark::Entity::update_many()
        .col_expr(
            entity::rollup_watermark::Column::Watermark,
            (edge - Duration::hours(1)).into(),
        )
        .exec(db)
        .await
        .expect("set back");
    let guarded = retention::run(db, &config, now).await.expect("retention");
    assert_eq!(guarded.raw_cutoff, Some(edge - Duration::hours(1)));
    assert!(
        sensor_reading::Entity::find_by_id((s, edge))
            .one(db)
            .await
            .expect("edge")
            .is_some(),
        "a reading not yet rolled up was removed"
    );
}

const SERIES: &str = "query S($ids: [ID!]!, $from: DateTime!, $to: DateTime!, $aggs: [Agg!]) { \
    readingSeries(sensorIds: $ids, from: $from, to: $to, aggs: $aggs) { bucketSeconds source \
    points { ts avg min max last count } } }";

#[tokio::test]
async fn reading_series_over_days_answers_from_the_rollups_and_raw_readings_after_them() {
    let app = app().await;
    let db = &app.state.db.write;
    let admin = app.admin_token().await;
    let s = any_sensor(&app).await;
    sensor_reading::Entity::delete_many()
        .filter(sensor_reading::Column::SensorId.eq(s))
        .exec(db)
        .await
        .expect("clear the sensor");
    // Twenty days of a reading every 10 minutes, value = its index.
    let now = Utc::now()
        .duration_trunc(Duration::minutes(1))
        .expect("minute");
    let start = now - Duration::days(20);
    let points: Vec<(DateTime<Utc>, f64)> = (0..20 * 144)
        .map(|i| (start + Duration::minutes(10 * i), i as f64))
        .collect();
    for chunk in points.chunks(500) {
        insert(&app, s, chunk).await;
    }
    let horizon = Duration::days(30);
    rollup::run(db, Level::Minute, now, Duration::minutes(2), horizon)
        .await
        .expect("1m");
    rollup::run(db, Level::Hour, now, Duration::minutes(2), horizon)
        .await
        .expect("1h");
    // A reading after both watermarks: only raw readings have it.
    let fresh = (now + Duration::seconds(5), 99_999.0);
    insert(&app, s, &[fresh]).await;
    let to = now + Duration::minutes(1);
    for (days, source) in [(7, "ROLLUP_1M"), (19, "ROLLUP_1H")] {
        // Whole hours, so no rollup bucket straddles the start.
        let from = (to - Duration::days(days))
            .duration_trunc(Duration::hours(1))
            .expect("hour");
        let r = app
            .graphql_as(
                &admin,
                SERIES,
                serde_json::json!({ "ids": [s.to_string()], "from": crate::helpers::iso(from),
                    "to": crate::helpers::iso(to), "aggs": ["AVG", "MIN", "MAX", "LAST", "COUNT"] }),
            )
            .await;
        let series = &r.data()["readingSeries"][0];
        assert_eq!(series["source"], source, "{days} days");
        let width = series["bucketSeconds"].as_i64().expect("width");
        let unit = if source == "ROLLUP_1M" { 60 } else { 3_600 };
        assert_eq!(
            width % unit,
            0,
            "the width is whole rollup buckets: {width}"
        );
        let got = series["points"].as_array().expect("points");
        assert!(got.len() <= 500, "{}", got.len());
        // Expected buckets from the points themselves.
        let mut expected: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
        for (ts, v) in points.iter().chain(std::iter::once(&fresh)) {
            if *ts >= from && *ts < to {
                expected
                    .entry(ts.timestamp().div_euclid(width))
                    .or_default()
                    .push(*v);
            }
        }
        assert_eq!(got.len(), expected.len(), "{days} days: bucket count");
        for (point, (bucket, values)) in got.iter().zip(&expected) {
            let ts = crate::helpers::time(&point["ts"]);
            assert_eq!(ts.timestamp(), bucket * width);
            let n = values.len() as f64;
            assert_eq!(
                point["count"].as_i64(),
                Some(values.len() as i64),
                "{point}"
            );
            let avg = values.iter().sum::<f64>() / n;
            assert!(
                close(point["avg"].as_f64().expect("avg"), avg),
                "{point} vs {avg}"
            );
            let min = values.iter().copied().fold(f64::MAX, f64::min);
            let max = values.iter().copied().fold(f64::MIN, f64::max);
            assert!(close(point["min"].as_f64().expect("min"), min), "{point}");
            assert!(close(point["max"].as_f64().expect("max"), max), "{point}");
            let last = *values.last().expect("a value");
            assert!(
                close(point["last"].as_f64().expect("last"), last),
                "{point}"
            );
        }
        let newest = got.last().expect("points");
        assert!(
            close(newest["max"].as_f64().expect("max"), 99_999.0),
            "the fresh reading is in"
        );
    }
    // Six hours or less: raw readings.
    let r = app
        .graphql_as(
            &admin,
            SERIES,
            serde_json::json!({ "ids": [s.to_string()], "from": crate::helpers::iso(to - Duration::hours(6)),
                "to": crate::helpers::iso(to), "aggs": ["COUNT"] }),
        )
        .await;
    assert_eq!(r.data()["readingSeries"][0]["source"], "RAW");
}
