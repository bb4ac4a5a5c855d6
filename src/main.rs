//! `smart-factory`: parses the command line and hands off to `cli::run`.

use clap::Parser;
use smart_factory::{cli, config::Config, telemetry};

/// mimalloc instead of the system allocator: a request allocates many small, short-lived
/// objects across worker threads, where glibc malloc showed up as ~12 % of server CPU under
/// load (see BENCHMARKS.md for the measured difference).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let config = Config::from_env()?;
    telemetry::logging::init(&config.log);
    if let Err(err) = cli::run(cli, config).await {
        tracing::error!(error.cause_chain = ?err, "fatal");
        return Err(err);
    }
    Ok(())
}
