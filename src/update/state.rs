//! What the updater keeps on the data partition, and the trial-boot contract with the image
//! (`docs/field-updates-rauc.md`, "The kiosk's contract"):
//!
//! | file (under the kiosk's data directory) | written by | what |
//! |---|---|---|
//! | `update/state.json` | kiosk | where the update stands (atomic, fsynced) |
//! | `update/trial` | kiosk, just before the planned restart | the bootname of the slot it activated and the guard's seconds (`B 720`) |
//! | `update/rollback-reason` | kiosk or the image's boot guard | one line, in words, why the trial failed |
//! | `update/passed-over` | the image's boot guard | one line: the kiosk's system did not come up in several starts in a row, the other slot runs |
//! | `update/factory-root.sha256` | the image build | the factory slot's root image SHA-256 (hex) |
//! | `updates/<release>.raucb[.part]` | kiosk | the downloaded bundle |
//!
//! Reading and classifying is pure (`classify`, `health`, the parsers); the file functions do
//! the I/O, fsyncing what they write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hall_domain::api::{DeviceHealth, DeviceState, UpdateState};
use serde::{Deserialize, Serialize};

use super::plan::GivenUp;

/// The updater's files under a data directory.
#[derive(Debug, Clone)]
pub struct Files {
    pub update: PathBuf,
    pub bundles: PathBuf,
}

impl Files {
    pub fn new(data_dir: &Path) -> Files {
        Files {
            update: data_dir.join("update"),
            bundles: data_dir.join("updates"),
        }
    }
    pub fn state(&self) -> PathBuf {
        self.update.join("state.json")
    }
    pub fn trial(&self) -> PathBuf {
        self.update.join("trial")
    }
    pub fn rollback_reason(&self) -> PathBuf {
        self.update.join("rollback-reason")
    }
    pub fn passed_over(&self) -> PathBuf {
        self.update.join("passed-over")
    }
    pub fn factory_root(&self) -> PathBuf {
        self.update.join("factory-root.sha256")
    }
    /// The complete bundle of a release (its name checked with [`safe_release`]).
    pub fn bundle(&self, release: &str) -> PathBuf {
        self.bundles.join(format!("{release}.raucb"))
    }
    pub fn partial(&self, release: &str) -> PathBuf {
        self.bundles.join(format!("{release}.raucb.part"))
    }
}

/// Whether a release name can name a file: letters, digits and `.+-_~`, not starting with a dot,
/// at most 100 characters.
pub fn safe_release(release: &str) -> bool {
    !release.is_empty()
        && release.len() <= 100
        && !release.starts_with('.')
        && release
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
}

/// `update/state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StateFile {
    pub update: UpdateState,
    /// The rollout the release in `update` came from.
    pub rollout: Option<String>,
    /// SHA-256 of that release's root image (from the offer).
    pub root_sha256: Option<String>,
    /// Releases given up on, each under its rollout (the last few).
    pub given_up: Vec<GivenUp>,
}

impl StateFile {
    /// Reads the state; a missing or unreadable file is the empty state (logged).
    pub fn load(path: &Path) -> StateFile {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "update state unreadable; starting afresh");
                StateFile::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "update state unreadable; starting afresh");
                StateFile::default()
            }
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(path, &json)
    }

    /// Moves to `update`; a failure ending is remembered under its rollout.
    pub fn set(&mut self, update: UpdateState) {
        if update.is_failure()
            && let (Some(release), Some(rollout)) = (update.release(), self.rollout.clone())
        {
            let g = GivenUp {
                release: release.to_string(),
                rollout,
            };
            if !self.given_up.contains(&g) {
                self.given_up.push(g);
            }
            let excess = self.given_up.len().saturating_sub(8);
            self.given_up.drain(..excess);
        }
        self.update = update;
    }
}

/// Writes `bytes` to `path` atomically and durably: a temporary file fsynced, renamed over
/// `path`, the directory fsynced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("new");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Removes a file (fsyncing its directory); a missing file is no error.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => path.parent().map_or(Ok(()), sync_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The first line of a small text file, trimmed (none: missing, empty or unreadable).
pub fn read_line(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// The booted slot's bootname from the kernel command line (`rauc.slot=B`).
pub fn slot_from_cmdline(cmdline: &str) -> Option<String> {
    cmdline
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("rauc.slot="))
        .next_back()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The release version in `/etc/hall-release` (`VERSION=1.5.0`, quotes allowed, like
/// os-release).
pub fn version_from_release_file(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("VERSION=")?.trim();
        let v = v.trim_matches(|c| c == '"' || c == '\'').trim();
        (!v.is_empty() && v.len() <= 100).then(|| v.to_string())
    })
}

