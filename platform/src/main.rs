//! `hall-platform serve`: runs the reference approval platform alone.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hall_platform::{ServerConfig, spawn};

#[derive(Parser)]
#[command(
    name = "hall-platform",
    version,
    about = "Reference approval platform for the hall"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform API until Ctrl-C (or SIGTERM).
    Serve {
        /// The SQLite database: `sqlite://PATH` or a bare path. Created when missing.
        #[arg(long, default_value = "sqlite://hall-platform.sqlite3")]
        db: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8780")]
        listen: SocketAddr,
        /// Do not seed the demo registry, cases and fee notices (the catalogue is still seeded).
        #[arg(long)]
        no_demo: bool,
        /// Pretend today is this date (YYYY-MM-DD), for demos on a chosen day.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Seconds the simulated payer takes to confirm a scanned payment code.
        #[arg(long, default_value_t = 3.0)]
        sim_payer_delay: f64,
    },
}

/// `sqlite://PATH`, `sqlite:PATH` or a bare path.
fn db_path(arg: &str) -> anyhow::Result<PathBuf> {
    let path = arg
        .strip_prefix("sqlite://")
        .or_else(|| arg.strip_prefix("sqlite:"))
        .unwrap_or(arg);
    anyhow::ensure!(!path.is_empty(), "--db names no file");
    Ok(PathBuf::from(path))
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM cannot be watched; only Ctrl-C stops the platform");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            db,
            listen,
            no_demo,
            today,
            sim_payer_delay,
        } => {
            anyhow::ensure!(
                sim_payer_delay.is_finite() && (0.0..=3600.0).contains(&sim_payer_delay),
                "--sim-payer-delay must be between 0 and 3600 seconds"
            );
            let mut config = ServerConfig::new(db_path(&db)?, listen);
            config.seed_demo = !no_demo;
            config.today = today;
            config.sim_payer_delay = std::time::Duration::from_secs_f64(sim_payer_delay);
            let server = spawn(config)
                .await
                .context("the platform could not start")?;
            println!("hall-platform listening on http://{}", server.addr);
            stop_signal().await;
            tracing::info!("stopping");
            server.shutdown().await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_argument_forms() {
        assert_eq!(
            db_path("sqlite:///tmp/a.db").unwrap(),
            PathBuf::from("/tmp/a.db")
        );
        assert_eq!(
            db_path("sqlite://hall.db").unwrap(),
            PathBuf::from("hall.db")
        );
        assert_eq!(db_path("sqlite:hall.db").unwrap(), PathBuf::from("hall.db"));
        assert_eq!(
            db_path("/var/lib/hall/p.db").unwrap(),
            PathBuf::from("/var/lib/hall/p.db")
        );
        assert!(db_path("sqlite://").is_err());
    }
}
