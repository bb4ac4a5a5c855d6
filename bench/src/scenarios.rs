//! The GraphQL queries the harness drives, the id discovery that feeds them,
//! the bench user's login, and the one-shot validation that guards against
//! benchmarking a broken query.

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use clap::ValueEnum;
use serde_json::{Value, json};

/// One load scenario; the names are what `--scenarios` accepts and what the table prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// One equipment with its sensors and their latest reading.
    Point,
    /// `point` with `Authorization: Bearer <token>` of the bench user (one login before).
    #[value(name = "point-auth")]
    PointAuth,
    /// One line: its equipment tree plus its open alarms.
    Line,
    /// The whole plant tree with latest readings (the N+1 stress case).
    Plant,
    /// Bucketed history for 10 sensors over 6 hours.
    Series,
    /// The `login` mutation of the bench user (argon2id verification + session insert);
    /// capped by the server's login rate limit unless that is off.
    Login,
    /// `point-auth` alone, then with one client sending hostile documents without a token at
    /// the anonymous rate limit, then each document's server CPU (not in the default list).
    Hostile,
    /// Gateways pushing `ingestReadings` batches of 1,000, `point` reads alongside (not in
    /// the default list: it writes).
    Ingest,
    /// Gateways pushing `POST /ingest` batches of 5,000, `point` reads alongside (not in the
    /// default list).
    #[value(name = "ingest-http")]
    IngestHttp,
    /// WebSocket subscribers in steps (`--fanout-steps`) while 24 gateways push readings at
    /// the tier-M rate, then 10× it: event-to-client latency, RSS per subscriber, server CPU
    /// (not in the default list).
    Fanout,
    /// `systemMetrics(intervalMs: 1000)` subscribers in steps (`--fanout-steps`): delivery
    /// after the collector's tick, server CPU per tick, encodings per tick (not in the
    /// default list).
    #[value(name = "metrics-fanout")]
    MetricsFanout,
    /// A line's machines and thresholds read under a 90/10 read/write mix (every tenth
    /// request raises a sensor's `hi` on that line): the response cache's hit ratio, and
    /// every read checked against the last write (not in the default list: it writes).
    #[value(name = "line-mixed")]
    LineMixed,
    /// `readingSeries` over 30 days for 10 sensors at 500 points: answered from the hourly
    /// rollups (not in the default list: it needs `readings_1h` over the month).
    #[value(name = "series-30d")]
    Series30d,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Point,
        Scenario::PointAuth,
        Scenario::Line,
        Scenario::Plant,
        Scenario::Series,
        Scenario::Login,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Point => "point",
            Scenario::PointAuth => "point-auth",
            Scenario::Line => "line",
            Scenario::Plant => "plant",
            Scenario::Series => "series",
            Scenario::Login => "login",
            Scenario::Hostile => "hostile",
            Scenario::Ingest => "ingest",
            Scenario::IngestHttp => "ingest-http",
            Scenario::Fanout => "fanout",
            Scenario::MetricsFanout => "metrics-fanout",
            Scenario::LineMixed => "line-mixed",
            Scenario::Series30d => "series-30d",
        }
    }

    /// Whether the scenario logs in as the bench user (so the user must exist).
    pub fn needs_user(self) -> bool {
        matches!(
            self,
            Scenario::PointAuth
                | Scenario::Login
                | Scenario::Hostile
                | Scenario::Fanout
                | Scenario::MetricsFanout
        )
    }
}

const DISCOVERY_QUERY: &str =
    "{ lines(first: 1) { edges { node { id equipment { id sensors { id } } } } } }";

const POINT_QUERY: &str = "query Point($id: ID!) { equipmentById(id: $id) { id code name status \
     sensors { id tag metric unit latest { ts value quality } } } }";

const LINE_QUERY: &str = "query Line($id: ID!) { lineById(id: $id) { id code name equipment { \
     id code name status sensors { id tag latest { ts value } } } } \
     alarms(filter: {lineId: $id, open: true}, first: 100) { totalCount edges { node { \
     id severity message startTs equipment { id code } } } } }";