/// A SHA-256 read from a file (`factory-root.sha256`: the hex digest, optionally followed by a
/// file name as `sha256sum` prints it).
pub fn sha256_from_text(text: &str) -> Option<String> {
    let h = text.split_whitespace().next()?;
    super::plan::is_sha256(h).then(|| h.to_ascii_lowercase())
}

/// What kind of start this is, from `update/trial` and the booted slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// No trial pending.
    Normal,
    /// The kiosk restarted into the slot it activated: check its health.
    Trial,
    /// The trial named another slot: the new system did not come up (or failed its check), and
    /// the old slot is running again.
    RolledBack { reason: String },
}

/// The words used when nobody left a reason.
pub const DID_NOT_START: &str = "the new system did not start";

pub fn classify(trial: Option<&str>, booted: &str, reason: Option<&str>) -> Boot {
    match trial.and_then(|t| t.split_whitespace().next()) {
        None => Boot::Normal,
        Some(t) if t == booted => Boot::Trial,
        Some(_) => Boot::RolledBack {
            reason: reason.unwrap_or(DID_NOT_START).to_string(),
        },
    }
}

/// The boot guard's margin over the kiosk's own health limit: the guard only steps in when the
/// kiosk has not judged the trial at all (it is not running).
pub const GUARD_MARGIN: Duration = Duration::from_secs(120);

/// The trial file's line: the slot activated and the seconds the boot guard waits for the
/// kiosk's verdict.
pub fn trial_line(slot: &str, health_limit: Duration) -> String {
    format!("{slot} {}\n", (health_limit + GUARD_MARGIN).as_secs())
}

/// The update state once the boot guard has given up starting the release the kiosk last
/// booted (`update/passed-over`): a rollback, when the state still names that release and
/// another one runs. `None` when there is nothing to change.
pub fn passed_over(state: &UpdateState, running_version: &str, note: &str) -> Option<UpdateState> {
    match state {
        UpdateState::Booted { release } if release != running_version => {
            Some(UpdateState::RolledBack {
                release: release.clone(),
                reason: note.to_string(),
            })
        }
        _ => None,
    }
}

/// What the trial's health check sees.
#[derive(Debug, Clone)]
pub struct HealthSeen {
    /// The first frame is on the screen (READY).
    pub ready: bool,
    pub devices: DeviceHealth,
    /// The platform answered a heartbeat since the start.
    pub platform_answered: bool,
    pub elapsed: Duration,
    pub limit: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Pending,
    Good,
    Bad(String),
}

/// The devices that did not open (every configured device is required; a printer out of paper
/// is open).
pub fn devices_missing(d: &DeviceHealth) -> Vec<&'static str> {
    [
        ("printer", d.printer),
        ("ID card reader", d.reader),
        ("camera", d.camera),
        ("scanner", d.scanner),
    ]
    .into_iter()
    .filter(|(_, s)| *s == DeviceState::Absent)
    .map(|(n, _)| n)
    .collect()
}

