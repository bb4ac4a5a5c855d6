//! `/dashboard` in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol (chromiumoxide). It logs in through the form, sees a machine's live reading move as
//! readings are ingested, sees the alarm an out-of-range reading raises appear in the open-alarm
//! list, acknowledges it with the button, and leaves a screenshot at `target/dashboard.png`.
//!
//! Without Chromium (`/usr/bin/chromium`, or `SF_CHROMIUM`) the test prints why and passes;
//! with `SF_REQUIRE_BROWSER=1` (as `.ci/run` sets) it fails instead. The browser gets its own
//! profile directory, a host resolver that only knows 127.0.0.1 (so the page could not reach
//! anything else even if it tried), and is killed when the test ends, pass or fail.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chromiumoxide::{
    Page,
    browser::{Browser, BrowserConfig},
    handler::viewport::Viewport,
    page::ScreenshotParams,
};
use chrono::{Duration as Span, Utc};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, SMALL, TestApp, iso};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const PATIENCE: Duration = Duration::from_secs(20);

const INGEST: &str =
    "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { inserted } }";

/// The Chromium to drive, if this machine has one.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("SF_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from));
    candidates.into_iter().find(|path| path.is_file())
}

/// A headless Chromium of this test's own. Dropping it kills the browser (chromiumoxide spawns
/// it with `kill_on_drop`) and then any of its helper processes still running with our profile
/// directory on their command line — only processes this test started.
struct Chromium {
    browser: Browser,
    events: tokio::task::JoinHandle<()>,
    profile: tempfile::TempDir,
}

impl Chromium {
    async fn launch(executable: &Path) -> Self {
        let profile = tempfile::tempdir().expect("profile directory");
        let config = BrowserConfig::builder()
            .chrome_executable(executable)
            .user_data_dir(profile.path())
            .no_sandbox() // the tests run as root
            .window_size(WIDTH, HEIGHT)
            .viewport(Viewport {
                width: WIDTH,
                height: HEIGHT,
                device_scale_factor: Some(1.0),
                emulating_mobile: false,
                is_landscape: true,
                has_touch: false,
            })
            .args([
                "--disable-gpu",
                "--no-proxy-server",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ])
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(10))
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch Chromium");
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Self {
            browser,
            events,
            profile,
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.events.abort();
        if let Some(child) = self.browser.get_mut_child() {
            let _ = child.inner.start_kill();
        }
        let marker = self.profile.path().to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", pid])
                    .status();
            }
        }
    }
}

