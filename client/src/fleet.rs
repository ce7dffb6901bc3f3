//! The kiosk's side of fleet control: enrol once, then heartbeat, call for help, report journey
//! events, and long-poll for commands, acknowledging each with its result. Types are in
//! [`hall_domain::api`].
//!
//! ```no_run
//! # async fn run() -> Result<(), hall_client::FleetError> {
//! use hall_client::FleetClient;
//! // First start: trade the provisioning file's token for the kiosk's own credential, and keep it.
//! let enrolled = FleetClient::enrol("https://platform.example", "hke_…").await?;
//! let fleet = FleetClient::new("https://platform.example", &enrolled.credential)?;
//! if let Some(cmd) = fleet.next_command(25).await? {
//!     // carry it out (a restart waits for the citizen unless cmd.force), then:
//!     fleet.ack(&cmd.id, true, Some("restarted")).await?;
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use hall_domain::api::{
    self, CommandAck, EnrolRequest, Enrolled, FleetCommand, Heartbeat, HeartbeatAnswer,
    HelpRequest, JourneyReport, JourneyReportAnswer, Problem,
};

/// Why a fleet call failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The platform could not be reached or did not answer in time: try again later.
    #[error("platform unreachable: {0}")]
    Unreachable(String),
    /// The credential (or enrolment token) is not accepted: enrol again with a new token.
    #[error("not authorised: {0}")]
    Unauthorised(String),
    /// The platform refused the request.
    #[error("refused ({status}): {title}")]
    Refused { status: u16, title: String },
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// A kiosk's fleet client.
#[derive(Clone)]
pub struct FleetClient {
    base: String,
    credential: String,
    http: reqwest::Client,
    /// For bundles: no limit on the whole transfer (hundreds of MB at a capped rate), only on
    /// each read.
    download: reqwest::Client,
}

