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
pub mod console_rules;
pub mod dashboard;
pub mod db;
mod deadline;
pub mod demo;
mod error;
pub mod fleet;
pub(crate) mod fleet_rules;
mod http;
mod limits;
pub mod notify;
pub mod payment;
mod problem;
pub use hall_seal as seal;
mod seed;
pub mod serve;
pub mod staff;
mod state;
pub mod store;
pub mod tls;
pub mod updates;
pub mod workdays;

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use db::DbUrl;
pub use http::check_kiosk;
pub use http::router;
pub use state::{
    AppState, MIN_PAYER_CONFIRM, PlatformError, Rate, SealKeys, ServerConfig, calendar_with,
};
pub use store::StoreError;

/// A platform serving on [`RunningServer::addr`] until [`RunningServer::shutdown`].
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    state: AppState,
}

impl RunningServer {
    /// A one-time enrolment token for `kiosk_id` (valid 24 h), as `hall-platform fleet enrol`
    /// prints it: the embedded demo hands it to its own kiosk.
    pub async fn enrolment_token(
        &self,
        kiosk_id: &str,
        hall: &str,
    ) -> Result<String, PlatformError> {
        check_kiosk(kiosk_id, hall).map_err(PlatformError::Enrolment)?;
        let (k, h) = (kiosk_id.to_string(), hall.to_string());
        let (now, now_ms) = (self.state.clock().now(), self.state.clock().millis());
        Ok(self
            .state
            .store()
            .write(move |_, c| {
                store::fleet::create_enrol_token(
                    c,
                    &k,
                    &h,
                    24 * 3_600_000,
                    &audit::Actor::Admin,
                    now,
                    now_ms,
                )
            })
            .await?)
    }

    /// Enrols `kiosk_id` at once and returns its credential (a token created and traded in one
    /// go), for tests and tools that play a kiosk.
    pub async fn enrol_kiosk(&self, kiosk_id: &str, hall: &str) -> Result<String, PlatformError> {
        let token = self.enrolment_token(kiosk_id, hall).await?;
        let sha = staff::token_hash(&token);
        let (now, now_ms) = (self.state.clock().now(), self.state.clock().millis());
        let enrolled = self
            .state
            .store()
            .write(move |_, c| store::fleet::enrol(c, &sha, now, now_ms))
            .await?;
        enrolled
            .map(|(_, _, credential)| credential)
            .ok_or_else(|| PlatformError::Enrolment("a fresh enrolment token was refused".into()))
    }

    /// Adds (or resets) a console user with this password (no change forced): the demo's help
    /// desk and tests.
    pub async fn console_user(
        &self,
        name: &str,
        role: console_rules::ConsoleRole,
        password: &str,
    ) -> Result<(), PlatformError> {
        if !console_rules::valid_name(name) {
            return Err(PlatformError::ConsoleUser(format!(
                "{name:?} is not a user name"
            )));
        }
        let phc = console_rules::hash_password(password)
            .map_err(|e| PlatformError::ConsoleUser(e.to_string()))?;
        let (n, now) = (name.to_string(), self.state.clock().now());
        Ok(self
            .state
            .store()
            .write(move |_, c| store::console::put_user(c, &n, role, &phc, false, now))
            .await?)
    }

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
    if let Some(url) = state.store().postgres_url() {
        notify::listen(url, state.local_changes(), state.stopping());
    }
    http::follow_up::spawn(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(state.clone());
    let kept = state.clone();
    let shutdown = async move {
        // A dropped sender also means stop.
        let _ = stopped.await;
        state.stop_waiting();
    };
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let task = tokio::spawn(serve::serve(listener, tls, app, config.limits, shutdown));
    tracing::info!(%addr, tls = config.tls.is_some(), "platform listening");
    Ok(RunningServer {
        addr,
        tls: config.tls.is_some(),
        stop,
        task,
        state: kept,
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
