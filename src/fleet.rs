//! The kiosk in the hall's fleet: it enrols once with the one-time token from its provisioning
//! file (`[fleet] enrolment_token`), keeps the credential it gets in its data directory and
//! erases the token from its configuration; then it reports a heartbeat at the interval the
//! platform asks, raises help requests, and long-polls for help-desk commands (no inbound port).
//!
//! Commands are carried out by the UI thread (the kiosk application), which knows whether a
//! citizen is in front of the kiosk: a restart or reboot waits for the session to end unless it
//! is forced. Each command is acknowledged with its result before it is carried out.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hall_client::{FleetClient, FleetError};
use hall_domain::api::{
    DeviceHealth, DeviceState, FleetCommand, Heartbeat, SystemReport, UpdateOffer,
};

/// What the heartbeat reports, kept up to date by the UI thread (devices, in use) and the
/// updater (the system); what the heartbeat's answers said, for the updater.
#[derive(Debug, Clone)]
pub struct FleetStatus {
    pub devices: DeviceHealth,
    pub in_use: bool,
    pub last_error: Option<String>,
    /// The running system and its update (`crate::update`).
    pub system: Option<SystemReport>,
    /// The update offered in the last heartbeat answer.
    pub offer: Option<UpdateOffer>,
    /// The platform answered a heartbeat since the start.
    pub platform_answered: bool,
}

impl Default for FleetStatus {
    fn default() -> Self {
        Self {
            devices: DeviceHealth {
                printer: DeviceState::Absent,
                reader: DeviceState::Absent,
                camera: DeviceState::Absent,
                scanner: DeviceState::Absent,
            },
            in_use: false,
            last_error: None,
            system: None,
            offer: None,
            platform_answered: false,
        }
    }
}

/// Shared between the UI thread (writes) and the fleet agent (reads).
pub type SharedStatus = Arc<Mutex<FleetStatus>>;

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("cannot keep the fleet credential in {path}: {source}")]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("enrolment refused: {0}")]
    Fleet(#[from] FleetError),
}

/// Where the kiosk keeps its fleet credential.
pub fn credential_path(data_dir: &Path) -> PathBuf {
    data_dir.join("fleet-credential")
}

/// The stored credential, if the kiosk has enrolled.
pub fn load_credential(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(credential_path(data_dir)).ok()?;
    let c = text.trim();
    (!c.is_empty()).then(|| c.to_string())
}

/// Writes the credential durably and readable by the kiosk's user only.
fn store_credential(data_dir: &Path, credential: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(data_dir)?;
    let path = credential_path(data_dir);
    let tmp = path.with_extension("new");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(credential.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// Removes the `enrolment_token = …` line from a configuration file (the token works once and
/// must not linger where anyone with the card could read it). Other lines stay as they were.
pub fn erase_token(config: &Path) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(config)?;
    let mut erased = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let is_token = l.trim_start().starts_with("enrolment_token")
                && l.trim_start()["enrolment_token".len()..]
                    .trim_start()
                    .starts_with('=');
            erased |= is_token;
            !is_token
        })
        .collect();
    if erased {
        let tmp = config.with_extension("new");
        let mut out = kept.join("\n");
        out.push('\n');
        std::fs::write(&tmp, out)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, config)?;
    }
    Ok(erased)
}

/// The kiosk's credential: the stored one, or a new one traded for the enrolment token (then
/// kept, and the token erased from `config_file`). `None` when the kiosk has neither: it is not
/// in a fleet (the demo).
pub async fn credential(
    base_url: &str,
    data_dir: &Path,
    token: Option<&str>,
    config_file: Option<&Path>,
) -> Result<Option<String>, EnrolError> {
    if let Some(c) = load_credential(data_dir) {
        if let Some(cfg) = config_file
            && token.is_some()
        {
            // Enrolled before, but the token is still in the file (a crash in between).
            let _ = erase_token(cfg);
        }
        return Ok(Some(c));
    }
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let enrolled = FleetClient::enrol(base_url, token).await?;
    store_credential(data_dir, &enrolled.credential).map_err(|source| EnrolError::Store {
        path: credential_path(data_dir),
        source,
    })?;
    tracing::info!(kiosk = %enrolled.kiosk_id, "enrolled in the fleet");
    if let Some(cfg) = config_file {
        match erase_token(cfg) {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot erase the enrolment token from the configuration")
            }
        }
    }
    Ok(Some(enrolled.credential))
}