const PLANT_QUERY: &str = "{ workshops(first: 100) { edges { node { id code name lines { \
     id code name equipment { id code name status sensors { id tag latest { ts value quality } \
     } } } } } } }";

const SERIES_QUERY: &str = "query Series($ids: [ID!]!, $from: DateTime!, $to: DateTime!) { \
     readingSeries(sensorIds: $ids, from: $from, to: $to, maxPoints: 500, aggs: [AVG, MIN, MAX]) \
     { sensorId bucketSeconds points { ts avg min max } } }";

const LOGIN_MUTATION: &str = "mutation($u: String!, $p: String!) { \
     login(input: {username: $u, password: $p}) { accessToken } }";

/// How many sensors the `series` scenario asks for at once.
const SERIES_SENSORS: usize = 10;
/// Width of the `series` window; the seed writes 24 h, so 6 h stays inside it.
const SERIES_WINDOW_HOURS: i64 = 6;

/// The account `point-auth` and `login` log in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Ids found in the seeded data, used as query variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub line: String,
    pub equipment: String,
    pub sensors: Vec<String>,
}

/// The JSON body to POST for discovery.
pub fn discovery_body() -> String {
    json!({ "query": DISCOVERY_QUERY }).to_string()
}

/// Extracts the ids from the discovery response; errors name what was missing
/// because an empty database is the usual cause and should be obvious.
pub fn parse_discovery(resp: &Value) -> Result<Ids> {
    check_graphql_ok(resp)?;
    let node = resp
        .pointer("/data/lines/edges/0/node")
        .ok_or_else(|| anyhow!("no line found (is the database seeded?)"))?;
    let line = id_of(node).context("line without id")?;
    let equipment = node
        .get("equipment")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("line {line} has no equipment list"))?;
    let first = equipment
        .first()
        .ok_or_else(|| anyhow!("line {line} has no equipment"))?;
    let equipment_id = id_of(first).context("equipment without id")?;
    let sensors: Vec<String> = equipment
        .iter()
        .filter_map(|e| e.get("sensors").and_then(Value::as_array))
        .flatten()
        .filter_map(id_of)
        .take(SERIES_SENSORS)
        .collect();
    Ok(Ids {
        line,
        equipment: equipment_id,
        sensors,
    })
}

