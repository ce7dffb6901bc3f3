//! The reference approval platform of the hall.
//!
//! It serves the platform API (`/api/v1`, see [`hall_domain::api`]) from a SQLite file or a
//! PostgreSQL database: the versioned item catalogue, the project and organisation registries,
//! applications with their approval codes and department nodes (moved on by department staff),
//! fee notices and payment orders with a simulated payment provider, and a hash-chained audit
//! log of every change. The kiosk embeds it on loopback for a self-contained hall; the
//! `hall-platform` binary runs it alone and carries the admin commands.

mod application;
pub mod audit;
pub mod catalogue;
pub mod clock;
pub mod db;
pub mod demo;
mod error;
pub mod fleet;
pub(crate) mod fleet_rules;
mod http;
pub mod payment;
mod problem;
mod seed;
pub mod staff;
mod state;
pub mod store;
pub mod tls;
pub mod workdays;

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use db::DbUrl;
pub use http::check_kiosk;
pub use http::router;
pub use state::{AppState, MIN_PAYER_CONFIRM, PlatformError, ServerConfig, calendar_with};
pub use store::StoreError;

/// A platform serving on [`RunningServer::addr`] until [`RunningServer::shutdown`].
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets requests in flight finish, and closes the database.
    pub async fn shutdown(self) {
        // The server may have stopped already; then there is nobody to tell.
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => tracing::info!("platform stopped"),
            Ok(Err(e)) => tracing::warn!(error = %e, "platform stopped with an I/O error"),
            Err(e) => tracing::warn!(error = %e, "platform task ended abnormally"),
        }
    }
}

/// Opens the database, binds the listener and serves in the background. Returns once the socket
/// is listening.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, PlatformError> {
    let open_config = config.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open(&open_config)).await??;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| PlatformError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| PlatformError::Listen {
            addr: config.listen,
            source,
        })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(state.clone());
    let shutdown = async move {
        // A dropped sender also means stop.
        let _ = stopped.await;
        state.stop_waiting();
    };
    let task = match &config.tls {
        Some(files) => {
            let listener =
                tls::TlsListener::new(listener, tls::acceptor(files)?).map_err(|source| {
                    PlatformError::Listen {
                        addr: config.listen,
                        source,
                    }
                })?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }),
    };
    tracing::info!(%addr, tls = config.tls.is_some(), "platform listening");
    Ok(RunningServer {
        addr,
        tls: config.tls.is_some(),
        stop,
        task,
    })
}

/// Why a department's action was refused, in words (English, then Chinese), with the HTTP
/// status the staff API answers with.
pub fn refusal_problem(r: staff::Refusal) -> String {
    let e = http::refusal_error(r);
    match e.errors.first() {
        Some(f) => format!(
            "{} / {} (HTTP {})",
            f.message_en,
            f.message,
            e.status.as_u16()
        ),
        None => format!("{} (HTTP {})", e.detail, e.status.as_u16()),
    }
}