/// The operating system's boot id (a new one means the machine rebooted).
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Runs heartbeats and the command long-poll until the process ends. Commands go to
/// `commands` (the UI thread); help requests come from `help` (true: needs help).
pub fn spawn(
    client: FleetClient,
    status: SharedStatus,
    commands: impl Fn(FleetCommand) + Send + Sync + 'static,
    rt: &tokio::runtime::Handle,
) {
    let started = Instant::now();
    let boot = boot_id();
    let hb_client = client.clone();
    let hb_status = status.clone();
    rt.spawn(async move {
        let mut every = Duration::from_secs(30);
        let mut failures = 0u32;
        loop {
            let hb = {
                let st = hb_status.lock().map(|s| s.clone()).unwrap_or_default();
                Heartbeat {
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    uptime_secs: started.elapsed().as_secs(),
                    boot_id: boot.clone(),
                    devices: st.devices,
                    in_use: st.in_use,
                    last_error: st.last_error,
                    system: st.system,
                }
            };
            match hb_client.heartbeat(&hb).await {
                Ok(answer) => {
                    failures = 0;
                    if let Ok(mut st) = hb_status.lock() {
                        st.offer = answer.update.clone();
                        st.platform_answered = true;
                    }
                    every = Duration::from_secs(u64::from(answer.heartbeat_secs.clamp(2, 600)));
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(20) {
                        tracing::warn!(error = %e, "heartbeat not delivered");
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    });
    rt.spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            match client.next_command(25).await {
                Ok(Some(cmd)) => {
                    backoff = Duration::from_secs(1);
                    tracing::info!(command = %cmd.id, kind = ?cmd.kind, force = cmd.force, "fleet command received");
                    commands(cmd);
                }
                Ok(None) => backoff = Duration::from_secs(1),
                Err(e) => {
                    tracing::debug!(error = %e, "command poll failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
}

/// Maps a driver's health to what the help desk sees.
pub fn device_state(health: Option<&kiosk_drivers::Health>, printer: bool) -> DeviceState {
    use kiosk_drivers::Health;
    match health {
        None => DeviceState::Absent,
        Some(Health::Ok) => DeviceState::Ok,
        Some(Health::Degraded(_)) if printer => DeviceState::PaperLow,
        Some(Health::Degraded(_)) => DeviceState::Ok,
        Some(Health::Absent(why)) if printer && (why.contains('纸') || why.contains("paper")) => {
            DeviceState::PaperOut
        }
        Some(Health::Absent(_)) => DeviceState::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_line_goes_and_everything_else_stays() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("kiosk.toml");
        std::fs::write(
            &cfg,
            "[kiosk]\nid = \"k1\" # the id\n\n[fleet]\nenrolment_token = \"hke_secret\"\n# keep\n",
        )
        .unwrap();
        assert!(erase_token(&cfg).unwrap());
        let text = std::fs::read_to_string(&cfg).unwrap();
        assert!(!text.contains("hke_secret"));
        assert!(text.contains("id = \"k1\" # the id"));
        assert!(text.contains("[fleet]\n# keep"));
        assert!(!erase_token(&cfg).unwrap(), "nothing left to erase");
    }

    #[test]
    fn the_credential_is_private_and_survives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        store_credential(dir.path(), "hkc_abc").unwrap();
        assert_eq!(load_credential(dir.path()).as_deref(), Some("hkc_abc"));
        let mode = std::fs::metadata(credential_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn printer_health_reads_as_paper_states() {
        use kiosk_drivers::Health;
        let out = Health::Absent("打印机缺纸 (out of paper)".into());
        assert_eq!(device_state(Some(&out), true), DeviceState::PaperOut);
        assert_eq!(
            device_state(Some(&Health::Degraded("near end".into())), true),
            DeviceState::PaperLow
        );
        assert_eq!(device_state(None, false), DeviceState::Absent);
        assert_eq!(device_state(Some(&Health::Ok), false), DeviceState::Ok);
    }
}