/// GraphQL `ID`s may be serialised as strings or numbers; accept both.
fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Formats a timestamp the way async-graphql's chrono `DateTime` scalar parses it.
pub fn rfc3339(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The JSON body of the bench user's `login` mutation.
pub fn login_body(creds: &Credentials) -> String {
    json!({
        "query": LOGIN_MUTATION,
        "variables": { "u": creds.username, "p": creds.password },
    })
    .to_string()
}

/// The access token of a `login` response; errors unless it is a non-empty string.
pub fn parse_login(resp: &Value) -> Result<String> {
    check_graphql_ok(resp)?;
    match resp.pointer("/data/login/accessToken") {
        Some(Value::String(token)) if !token.is_empty() => Ok(token.clone()),
        Some(Value::String(_)) => bail!("login returned an empty accessToken: {resp}"),
        _ => bail!("login returned no accessToken: {resp}"),
    }
}

/// Builds the request body for a scenario. `series_end` is the `to` bound;
/// `creds` is used by `login`.
pub fn request_body(
    scenario: Scenario,
    ids: &Ids,
    series_end: DateTime<Utc>,
    creds: &Credentials,
) -> Result<String> {
    let body = match scenario {
        // Same body: the two rows differ only in the Authorization header.
        Scenario::Point
        | Scenario::PointAuth
        | Scenario::Hostile
        | Scenario::Ingest
        | Scenario::IngestHttp
        | Scenario::Fanout
        | Scenario::MetricsFanout => {
            json!({ "query": POINT_QUERY, "variables": { "id": ids.equipment } })
        }
        Scenario::Login => return Ok(login_body(creds)),
        Scenario::Line | Scenario::LineMixed => {
            json!({ "query": LINE_QUERY, "variables": { "id": ids.line } })
        }
        Scenario::Plant => json!({ "query": PLANT_QUERY }),
        Scenario::Series | Scenario::Series30d => {
            if ids.sensors.is_empty() {
                bail!("line {} has no sensors to ask a series for", ids.line);
            }
            let from = if scenario == Scenario::Series30d {
                series_end - ChronoDuration::days(30)
            } else {
                series_end - ChronoDuration::hours(SERIES_WINDOW_HOURS)
            };
            json!({
                "query": SERIES_QUERY,
                "variables": {
                    "ids": ids.sensors,
                    "from": rfc3339(from),
                    "to": rfc3339(series_end),
                }
            })
        }
    };
    Ok(body.to_string())
}

/// Fails when the response carries a non-empty `errors` array.
pub fn check_graphql_ok(resp: &Value) -> Result<()> {
    match resp.get("errors") {
        Some(Value::Array(errs)) if !errs.is_empty() => {
            bail!("GraphQL errors: {}", Value::Array(errs.clone()))
        }
        _ => Ok(()),
    }
}

/// Stricter than the load loop: besides no errors, `data` must be an object
/// whose every root field is non-null, since a null root (e.g. an unknown id)
/// would otherwise benchmark a cheap "not found" path.
pub fn validate_response(resp: &Value) -> Result<()> {
    check_graphql_ok(resp)?;
    let data = match resp.get("data") {
        Some(Value::Object(map)) => map,
        Some(Value::Null) | None => bail!("response has null or missing data: {resp}"),
        Some(other) => bail!("data is not an object: {other}"),
    };
    if data.is_empty() {
        bail!("data is an empty object");
    }
    if let Some((field, _)) = data.iter().find(|(_, v)| v.is_null()) {
        bail!("root field `{field}` is null: {resp}");
    }
    Ok(())
}

/// [`validate_response`] plus what one scenario specifically needs: `login`
/// must hand out a non-null `login.accessToken`.
pub fn validate_scenario_response(scenario: Scenario, resp: &Value) -> Result<()> {
    validate_response(resp)?;
    if scenario == Scenario::Login {
        parse_login(resp)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Ids {
        Ids {
            line: "L1".into(),
            equipment: "E1".into(),
            sensors: vec!["S1".into(), "S2".into()],
        }
    }

    fn creds() -> Credentials {
        Credentials {
            username: "bench".into(),
            password: "pa\"ss word".into(),
        }
    }

    #[test]
    fn discovery_collects_up_to_ten_sensors_across_equipment() -> Result<()> {
        let sensors: Vec<Value> = (0..8).map(|i| json!({ "id": format!("s{i}") })).collect();
        let resp = json!({ "data": { "lines": { "edges": [ { "node": {
            "id": "line-1",
            "equipment": [
                { "id": "eq-1", "sensors": sensors },
                { "id": 7, "sensors": sensors },
            ]
        } } ] } } });
        let got = parse_discovery(&resp)?;
        assert_eq!(got.line, "line-1");
        assert_eq!(got.equipment, "eq-1");
        assert_eq!(got.sensors.len(), 10);
        assert_eq!(got.sensors[8], "s0");
        Ok(())
    }

    #[test]
    fn discovery_reports_empty_database() {
        let resp = json!({ "data": { "lines": { "edges": [] } } });
        let err = parse_discovery(&resp).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("seeded")));
    }

    #[test]
    fn series_body_spans_six_hours() -> Result<()> {
        let end = DateTime::parse_from_rfc3339("2025-01-02T12:00:00Z")?.with_timezone(&Utc);
        let body: Value =
            serde_json::from_str(&request_body(Scenario::Series, &ids(), end, &creds())?)?;
        let vars = &body["variables"];
        assert_eq!(vars["from"], json!("2025-01-02T06:00:00Z"));
        assert_eq!(vars["to"], json!("2025-01-02T12:00:00Z"));
        assert_eq!(vars["ids"], json!(["S1", "S2"]));
        Ok(())
    }

    #[test]
    fn series_30d_body_spans_thirty_days() -> Result<()> {
        let end = DateTime::parse_from_rfc3339("2025-01-31T12:00:00Z")?.with_timezone(&Utc);
        let body: Value =
            serde_json::from_str(&request_body(Scenario::Series30d, &ids(), end, &creds())?)?;
        assert_eq!(body["variables"]["from"], json!("2025-01-01T12:00:00Z"));
        Ok(())
    }

    #[test]
    fn series_without_sensors_is_refused() {
        let mut no_sensors = ids();
        no_sensors.sensors.clear();
        assert!(request_body(Scenario::Series, &no_sensors, Utc::now(), &creds()).is_err());
    }

    #[test]
    fn validation_rejects_errors_and_null_roots() {
        assert!(validate_response(&json!({ "data": { "a": 1 } })).is_ok());
        assert!(validate_response(&json!({ "data": { "a": 1 }, "errors": [] })).is_ok());
        assert!(validate_response(&json!({ "data": null, "errors": [{"message": "x"}] })).is_err());
        assert!(validate_response(&json!({ "data": { "a": null } })).is_err());
        assert!(validate_response(&json!({ "data": null })).is_err());
        assert!(validate_response(&json!({})).is_err());
    }

    #[test]
    fn login_body_carries_credentials_as_variables() -> Result<()> {
        let body: Value = serde_json::from_str(&login_body(&creds()))?;
        let query = body["query"].as_str().unwrap_or_default();
        assert!(query.starts_with("mutation($u: String!, $p: String!)"));
        assert!(query.contains("login(input: {username: $u, password: $p}) { accessToken }"));
        // Credentials travel as variables, JSON-escaped, never spliced into the query.
        assert_eq!(
            body["variables"],
            json!({ "u": "bench", "p": "pa\"ss word" })
        );
        let via_scenario = request_body(Scenario::Login, &ids(), Utc::now(), &creds())?;
        assert_eq!(via_scenario, login_body(&creds()));
        Ok(())
    }

    #[test]
    fn point_auth_body_is_the_point_body() -> Result<()> {
        let now = Utc::now();
        let point = request_body(Scenario::Point, &ids(), now, &creds())?;
        let auth = request_body(Scenario::PointAuth, &ids(), now, &creds())?;
        assert_eq!(point, auth);
        let body: Value = serde_json::from_str(&auth)?;
        assert_eq!(body["variables"], json!({ "id": "E1" }));
        Ok(())
    }

    #[test]
    fn scenario_names_and_user_needs() {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["point", "point-auth", "line", "plant", "series", "login"]
        );
        for s in Scenario::ALL {
            // The table name is the name `--scenarios` accepts.
            assert_eq!(Scenario::from_str(s.name(), false).ok(), Some(s));
        }
        let needing: Vec<Scenario> = Scenario::ALL
            .into_iter()
            .filter(|s| s.needs_user())
            .collect();
        assert_eq!(needing, [Scenario::PointAuth, Scenario::Login]);
    }

    #[test]
    fn login_response_needs_an_access_token() {
        let ok = json!({ "data": { "login": { "accessToken": "tok" } } });
        assert_eq!(parse_login(&ok).ok().as_deref(), Some("tok"));
        assert!(validate_scenario_response(Scenario::Login, &ok).is_ok());

        // A non-null `login` with a null token passes the generic check but not this one.
        let null_token = json!({ "data": { "login": { "accessToken": null } } });
        assert!(validate_response(&null_token).is_ok());
        assert!(validate_scenario_response(Scenario::Login, &null_token).is_err());
        assert!(validate_scenario_response(Scenario::Point, &null_token).is_ok());

        let empty = json!({ "data": { "login": { "accessToken": "" } } });
        assert!(parse_login(&empty).is_err());
        let no_field = json!({ "data": { "login": {} } });
        assert!(parse_login(&no_field).is_err());
        let refused = json!({ "data": null, "errors": [{ "message": "invalid credentials" }] });
        let err = parse_login(&refused).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("invalid credentials")));
        assert!(validate_scenario_response(Scenario::Login, &refused).is_err());
    }
}
