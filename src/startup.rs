//! `Application`: binds the listener, assembles the router, runs until a shutdown signal.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, header},
    routing::get,
};
use tokio::{net::TcpListener, sync::watch};
use tower_http::{
    compression::{CompressionLayer, predicate::SizeAbove},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{
    config::Config,
    graphql::{self, transport::GraphqlHttp},
    seed, simulator,
    state::AppState,
    telemetry::health,
};

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown: watch::Sender<bool>,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Application {
    /// Connects, migrates, seeds when asked, and binds `SF_BIND` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let state = AppState::build(config).await?;
        Self::build_with_state(state).await
    }

    /// As `build`, for a state made elsewhere (tests).
    pub async fn build_with_state(state: AppState) -> anyhow::Result<Self> {
        let schema = state
            .db
            .schema(&state.config.database, state.metrics.clone())
            .await?;
        <migration::Migrator as migration::MigratorTrait>::up(&schema, None).await?;
        crate::jobs::storage::setup(&state.db.write).await?;
        if let Some(tier) = state.config.demo.seed
            && seed::is_empty(&state.db.write).await?
        {
            tracing::info!(?tier, "empty database: seeding demo data");
            seed::run(&state.db.write, tier).await?;
        }
        let listener = TcpListener::bind(state.config.server.bind)
            .await
            .with_context(|| format!("binding {}", state.config.server.bind))?;
        let router = router(state.clone());
        let (shutdown, _) = watch::channel(false);
        Ok(Self {
            listener,
            router,
            state,
            shutdown,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The state the server runs with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle that stops the server when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Serves until SIGINT/SIGTERM or the shutdown handle fires, then drains in-flight
    /// requests (up to `SF_SHUTDOWN_GRACE_S`) and stops the background tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            state,
            shutdown,
        } = self;
        let mut background = crate::events::bridge::start(
            &state.config.redis,
            state.redis.clone(),
            state.events.clone(),
            shutdown.subscribe(),
        )
        .await?;
        background.push(crate::auth::revocations::listen(
            &state.events,
            state.auth.clone(),
            state.sockets.clone(),
            shutdown.subscribe(),
        ));
        // The cache follows invalidations and readings from every instance.
        background.push(state.cache.start(&state.events, shutdown.subscribe()));
        // The subscription hub's bus receivers, one per topic, taken before the server
        // accepts its first subscription; at shutdown its subscriptions complete.
        background.extend(state.hub.start(&state.events, &shutdown.subscribe()));
        // One metrics collector per instance (snapshots, history, alert rules).
        if state.config.metrics.collector {
            background.push(crate::telemetry::collector::start(
                state.clone(),
                shutdown.subscribe(),
            ));
        } else {
            tracing::warn!("SF_METRICS_COLLECTOR=off: no metric snapshots, history or alerts");
        }
        // Job workers and schedules (`smart-factory worker` runs workers alone).
        if state.config.jobs.workers {
            background.extend(crate::jobs::worker::start(&state, &shutdown.subscribe()));
        }
        if state.config.jobs.scheduler {
            background.push(crate::jobs::scheduler::start(&state, shutdown.subscribe()));
        }
        if state.config.demo.simulator {
            background.push(tokio::spawn(simulator::run(
                state.clone(),
                shutdown.subscribe(),
            )));
        }
        let mut stop = shutdown.subscribe();
        let os_signal = os_signal();
        let (stopping, stopped_at) = tokio::sync::oneshot::channel::<()>();
        let sockets = state.sockets.clone();
        let signal = async move {
            tokio::select! {
                () = os_signal => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            tracing::info!("shutting down: draining connections");
            // Sockets and streams complete their operations and close (1001) at once,
            // rather than holding the drain until the grace period ends.
            sockets.shut_down();
            let _ = stopping.send(());
        };
        tracing::info!(addr = %listener.local_addr()?, "serving");
        let grace = state.config.server.shutdown_grace;
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        // Draining waits for every open connection (sockets, stalled uploads): after the
        // grace period the server stops anyway, and a watchdog thread ends the process if
        // even that does not happen (a wedged runtime cannot run the timer).
        let watchdog = Watchdog::default();
        let overdue = {
            let watchdog = watchdog.clone();
            async move {
                if stopped_at.await.is_err() {
                    return std::future::pending().await;
                }
                // Draining, then the background tasks: each within the grace period.
                watchdog.arm(grace * 2 + WATCHDOG_SLACK);
                tokio::time::sleep(grace).await;
            }
        };
        let result = tokio::select! {
            result = serve => result,
            () = overdue => {
                tracing::warn!(
                    grace_s = grace.as_secs(),
                    "connections still open after the shutdown grace period: stopping anyway"
                );
                Ok(())
            }
        };
        let _ = shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        for task in background {
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                tracing::warn!("a background task did not stop within the grace period");
            }
        }
        if let Some(redis) = &state.redis {
            use fred::interfaces::ClientLike as _;
            let _ = tokio::time::timeout(state.config.redis.timeout * 4, redis.quit()).await;
        }
        state.db.write.clone().close().await.ok();
        result.context("serving HTTP")
    }
}

/// How long past the grace period the watchdog waits before ending the process.
const WATCHDOG_SLACK: std::time::Duration = std::time::Duration::from_secs(10);

/// Ends the process if shutdown, once armed, has not finished in time. Disarmed when the
/// last clone is dropped (shutdown completed, or the server future was dropped).
#[derive(Clone, Default)]
struct Watchdog {
    disarm: std::sync::Arc<std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>>,
}

impl Watchdog {
    fn arm(&self, after: std::time::Duration) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        if let Ok(mut slot) = self.disarm.lock() {
            *slot = Some(tx);
        }
        let spawned = std::thread::Builder::new()
            .name("shutdown-watchdog".into())
            .spawn(move || {
                if rx.recv_timeout(after) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                    tracing::error!(
                        after_s = after.as_secs(),
                        "shutdown did not complete: exiting the process"
                    );
                    std::process::exit(1);
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "could not start the shutdown watchdog");
        }
    }
}

