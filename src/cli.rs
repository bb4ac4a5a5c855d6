//! The command line: `serve` (default), `migrate`, `seed`, `export-schema`, `create-user`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use entity::{enums::Role, user, user_workshop, workshop};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::{auth::password, config::Config, seed, startup::Application, state::AppState};

/// Smart Factory GraphQL server.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when omitted.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API (migrates first; seeds the demo plant into an empty database).
    Serve,
    /// Manage the database schema.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Fill the database with a generated plant and its recent history.
    Seed {
        /// Size: demo, S or M.
        #[arg(long, default_value = "demo")]
        tier: seed::Tier,
        /// Wipe a non-empty database first.
        #[arg(long)]
        force: bool,
    },
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        /// Output file; standard output when omitted.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Run a maintenance task now, in this process (the same code the schedules run).
    Maintenance {
        #[arg(value_enum)]
        task: crate::maintenance::Task,
    },
    /// Run the job workers alone (no API, no schedules), to scale them apart from the API.
    /// The database must be migrated (`serve` or `migrate up` does it).
    Worker,
    /// Create a user. The password comes from SF_NEW_USER_PASSWORD, or is generated and
    /// printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Workshop codes the user may see (non-managers); repeatable.
        #[arg(long = "workshop")]
        workshops: Vec<String>,
    },
}

/// `migrate` actions.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MigrateAction {
    /// Apply pending migrations.
    Up,
    /// Roll back every migration.
    Down,
    /// List applied and pending migrations.
    Status,
    /// Drop everything and migrate from scratch.
    Fresh,
}

/// Roles as CLI values.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Viewer,
    Operator,
    Engineer,
    Manager,
    Admin,
    Gateway,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Engineer => Role::Engineer,
            RoleArg::Manager => Role::Manager,
            RoleArg::Admin => Role::Admin,
            RoleArg::Gateway => Role::Gateway,
        }
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            raise_open_file_limit();
            Application::build(config).await?.run_until_stopped().await
        }
        Command::ExportSchema { output } => {
            let sdl = crate::graphql::sdl();
            match output {
                Some(path) => std::fs::write(&path, sdl)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            }
        }
        Command::Migrate { action } => {
            let state = AppState::build(config).await?;
            let db = &state
                .db
                .schema(&state.config.database, state.metrics.clone())
                .await?;
            match action {
                MigrateAction::Up => Migrator::up(db, None).await?,
                MigrateAction::Down => Migrator::down(db, None).await?,
                MigrateAction::Status => Migrator::status(db).await?,
                // `refresh` (down, then up) rather than `fresh`: dropping tables in dependency
                // order works on SQLite with foreign keys enforced.
                MigrateAction::Fresh => Migrator::refresh(db).await?,
            }
            Ok(())
        }
        Command::Seed { tier, force } => {
            let state = AppState::build(config).await?;
            let db = &state
                .db
                .schema(&state.config.database, state.metrics.clone())
                .await?;
            Migrator::up(db, None).await?;
            if !seed::is_empty(db).await? {
                if !force {
                    anyhow::bail!("the database already holds a plant; use --force to wipe it");
                }
                Migrator::refresh(db).await?;
            }
            let report = seed::run(db, tier).await?;
            println!(
                "seeded tier {tier:?}: {} sensors, {} readings in {:.1} s",
                report.sensors, report.readings, report.seconds
            );
            Ok(())
        }
        Command::Maintenance { task } => {
            let state = AppState::build(config).await?;
            crate::jobs::storage::setup(&state.db.write).await?;
            let report = crate::maintenance::run(&state, task)
                .await
                .map_err(crate::error::AppError::into_anyhow)?;
            println!(
                "{}: {} ({} ms)",
                task.name(),
                report.detail,
                report.duration_ms
            );
            Ok(())
        }
        Command::Worker => {
            raise_open_file_limit();
            let state = AppState::build(config).await?;
            crate::jobs::storage::setup(&state.db.write).await?;
            let (shutdown, stop) = tokio::sync::watch::channel(false);
            let workers = crate::jobs::worker::start(&state, &stop);
            tracing::info!(instance = %state.instance_id, "job workers running");
            crate::startup::os_signal().await;
            tracing::info!("stopping the job workers");
            let _ = shutdown.send(true);
            let deadline = tokio::time::Instant::now() + state.config.server.shutdown_grace;
            for worker in workers {
                if tokio::time::timeout_at(deadline, worker).await.is_err() {
                    tracing::warn!("a job worker did not stop within the grace period");
                }
            }
            Ok(())
        }
        Command::CreateUser {
            username,
            role,
            workshops,
        } => {
            let state = AppState::build(config).await?;
            create_user(&state, &username, role.into(), &workshops).await
        }
    }
}

async fn create_user(
    state: &AppState,
    username: &str,
    role: Role,
    workshops: &[String],
) -> anyhow::Result<()> {
    Migrator::up(
        &state
            .db
            .schema(&state.config.database, state.metrics.clone())
            .await?,
        None,
    )
    .await?;
    let db = &state.db.write;
    let username = crate::service::validate::code("username", username, 64)
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let (secret, generated) = match std::env::var("SF_NEW_USER_PASSWORD") {
        Ok(p) if p.chars().count() >= 12 => (p, false),
        Ok(_) => anyhow::bail!("SF_NEW_USER_PASSWORD must be at least 12 characters"),
        Err(_) => (uuid::Uuid::new_v4().simple().to_string(), true),
    };
    let hash = password::hash(&secret)?;
    let txn = db.begin().await?;
    let now = chrono::Utc::now();
    let user = user::ActiveModel {
        username: Set(username.clone()),
        password_hash: Set(hash),
        role: Set(role),
        active: Set(true),
        failed_logins: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .context("creating the user (is the username taken?)")?;
    for code in workshops {
        let w = workshop::Entity::find()
            .filter(workshop::Column::Code.eq(code.as_str()))
            .one(&txn)
            .await?
            .with_context(|| format!("no workshop with code {code}"))?;
        user_workshop::ActiveModel {
            user_id: Set(user.id),
            workshop_id: Set(w.id),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    println!(
        "created user {username} ({}) with id {}",
        role.as_str(),
        user.id
    );
    if generated {
        println!("generated password (shown once): {secret}");
    }
    Ok(())
}

/// Raises the open-file soft limit to the hard limit: each WebSocket and SSE stream holds a
/// file descriptor, and the usual soft limit (1,024) would cap connections far below
/// `SF_WS_MAX_CONNECTIONS`. Logged either way; the kernel settings for more are in
/// docs/operations.md.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_files = limit, "open-file limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open-file limit"),
    }
}