/// Runs `expression` in the page and returns its value (through JSON, so that `null` and
/// `undefined` arrive as `null` rather than as no value at all).
async fn eval<T: DeserializeOwned>(page: &Page, expression: &str) -> T {
    let json: String = page
        .evaluate(format!("JSON.stringify(({expression}) ?? null)"))
        .await
        .unwrap_or_else(|e| panic!("evaluating {expression}: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("the value of {expression}: {e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("the value of {expression}: {e}"))
}

/// Polls `expression` until it is truthy; returns its value, or fails naming `what`.
async fn wait_for(page: &Page, what: &str, expression: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value: Value = eval(
            page,
            &format!("(() => {{ return {expression}; }})() ?? null"),
        )
        .await;
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let state: Value = eval(
                page,
                "({ status: document.getElementById('conn-status')?.dataset.state, \
                 login: document.getElementById('login-error')?.textContent, \
                 body: document.body.innerText.slice(0, 1500) })",
            )
            .await;
            panic!("waited {PATIENCE:?} for {what} ({expression}); page: {state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A seeded plant, a real admin and a viewer of its workshop to log in as, and a machine's
/// first sensor with thresholds.
struct Plant {
    app: TestApp,
    token: String,
    machine: String,
    sensor: String,
}

const VIEWER: &str = "wall-viewer";
const VIEWER_PASSWORD: &str = "a wall viewer password";

async fn plant() -> Plant {
    let app = TestApp::seeded(SMALL).await;
    let token = app.admin_token().await;
    let r = app
        .graphql_as(
            &token,
            "{ equipment(first: 1) { nodes { id workshopId sensors { id } } } }",
            json!({}),
        )
        .await;
    let machine = &r.data()["equipment"]["nodes"][0];
    let sensor = machine["sensors"][0]["id"]
        .as_str()
        .expect("a sensor")
        .to_owned();
    app.graphql_as(
        &token,
        "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { sensor { id } } }",
        json!({ "i": { "id": sensor, "thresholds": { "hi": 90.0, "hiHi": 100.0, "deadband": 2.0 } } }),
    )
    .await
    .data();
    app.graphql_as(
        &token,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
        json!({ "i": { "username": VIEWER, "password": VIEWER_PASSWORD, "role": "VIEWER",
                       "workshopIds": [machine["workshopId"]] } }),
    )
    .await
    .data();
    Plant {
        machine: machine["id"].as_str().expect("id").to_owned(),
        sensor,
        token,
        app,
    }
}

impl Plant {
    /// Ingests one reading of the sensor, `ago` before now.
    async fn ingest(&self, value: f64, ago: Span) {
        let reading =
            json!({ "sensorId": self.sensor, "ts": iso(Utc::now() - ago), "value": value });
        let r = self
            .app
            .graphql_as(
                &self.token,
                INGEST,
                json!({ "i": { "readings": [reading] } }),
            )
            .await;
        assert_eq!(r.data()["ingestReadings"]["inserted"], 1, "{}", r.body);
    }
}

/// A new tab on `/dashboard`, signed in through the form as a person would, its socket open.
async fn open_signed_in(
    chromium: &Chromium,
    plant: &Plant,
    username: &str,
    password: &str,
) -> Page {
    let page = chromium
        .browser
        .new_page("about:blank")
        .await
        .expect("a tab");
    // Before the page's own scripts: record any policy violation, so a blocked inline style
    // or script fails the test rather than silently breaking the screen.
    page.evaluate_on_new_document(
        "window.__violations = []; document.addEventListener('securitypolicyviolation', \
         (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));",
    )
    .await
    .expect("init script");
    page.goto(format!("{}/dashboard", plant.app.address))
        .await
        .expect("open /dashboard");

    // Log in through the form, as a person would.
    wait_for(
        &page,
        "the login form",
        "!document.getElementById('login').hidden",
    )
    .await;
    page.find_element("#login-username")
        .await
        .expect("user name field")
        .click()
        .await
        .expect("focus")
        .type_str(username)
        .await
        .expect("type");
    page.find_element("#login-password")
        .await
        .expect("password field")
        .click()
        .await
        .expect("focus")
        .type_str(password)
        .await
        .expect("type");
    page.find_element("#login-submit")
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    wait_for(
        &page,
        "the dashboard",
        "!document.getElementById('dashboard').hidden",
    )
    .await;
    wait_for(
        &page,
        "the socket",
        "document.getElementById('conn-status').dataset.state === 'open'",
    )
    .await;
    page
}

/// Nothing on the page was blocked by the policy, and every request stayed on our origin.
async fn assert_stayed_home(page: &Page) {
    let violations: Vec<String> = eval(page, "window.__violations").await;
    assert!(violations.is_empty(), "{violations:?}");
    let foreign: Vec<String> = eval(
        page,
        "performance.getEntriesByType('resource').map((e) => e.name)\
         .filter((u) => !u.startsWith(location.origin) && !u.startsWith('ws'))",
    )
    .await;
    assert!(foreign.is_empty(), "{foreign:?}");
}

/// Where the screenshot goes: the crate's `target/` (whatever `CARGO_TARGET_DIR` says).
fn screenshot_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir).expect("target directory");
    dir.join("dashboard.png")
}

#[tokio::test]
async fn the_dashboard_logs_in_shows_live_readings_and_acknowledges_a_raised_alarm_viewers_cannot()
{
    let Some(executable) = chromium() else {
        let required = std::env::var("SF_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "SF_REQUIRE_BROWSER=1 but no Chromium at /usr/bin/chromium"
        );
        eprintln!("skipped: no Chromium (apt-get install chromium, or set SF_CHROMIUM)");
        return;
    };
    let plant = plant().await;
    let chromium = Chromium::launch(&executable).await;
    let page = open_signed_in(&chromium, &plant, "test-admin", ADMIN_PASSWORD).await;
    let token: Option<String> = eval(&page, "sessionStorage.getItem('sf.dashboard.token')").await;
    assert!(
        token.is_some_and(|t| !t.is_empty()),
        "the token is kept in sessionStorage"
    );

    // The metrics panel moves: a systemMetrics snapshot lands, then a later one replaces it.
    let first_at = wait_for(
        &page,
        "a first metrics snapshot",
        "document.getElementById('last-update').dataset.at",
    )
    .await;
    let first_at = first_at.as_str().expect("data-at").to_owned();
    wait_for(
        &page,
        "a later metrics snapshot",
        &format!(
            "(document.getElementById('last-update').dataset.at || '{first_at}') !== '{first_at}'"
        ),
    )
    .await;
    let (state, requests): (String, String) = eval(
        &page,
        "[document.getElementById('metrics-note').dataset.state, \
         document.getElementById('metric-requestsPerS').dataset.value]",
    )
    .await;
    assert_eq!(state, "live", "the metrics note says live");
    assert!(
        requests.parse::<f64>().is_ok_and(|r| r >= 0.0),
        "requests/s is a number: {requests:?}"
    );

    // Pick the machine by its tile; its sensors appear with the thresholds we set.
    let tile = format!("#tile-{}", plant.machine);
    wait_for(
        &page,
        "the machine's tile",
        &format!("document.querySelector('{tile}')?.dataset.status"),
    )
    .await;
    page.find_element(&tile)
        .await
        .expect("tile")
        .click()
        .await
        .expect("click tile");
    let value = format!(
        "document.querySelector('.sensor[data-sensor-id=\"{}\"] .sensor-value')?.dataset.value",
        plant.sensor
    );
    wait_for(
        &page,
        "the sensor's card",
        &format!("{value} !== undefined"),
    )
    .await;
    let thresholds: String = eval(
        &page,
        &format!(
            "document.querySelector('.sensor[data-sensor-id=\"{}\"] .thresholds').textContent",
            plant.sensor
        ),
    )
    .await;
    assert!(
        thresholds.contains("H 90") && thresholds.contains("HH 100"),
        "{thresholds}"
    );

    // The live reading moves with each ingested value (readingsUpdated).
    for (reading, ago) in [(42.5, 3), (57.25, 2)] {
        plant.ingest(reading, Span::seconds(ago)).await;
        wait_for(
            &page,
            &format!("the live reading {reading}"),
            &format!("{value} === '{reading}'"),
        )
        .await;
    }

    // A second screen, a viewer's: the same list, without the acknowledge button.
    let viewer = open_signed_in(&chromium, &plant, VIEWER, VIEWER_PASSWORD).await;

    // Past hi-hi: the alarm appears in the open list, newest first, with its button.
    plant.ingest(101.0, Span::seconds(1)).await;
    let alarm = format!(
        "document.querySelector('#alarm-list li[data-sensor-id=\"{}\"]')",
        plant.sensor
    );
    let id = wait_for(
        &page,
        "the raised alarm in the list",
        &format!("{alarm}?.dataset.alarmId"),
    )
    .await;
    let id = id.as_str().expect("alarm id").to_owned();
    let first: String = eval(
        &page,
        "document.querySelector('#alarm-list li').dataset.alarmId",
    )
    .await;
    assert_eq!(first, id, "the newest alarm is at the top");
    let (severity, acknowledged): (String, String) = eval(
        &page,
        &format!("[{alarm}.dataset.severity, {alarm}.dataset.acknowledged]"),
    )
    .await;
    assert_eq!(
        (severity.as_str(), acknowledged.as_str()),
        ("CRITICAL", "false")
    );
    let on_viewer = format!("document.getElementById('alarm-{id}')");
    wait_for(&viewer, "the alarm on the viewer's screen", &on_viewer).await;
    let (buttons, badge): (u32, String) = eval(
        &viewer,
        &format!("[{on_viewer}.querySelectorAll('button').length, {on_viewer}.querySelector('.acked').textContent]"),
    )
    .await;
    assert_eq!(
        (buttons, badge.as_str()),
        (0, "unacknowledged"),
        "viewers cannot acknowledge"
    );
    // The reading itself arrives on its own stream: the card turns critical when it does.
    wait_for(
        &page,
        "the sensor's card in the critical band",
        &format!(
            "document.querySelector('.sensor[data-sensor-id=\"{}\"]').dataset.band === 'critical'",
            plant.sensor
        ),
    )
    .await;

    // Acknowledge through the button; the list shows it, and so does the API. (Input goes to
    // the tab in front: the viewer's tab opened last.)
    page.bring_to_front().await.expect("admin tab to the front");
    page.find_element(format!("#alarm-{id} button.ack"))
        .await
        .expect("acknowledge button")
        .click()
        .await
        .expect("click acknowledge");
    wait_for(
        &page,
        "the alarm acknowledged",
        &format!("document.getElementById('alarm-{id}')?.dataset.acknowledged === 'true'"),
    )
    .await;
    wait_for(
        &viewer,
        "the acknowledgement on the viewer's screen (alarmChanged)",
        &format!("{on_viewer}?.dataset.acknowledged === 'true'"),
    )
    .await;
    let r = plant
        .app
        .graphql_as(
            &plant.token,
            "query($f: AlarmFilter) { alarms(filter: $f) { nodes { id acknowledged ackBy } } }",
            json!({ "f": { "sensorId": plant.sensor, "open": true } }),
        )
        .await;
    let stored = &r.data()["alarms"]["nodes"][0];
    assert_eq!(
        (stored["id"].as_str(), &stored["acknowledged"]),
        (Some(id.as_str()), &json!(true))
    );

    for screen in [&page, &viewer] {
        assert_stayed_home(screen).await;
    }

    let path = screenshot_path();
    page.save_screenshot(ScreenshotParams::builder().build(), &path)
        .await
        .expect("screenshot");
    eprintln!("screenshot: {}", path.display());
}
