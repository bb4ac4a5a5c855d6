//! `TestApp`: a running server with its own database, and client helpers.

#![allow(dead_code)]

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{enums::Role, user};
use reqwest::{StatusCode, header::HeaderMap};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
pub use smart_factory::seed::Shape;
use smart_factory::{config::Config, seed, startup::Application, state::AppState};

/// A small plant: 1 workshop, 1 line, 2 machines with 2 sensors each, 1 h of readings.
pub const SMALL: Shape = Shape {
    workshops: 1,
    lines_per_workshop: 1,
    machines_per_line: 2,
    sensors_per_machine: 2,
    fast_share: 0.0,
    history_hours: 1,
    products: 3,
};

/// Ten times SMALL's structure: 2 workshops, 5 lines each, 2 machines per line.
pub const LARGE: Shape = Shape {
    workshops: 2,
    lines_per_workshop: 5,
    machines_per_line: 2,
    sensors_per_machine: 2,
    fast_share: 0.0,
    history_hours: 1,
    products: 3,
};

/// Where the test's database lives; dropped (PostgreSQL) when the test ends.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(db) = Database::connect(&admin_url).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: tokio::sync::watch::Sender<bool>,
    _db: TestDb,
}

/// A GraphQL answer: HTTP status, headers, JSON body.
pub struct GqlResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl GqlResponse {
    /// `data`, failing the test if there are errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error, failing the test if there is none.
    pub fn error_code(&self) -> String {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
            .to_owned()
    }

    /// The first error's message.
    pub fn error_message(&self) -> String {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// SQL statements the request ran (response header).
    pub fn sql_statements(&self) -> u32 {
        self.headers
            .get("x-sql-statements")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("x-sql-statements header")
    }
}

/// A client socket on the server's `/graphql/ws`.
pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` of the server at `http_address` speaking `protocol`
/// (`graphql-transport-ws` or `graphql-ws`).
pub async fn ws_connect(http_address: &str, protocol: &'static str) -> WsStream {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest as _, http::HeaderValue};
    let url = format!("{}/graphql/ws", http_address.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect")
        .0
}

/// Whether the suite runs against PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

/// The Redis every app of the suite uses, when `TEST_REDIS_URL` is set.
pub fn test_redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// The suite's Redis when `TEST_REDIS_URL` is set, else a `redis-server` of the test's own
/// (kept alive by the returned guard), so tests needing Redis never skip.
pub async fn shared_or_own_redis() -> (Option<RedisServer>, String) {
    match test_redis_url() {
        Some(url) => (None, url),
        None => {
            let server = RedisServer::start().await;
            let url = server.url();
            (Some(server), url)
        }
    }
}

/// A Redis key prefix no other app of the suite uses.
pub fn unique_redis_prefix() -> String {
    format!("sf_test_{}:", uuid::Uuid::new_v4().simple())
}

/// A fresh database for one test: a SQLite file, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` is set; its URL, and the guard that removes it.
pub async fn create_database() -> (String, TestDb) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("sf_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("URL with a database name");
            (
                format!("{base}/{name}"),
                TestDb::Postgres { admin_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            (url, TestDb::Sqlite(dir))
        }
    }
}

impl TestApp {
    /// An application on an empty, migrated database.
    pub async fn spawn() -> Self {
        Self::spawn_with(None, |_| {}).await
    }

    /// An application on a database seeded with `shape`.
    pub async fn seeded(shape: Shape) -> Self {
        Self::spawn_with(Some(shape), |_| {}).await
    }

