//! The demo simulator drives the same services as the API: readings through the ingest
//! store, status changes through `setEquipmentStatus`'s service, reports for running orders.

use std::time::{Duration, Instant};

use smart_factory::events::Topic;

use crate::helpers::{SMALL, TestApp};

#[tokio::test]
async fn the_simulator_writes_readings_status_changes_and_publishes_them() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.demo.simulator = true;
        c.demo.simulator_tick = Duration::from_millis(20);
    })
    .await;
    let mut readings = app.state.events.subscribe(Topic::Readings);
    let mut statuses = app.state.events.subscribe(Topic::Equipment);
    let readings_before = app.count("sensor_readings").await;
    let statuses_before = app.count("equipment_status_events").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut saw_readings, mut saw_status) = (false, false);
    while Instant::now() < deadline && !(saw_readings && saw_status) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        saw_readings |= readings.try_recv().is_ok();
        saw_status |= statuses.try_recv().is_ok();
    }
    assert!(saw_readings, "no readings event from the simulator");
    assert!(saw_status, "no status change from the simulator");
    assert!(app.count("sensor_readings").await > readings_before);
    assert!(
        app.count("equipment_status_events").await > statuses_before,
        "a status change opens an interval"
    );
}