/// Installs the SIGTERM/SIGINT handlers now — before the server reports that it serves, so a
/// stop request arriving right after start-up is graceful too — and resolves on the first.
#[cfg(unix)]
pub fn os_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (terminate, interrupt) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                only.recv().await;
            }
            (Err(_), Err(_)) => std::future::pending::<()>().await,
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn os_signal() -> impl Future<Output = ()> {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Every route of the server, with its middleware.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let http = GraphqlHttp {
        schema: graphql::build_schema(Some(state.clone())),
        state: state.clone(),
    };
    let mut graphql_routes = Router::new()
        .route(
            "/graphql",
            get(graphql::transport::http::get).post(graphql::transport::http::post),
        )
        .route("/graphql/ws", get(graphql::transport::ws::upgrade))
        .route(
            "/graphql/stream",
            get(graphql::transport::sse::get).post(graphql::transport::sse::post),
        );
    if config.server.graphiql {
        graphql_routes = graphql_routes.merge(graphql::graphiql::routes());
    }
    // The wall screen: a static page; everything it shows comes through the API's own auth.
    graphql_routes = graphql_routes.merge(crate::dashboard::routes(config.auth.dev_admin_fallback));
    let graphql_routes = graphql_routes
        .layer(DefaultBodyLimit::max(config.server.body_limit_bytes))
        .with_state(http);
    let ingest = Router::new()
        .route("/ingest", axum::routing::post(crate::ingest::post))
        .layer(DefaultBodyLimit::max(config.server.body_limit_bytes))
        .with_state(state.clone());
    let ops = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .with_state(state);
    let hsts = (config.server.hsts_max_age > 0).then(|| {
        HeaderValue::from_str(&format!(
            "max-age={}; includeSubDomains",
            config.server.hsts_max_age
        ))
    });
    let mut router = Router::new().merge(graphql_routes).merge(ingest).merge(ops);
    if let Some(cors) = cors_layer(&config.server.cors_origins) {
        router = router.layer(cors);
    }
    if let Some(Ok(hsts)) = hsts {
        router = router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let hsts = hsts.clone();
                async move {
                    // The server speaks plain HTTP behind a TLS proxy; HSTS is only meaningful
                    // (and only honoured by browsers) on responses that travelled over HTTPS.
                    let https = req
                        .headers()
                        .get("x-forwarded-proto")
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
                    let mut response = next.run(req).await;
                    if https {
                        response
                            .headers_mut()
                            .insert(header::STRICT_TRANSPORT_SECURITY, hsts);
                    }
                    response
                }
            },
        ));
    }
    router
        .layer(CompressionLayer::new().compress_when(SizeAbove::new(
            config.server.compression_min_bytes,
        )))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// CORS for browser clients on other origins (`SF_CORS_ORIGINS`); none configured, no layer:
/// only same-origin pages can call the API. Bearer tokens, not cookies, so no credentials.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                REQUEST_ID,
            ])
            .expose_headers([
                REQUEST_ID,
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