    /// An application with a seeded `shape` (if any) and a configuration tweak.
    pub async fn spawn_with(shape: Option<Shape>, tweak: impl FnOnce(&mut Config)) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            smart_factory::telemetry::logging::init(&smart_factory::config::LogConfig {
                filter: "debug".into(),
                json: false,
            });
        }
        let (url, db) = create_database().await;
        let mut config = Config::for_database(&url).expect("config");
        if let Some(redis) = test_redis_url() {
            // Shared server, own keys: parallel tests never see each other's buckets.
            config.redis.url = Some(secrecy::SecretString::from(redis));
            config.redis.prefix = unique_redis_prefix();
            config.redis.pool_size = 2;
        }
        tweak(&mut config);
        let state = AppState::build(config).await.expect("state");
        let app = Application::build_with_state(state.clone())
            .await
            .expect("build application");
        if let Some(shape) = shape {
            seed::run_shape(&state.db.write, &shape)
                .await
                .expect("seed");
        }
        let address = format!("http://127.0.0.1:{}", app.port());
        let shutdown = app.shutdown_handle();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            address,
            client,
            state,
            shutdown,
            _db: db,
        }
    }

    /// Stops the server as a signal would (graceful shutdown).
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// POSTs a GraphQL operation as `application/json`.
    pub async fn graphql(&self, query: &str, variables: Value) -> GqlResponse {
        self.post_json(&json!({ "query": query, "variables": variables }))
            .await
    }

    /// POSTs a GraphQL operation with `Authorization: Bearer <token>`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> GqlResponse {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        Self::read(response).await
    }

    /// POSTs a GraphQL operation with extra request headers.
    pub async fn graphql_with_headers(
        &self,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> GqlResponse {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::read(request.send().await.expect("request")).await
    }

    /// POSTs any JSON body to `/graphql`.
    pub async fn post_json(&self, body: &Value) -> GqlResponse {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(body)
            .send()
            .await
            .expect("request");
        Self::read(response).await
    }

    /// POSTs raw bytes to `/graphql` with the given content type and accept header.
    pub async fn post_raw(
        &self,
        content_type: &str,
        accept: Option<&str>,
        body: Vec<u8>,
    ) -> GqlResponse {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        Self::read(request.send().await.expect("request")).await
    }

    /// GETs a path.
    pub async fn get(&self, path_and_query: &str) -> GqlResponse {
        let response = self
            .client
            .get(format!("{}{}", self.address, path_and_query))
            .send()
            .await
            .expect("request");
        Self::read(response).await
    }

    async fn read(response: reqwest::Response) -> GqlResponse {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        GqlResponse {
            status,
            headers,
            body,
        }
    }

    /// Id of the first item of a top-level connection, e.g. `first_id("lines")`.
    pub async fn first_id(&self, connection: &str) -> String {
        let query = format!("{{ {connection}(first: 1) {{ edges {{ node {{ id }} }} }} }}");
        let response = self.graphql(&query, json!({})).await;
        response.data()[connection]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no {connection}: {}", response.body))
            .to_owned()
    }

    /// Logs in and returns the access token, failing the test on an error.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .graphql(
                "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) \
                 { accessToken } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        response.data()["login"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {}", response.body))
            .to_owned()
    }

    /// A real admin user (created once per app, `ADMIN_PASSWORD`) and a fresh access token.
    pub async fn admin_token(&self) -> String {
        let exists = user::Entity::find()
            .filter(user::Column::Username.eq("test-admin"))
            .one(&self.state.db.write)
            .await
            .expect("query")
            .is_some();
        if !exists {
            insert_user_with_password(self, "test-admin", Role::Admin, ADMIN_PASSWORD).await;
        }
        self.login("test-admin", ADMIN_PASSWORD).await
    }

    /// Row count of a table, to prove a failed write changed nothing.
    pub async fn count(&self, table: &str) -> i64 {
        let db = &self.state.db.write;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Password of `TestApp::admin_token`'s admin.
pub const ADMIN_PASSWORD: &str = "test admin password";

/// Strings that must be stored and matched literally, never interpreted.
pub const HOSTILE_STRINGS: &[&str] = &[
    "Robert'); DROP TABLE equipment;--",
    "' OR '1'='1",
    "%_\\ wildcard",
    "<script>alert(1)</script>",
    "日本語 — ünïcödé 🏭",
    "$1 ?1 :name",
];

/// The index of the first of `HOSTILE_STRINGS` that holds `fragment`.
pub fn hostile_index(fragment: &str) -> usize {
    HOSTILE_STRINGS
        .iter()
        .position(|h| h.contains(fragment))
        .unwrap_or_else(|| panic!("a hostile string holding {fragment:?}"))
}

/// A timestamp the API returned, failing the test if it is not RFC 3339.
pub fn time(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("a timestamp, got {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("`{s}` is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// A time as a `DateTime` argument.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A JSON list, failing the test if `v` is something else.
pub fn list(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("a list, got {v}"))
}

/// The numeric `id` of a node.
pub fn id_of(v: &Value) -> i64 {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a numeric id in {v}"))
}

/// The numeric ids of nodes, in order.
pub fn ids(nodes: &[Value]) -> Vec<i64> {
    nodes.iter().map(id_of).collect()
}

/// Ids of the nodes of `all` that satisfy `keep`, in the order of `all`.
pub fn expected(all: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<i64> {
    all.iter().filter(|a| keep(a)).map(id_of).collect()
}

/// Inserts an active user with an argon2 hash of `password` and returns its id.
pub async fn insert_user_with_password(
    app: &TestApp,
    username: &str,
    role: Role,
    password: &str,
) -> i64 {
    let now = Utc::now();
    user::Entity::insert(user::ActiveModel {
        username: Set(username.into()),
        password_hash: Set(smart_factory::auth::password::hash(password).expect("hash")),
        role: Set(role),
        active: Set(true),
        failed_logins: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&app.state.db.write)
    .await
    .expect("insert user")
    .last_insert_id
}

/// Inserts an active user directly in the database and returns its id.
pub async fn insert_user(app: &TestApp, username: &str, role: Role) -> i64 {
    let now = Utc::now();
    user::Entity::insert(user::ActiveModel {
        username: Set(username.into()),
        email: Set(None),
        display_name: Set(None),
        password_hash: Set("x".into()),
        role: Set(role),
        active: Set(true),
        failed_logins: Set(0),
        last_failed_at: Set(None),
        locked_until: Set(None),
        password_changed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&app.state.db.write)
    .await
    .expect("insert user")
    .last_insert_id
}

/// A `redis-server` of a test's own on a free port (never the shared one), killed when
/// dropped. A test using it fails when `redis-server` is not on PATH.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port).await
    }

    pub async fn start_on(port: u16) -> Self {
        let port_arg = port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port_arg, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("this test needs `redis-server` on PATH");
        let server = Self {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .expect("kill -STOP");
        assert!(status.success(), "could not freeze redis-server");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two instances on one database (seeded SMALL) and one Redis; keep the first value alive
/// (a Redis of the test's own when none is shared).
pub async fn two_instances() -> (Option<RedisServer>, TestApp, TestApp) {
    let (_own, url) = shared_or_own_redis().await;
    let prefix = unique_redis_prefix();
    let a = TestApp::spawn_with(Some(SMALL), |c| {
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    let shared_db = secrecy::ExposeSecret::expose_secret(&a.state.config.database.url).to_owned();
    let b = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    (_own, a, b)
}
