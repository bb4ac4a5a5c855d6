//! `smart-factory`: parses the command line and hands off to `cli::run`.

use clap::Parser;
use smart_factory::{cli, config::Config, telemetry};

/// mimalloc instead of the system allocator: a request allocates many small, short-lived
/// objects across worker threads, where glibc malloc showed up as ~12 % of server CPU under
/// load (see BENCHMARKS.md for the measured difference).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the runtime waits for blocking tasks once the command has finished: the server
/// has drained what it will drain by then, and nothing left may keep the process alive.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(1);

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let config = Config::from_env()?;
    telemetry::logging::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(cli::run(cli, config));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    if let Err(err) = &result {
        tracing::error!(error.cause_chain = ?err, "fatal");
    }
    result
}
