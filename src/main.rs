//! `smart-factory`: parses the command line and hands off to `cli::run`.

use clap::Parser;
use smart_factory::{cli, config::Config, telemetry};

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