/// The trial's verdict: good once READY, every device open and a heartbeat answered; bad when
/// the limit passes first, saying what was missing.
pub fn health(seen: &HealthSeen) -> Health {
    let missing = devices_missing(&seen.devices);
    if seen.ready && missing.is_empty() && seen.platform_answered {
        return Health::Good;
    }
    if seen.elapsed < seen.limit {
        return Health::Pending;
    }
    let mut why = Vec::new();
    if !seen.ready {
        why.push("the screen was not shown".to_string());
    }
    if !missing.is_empty() {
        why.push(format!("not open: {}", missing.join(", ")));
    }
    if !seen.platform_answered {
        why.push("the platform did not answer".to_string());
    }
    Health::Bad(format!(
        "health check failed within {} s: {}",
        seen.limit.as_secs(),
        why.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_is_classified_by_the_trial_file() {
        assert_eq!(classify(None, "A", None), Boot::Normal);
        assert_eq!(classify(Some("B"), "B", None), Boot::Trial);
        assert_eq!(classify(Some("B 720"), "B", None), Boot::Trial);
        assert_eq!(classify(Some("  "), "B", None), Boot::Normal);
        assert_eq!(
            classify(Some("A 720"), "B", None),
            Boot::RolledBack {
                reason: DID_NOT_START.into()
            }
        );
        assert_eq!(
            classify(Some("B"), "A", None),
            Boot::RolledBack {
                reason: DID_NOT_START.into()
            }
        );
        assert_eq!(
            classify(Some("B"), "A", Some("health check failed")),
            Boot::RolledBack {
                reason: "health check failed".into()
            }
        );
    }

    #[test]
    fn the_trial_line_gives_the_guard_the_kiosks_limit_and_a_margin() {
        assert_eq!(trial_line("B", Duration::from_secs(600)), "B 720\n");
        assert_eq!(trial_line("A", Duration::from_secs(3600)), "A 3720\n");
    }

    #[test]
    fn a_passed_over_system_is_a_rollback_of_the_release_last_booted() {
        let booted = UpdateState::Booted {
            release: "2026.12.2".into(),
        };
        assert_eq!(
            passed_over(&booted, "2026.12.1", "slot B did not come up"),
            Some(UpdateState::RolledBack {
                release: "2026.12.2".into(),
                reason: "slot B did not come up".into()
            })
        );
        assert_eq!(passed_over(&booted, "2026.12.2", "x"), None, "it runs");
        assert_eq!(passed_over(&UpdateState::Idle, "2026.12.1", "x"), None);
    }

    fn seen(ready: bool, printer: DeviceState, answered: bool, secs: u64) -> HealthSeen {
        HealthSeen {
            ready,
            devices: DeviceHealth {
                printer,
                reader: DeviceState::Ok,
                camera: DeviceState::Ok,
                scanner: DeviceState::Ok,
            },
            platform_answered: answered,
            elapsed: Duration::from_secs(secs),
            limit: Duration::from_secs(300),
        }
    }

    #[test]
    fn health_needs_ready_devices_and_the_platform_within_the_limit() {
        assert_eq!(health(&seen(true, DeviceState::Ok, true, 10)), Health::Good);
        assert_eq!(
            health(&seen(true, DeviceState::PaperOut, true, 10)),
            Health::Good,
            "out of paper is not the new system's fault"
        );
        assert_eq!(
            health(&seen(true, DeviceState::Ok, false, 299)),
            Health::Pending
        );
        let Health::Bad(why) = health(&seen(false, DeviceState::Absent, false, 300)) else {
            panic!("bad expected");
        };
        assert!(
            why.contains("300 s") && why.contains("printer") && why.contains("platform"),
            "{why}"
        );
        assert!(!why.contains('\n'));
    }

    #[test]
    fn small_files_parse() {
        assert_eq!(
            slot_from_cmdline("root=PARTUUID=x ro rauc.slot=B panic=10\n").as_deref(),
            Some("B")
        );
        assert_eq!(slot_from_cmdline("root=/dev/sda3 ro"), None);
        assert_eq!(
            version_from_release_file("NAME=hall\nVERSION=\"1.5.0+20261210.def5678\"\n").as_deref(),
            Some("1.5.0+20261210.def5678")
        );
        assert_eq!(version_from_release_file("VERSION_ID=1\n"), None);
        let h = "AB".repeat(32);
        assert_eq!(
            sha256_from_text(&format!("{h}  rootfs.ext4\n")),
            Some("ab".repeat(32))
        );
        assert_eq!(sha256_from_text("not a hash"), None);
        assert!(safe_release("1.5.0+20261210.def5678"));
        for bad in ["", "../x", ".hidden", "a/b", "a b"] {
            assert!(!safe_release(bad), "{bad}");
        }
    }

    #[test]
    fn the_state_survives_and_remembers_failures() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path());
        assert_eq!(StateFile::load(&files.state()), StateFile::default());
        let mut s = StateFile {
            rollout: Some("r1".into()),
            ..StateFile::default()
        };
        s.set(UpdateState::Failed {
            release: "1.5.0".into(),
            reason: "digest".into(),
        });
        s.save(&files.state()).unwrap();
        let back = StateFile::load(&files.state());
        assert_eq!(back, s);
        assert_eq!(back.given_up.len(), 1);
        std::fs::write(files.state(), b"{ torn").unwrap();
        assert_eq!(StateFile::load(&files.state()), StateFile::default());
    }
}