fn client(base_url: &str, timeout: Duration) -> Result<reqwest::Client, FleetError> {
    crate::link::builder(base_url)
        .map_err(|e| FleetError::Protocol(e.to_string()))?
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("hall-kiosk-fleet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FleetError::Protocol(format!("HTTP client: {e}")))
}

fn net(e: reqwest::Error) -> FleetError {
    FleetError::Unreachable(e.to_string())
}

async fn refused(resp: reqwest::Response) -> FleetError {
    let status = resp.status();
    let title = match resp.json::<Problem>().await {
        Ok(p) => p.detail.unwrap_or(p.title),
        Err(_) => status.to_string(),
    };
    if status == reqwest::StatusCode::UNAUTHORIZED {
        FleetError::Unauthorised(title)
    } else if status.is_server_error() {
        FleetError::Unreachable(format!("{status}: {title}"))
    } else {
        FleetError::Refused {
            status: status.as_u16(),
            title,
        }
    }
}

async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, FleetError> {
    if !resp.status().is_success() {
        return Err(refused(resp).await);
    }
    resp.json()
        .await
        .map_err(|e| FleetError::Protocol(e.to_string()))
}

impl FleetClient {
    /// Trades a one-time enrolment token for the kiosk's own credential. Store
    /// `Enrolled::credential` safely: the token does not work a second time.
    pub async fn enrol(base_url: &str, enrolment_token: &str) -> Result<Enrolled, FleetError> {
        let base = base_url.trim_end_matches('/');
        let resp = client(base, Duration::from_secs(15))?
            .post(format!("{base}{}", api::FLEET_ENROL))
            .json(&EnrolRequest {
                enrolment_token: enrolment_token.trim().to_string(),
            })
            .send()
            .await
            .map_err(net)?;
        json(resp).await
    }

    /// A client speaking with the kiosk's credential.
    pub fn new(base_url: &str, credential: &str) -> Result<Self, FleetError> {
        Ok(Self {
            base: base_url.trim_end_matches('/').to_string(),
            credential: credential.trim().to_string(),
            // Longer than the longest long-poll.
            http: client(base_url, Duration::from_secs(45))?,
            download: crate::link::builder(base_url)
                .map_err(|e| FleetError::Protocol(e.to_string()))?
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .user_agent(concat!("hall-kiosk-fleet/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FleetError::Protocol(format!("HTTP client: {e}")))?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Reports the kiosk's state; the answer says how often to report and whether a command
    /// waits.
    pub async fn heartbeat(&self, hb: &Heartbeat) -> Result<HeartbeatAnswer, FleetError> {
        let resp = self
            .http
            .post(self.url(api::FLEET_HEARTBEAT))
            .bearer_auth(&self.credential)
            .json(hb)
            .send()
            .await
            .map_err(net)?;
        json(resp).await
    }

    /// Reports journey events (at most [`api::JOURNEY_EVENTS_MAX`]); the platform counts an
    /// event it already has once. `Refused` with status 422: an event does not make sense
    /// ([`api::check_event`]), and the whole report was refused.
    pub async fn journeys(
        &self,
        report: &JourneyReport,
    ) -> Result<JourneyReportAnswer, FleetError> {
        let resp = self
            .http
            .post(self.url(api::FLEET_JOURNEYS))
            .bearer_auth(&self.credential)
            .json(report)
            .send()
            .await
            .map_err(net)?;
        json(resp).await
    }

    /// The help button (`true`), or withdrawing the call (`false`).
    pub async fn help(&self, needs_help: bool, note: Option<&str>) -> Result<(), FleetError> {
        let resp = self
            .http
            .post(self.url(api::FLEET_HELP))
            .bearer_auth(&self.credential)
            .json(&HelpRequest {
                needs_help,
                note: note.map(str::to_string),
            })
            .send()
            .await
            .map_err(net)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(refused(resp).await)
        }
    }

    /// Waits up to `wait_secs` (at most 30) for the next command. A command returned here is
    /// never handed out again: carry it out (restart and reboot only once no citizen is using
    /// the kiosk, unless `force`) and [`FleetClient::ack`] it.
    pub async fn next_command(&self, wait_secs: u32) -> Result<Option<FleetCommand>, FleetError> {
        let resp = self
            .http
            .get(self.url(&api::fleet_poll_path(wait_secs.min(30))))
            .bearer_auth(&self.credential)
            .send()
            .await
            .map_err(net)?;
        if resp.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        json(resp).await.map(Some)
    }

    /// Starts the download of a release's bundle: `bundle_path` is the offer's path on the
    /// platform ([`api::release_bundle_path`]); from byte `from` on (`Range: bytes=from-`), the
    /// answer then 206 with `Content-Range` (or 200 with the whole bundle when the platform
    /// ignores the range). The caller reads the body. Any other answer is an error here.
    pub async fn bundle(
        &self,
        bundle_path: &str,
        from: u64,
    ) -> Result<reqwest::Response, FleetError> {
        // A path on the platform only: the credential goes nowhere else.
        if !bundle_path.starts_with('/') || bundle_path.starts_with("//") {
            return Err(FleetError::Protocol(format!(
                "the bundle path {bundle_path:?} is not a path on the platform"
            )));
        }
        let mut req = self
            .download
            .get(self.url(bundle_path))
            .bearer_auth(&self.credential);
        if from > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let resp = req.send().await.map_err(net)?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(refused(resp).await)
        }
    }

    /// Reports what became of a command. For a restart or reboot, acknowledge after the restart
    /// (the command id is worth keeping across it), or before, with `ok` and "restarting".
    pub async fn ack(
        &self,
        command_id: &str,
        ok: bool,
        result: Option<&str>,
    ) -> Result<FleetCommand, FleetError> {
        let resp = self
            .http
            .post(self.url(&api::fleet_ack_path(command_id)))
            .bearer_auth(&self.credential)
            .json(&CommandAck {
                ok,
                result: result.map(str::to_string),
            })
            .send()
            .await
            .map_err(net)?;
        json(resp).await
    }
}
