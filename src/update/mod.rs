//! Field updates: the kiosk learns of a release in its heartbeat answer, downloads the RAUC
//! bundle in the background (resumable, at a capped rate), installs it into the other slot when
//! nobody is using the kiosk, and restarts into it only when it has been idle a while (or in its
//! night window). After that restart the kiosk checks its own health (READY, devices, platform)
//! and marks the new slot good, or bad and restarts into the old one. Every heartbeat reports
//! the running version, the slot, the root image's hash and where the update stands.
//!
//! * `plan.rs`: the decisions, pure (time passed in), and the bandwidth cap;
//! * `download.rs`: the bundle's download, resumable and checked;
//! * `rauc.rs` / `rauc_parse.rs`: RAUC's command line and what it prints;
//! * `state.rs`: the files on the data partition and the trial-boot contract with the image.
//!
//! The updater is a task of the I/O runtime. It reads what the UI thread and the heartbeat put in
//! the shared [`crate::fleet::FleetStatus`] (in use, devices, the offer, whether the platform
//! answered) and writes its [`SystemReport`] there; the UI thread passes that report to the
//! session as an input (the maintenance screen shows it). The screens never call the updater.

pub mod download;
pub mod plan;
pub mod rauc;
pub mod rauc_parse;
pub mod state;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hall_client::FleetClient;
use hall_domain::api::{SystemReport, UpdateOffer, UpdateState};

use crate::fleet::SharedStatus;
use plan::{Bundle, RebootWindow, Situation, Step};
use rauc::{Mark, Rauc};
use state::{Boot, Files, HealthSeen, StateFile};

/// Where the running release is named (`VERSION=…`), written by the image build.
pub const RELEASE_FILE: &str = "/etc/hall-release";
/// RAUC's system configuration: updates are on by default where it exists.
pub const RAUC_SYSTEM_CONF: &str = "/etc/rauc/system.conf";

/// The updater's settings (`[update]` and a few of the kiosk's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub bytes_per_sec: u64,
    pub window: RebootWindow,
    pub health_limit: Duration,
    pub rauc: PathBuf,
    pub data_dir: PathBuf,
    pub release_file: PathBuf,
    pub cmdline: PathBuf,
    /// The kiosk asks the system to reboot by creating this file (`hall-kiosk-reboot.path`).
    pub reboot_request: PathBuf,
}

impl Settings {
    pub fn from_config(cfg: &crate::config::Config) -> Settings {
        let u = &cfg.update;
        Settings {
            enabled: u.is_enabled(),
            bytes_per_sec: u.max_download_kbps.saturating_mul(1000) / 8,
            window: RebootWindow {
                idle_before: Duration::from_secs(u.idle_secs_before_reboot),
                night: u
                    .night_window
                    .as_deref()
                    .and_then(|w| plan::NightWindow::parse(w).ok()),
            },
            health_limit: Duration::from_secs(u.health_secs),
            rauc: u.rauc.clone(),
            data_dir: cfg.data_dir(),
            release_file: PathBuf::from(RELEASE_FILE),
            cmdline: PathBuf::from("/proc/cmdline"),
            reboot_request: cfg.fleet.reboot_request.clone(),
        }
    }
}

/// The running system, as found at the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    pub os_version: String,
    /// The booted slot's bootname and RAUC's compatible: `None` without RAUC.
    pub slot: Option<String>,
    pub compatible: Option<String>,
    pub root_sha256: Option<String>,
}

impl System {
    pub fn report(&self, update: UpdateState) -> SystemReport {
        SystemReport {
            os_version: self.os_version.clone(),
            slot: self.slot.clone(),
            compatible: self.compatible.clone(),
            root_sha256: self.root_sha256.clone(),
            update,
        }
    }
}

/// The running release's version: `VERSION=` of `/etc/hall-release`, else the program's.
pub fn os_version(release_file: &std::path::Path) -> String {
    std::fs::read_to_string(release_file)
        .ok()
        .and_then(|t| state::version_from_release_file(&t))
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string())
}

/// Finds the running system (blocking: runs `rauc status`). Without RAUC (or with updates
/// off) only the version is known.
pub fn probe(s: &Settings, files: &Files) -> (System, Option<Rauc>) {
    let mut system = System {
        os_version: os_version(&s.release_file),
        slot: None,
        compatible: None,
        root_sha256: None,
    };
    if !s.enabled {
        return (system, None);
    }
    let rauc = Rauc::new(&s.rauc);
    let status = match rauc.status(true) {
        Ok(st) => st,
        Err(e) => {
            tracing::warn!(error = %e, "RAUC is not usable: field updates are off");
            return (system, None);
        }
    };
    let from_cmdline = std::fs::read_to_string(&s.cmdline)
        .ok()
        .and_then(|c| state::slot_from_cmdline(&c));
    let booted = status.booted_slot();
    system.slot = from_cmdline.or_else(|| booted.and_then(|b| b.bootname.clone()));
    system.compatible = status.compatible.clone();
    // The slot RAUC wrote knows its image's digest; the factory slot's is on the data partition.
    let booted = system
        .slot
        .as_deref()
        .and_then(|b| status.slot_by_bootname(b))
        .or(booted);
    system.root_sha256 = booted.and_then(|b| b.sha256.clone()).or_else(|| {
        state::read_line(&files.factory_root()).and_then(|t| state::sha256_from_text(&t))
    });
    if system.slot.is_none() || system.compatible.is_none() {
        tracing::warn!("RAUC names no booted slot or no compatible: field updates are off");
        return (system, None);
    }
    (system, Some(rauc))
}

/// Starts the updater on the I/O runtime. `client` downloads bundles (none: the kiosk is not in
/// a fleet, and only reports).
pub fn spawn(
    settings: Settings,
    status: SharedStatus,
    client: Option<FleetClient>,
    rt: &tokio::runtime::Handle,
) {
    rt.spawn(async move {
        let files = Files::new(&settings.data_dir);
        let (s2, f2) = (settings.clone(), files.clone());
        let Ok((system, rauc)) = tokio::task::spawn_blocking(move || probe(&s2, &f2)).await else {
            return;
        };
        tracing::info!(version = %system.os_version, slot = ?system.slot,
            compatible = ?system.compatible, updates = rauc.is_some(), "running system");
        let updater = Updater {
            state: StateFile::load(&files.state()),
            files,
            settings,
            status,
            client,
            system,
            started: Instant::now(),
            idle_since: Instant::now(),
            reboot_pending: false,
            restarting: false,
        };
        match rauc {
            Some(rauc) => updater.run(rauc).await,
            None => {
                let report = updater.system.report(UpdateState::Idle);
                updater.publish(report);
            }
        }
    });
}

struct Updater {
    settings: Settings,
    files: Files,
    status: SharedStatus,
    client: Option<FleetClient>,
    system: System,
    state: StateFile,
    started: Instant,
    idle_since: Instant,
    /// A restart is due (into the update, or back from a failed trial): asked for as soon as
    /// nobody is using the kiosk.
    reboot_pending: bool,
    /// The restart was asked for: nothing more to do.
    restarting: bool,
}

/// What the updater reads of the shared status.
struct Seen {
    offer: Option<UpdateOffer>,
    in_use: bool,
    devices: hall_domain::api::DeviceHealth,
    platform_answered: bool,
}

const EVERY: Duration = Duration::from_secs(2);

impl Updater {
    fn publish(&self, report: SystemReport) {
        if let Ok(mut st) = self.status.lock() {
            st.system = Some(report);
        }
    }

    fn report(&self) {
        self.publish(self.system.report(self.state.update.clone()));
    }

    fn seen(&mut self) -> Seen {
        let st = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        if st.in_use {
            self.idle_since = Instant::now();
        }
        Seen {
            offer: st.offer,
            in_use: st.in_use,
            devices: st.devices,
            platform_answered: st.platform_answered,
        }
    }

    /// Moves to `update`, durably, and reports it.
    fn set(&mut self, update: UpdateState) {
        if update != self.state.update {
            tracing::info!(state = update.name(), release = ?update.release(), "update state");
        }
        self.state.set(update);
        if let Err(e) = self.state.save(&self.files.state()) {
            tracing::error!(error = %e, "cannot keep the update state");
        }
        self.report();
    }

    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        tokio::task::spawn_blocking(f).await.ok()
    }

    async fn run(mut self, rauc: Rauc) {
        self.report();
        let booted = self.system.slot.clone().unwrap_or_default();
        let trial = state::read_line(&self.files.trial());
        let reason = state::read_line(&self.files.rollback_reason());
        match state::classify(trial.as_deref(), &booted, reason.as_deref()) {
            Boot::Normal if matches!(self.state.update, UpdateState::Installing { .. }) => {
                // The machine stopped while RAUC wrote the other slot (a power cut, a restart):
                // that slot was never activated, the running one is unchanged.
                let release = self.state.update.release().unwrap_or_default().to_string();
                tracing::warn!(%release, "the installation was interrupted; the running system is unchanged");
                self.set(UpdateState::Failed {
                    release,
                    reason: "安装被中断（断电或重启），当前系统未变 / the installation was interrupted (power cut or restart); the running system is unchanged".into(),
                });
            }
            Boot::Normal => {
                if matches!(self.state.update, UpdateState::Trying { .. }) {
                    // The trial file is gone but the verdict was not written: the guard or the
                    // kiosk marked it; RAUC says how the booted slot stands.
                    let release = self.state.update.release().unwrap_or_default().to_string();
                    self.set(UpdateState::Booted { release });
                }
            }
            Boot::Trial => self.trial(&rauc).await,
            Boot::RolledBack { reason } => self.rolled_back(&rauc, reason).await,
        }
        let mut backoff = Duration::ZERO;
        loop {
            tokio::time::sleep(EVERY.max(backoff)).await;
            if self.restarting {
                continue;
            }
            let seen = self.seen();
            if self.reboot_pending {
                if !seen.in_use {
                    self.reboot_now();
                }
                continue;
            }
            self.note_passed_over();
            backoff = self.step(&rauc, &seen).await;
        }
    }

    /// The trial boot: wait for READY, devices and a heartbeat answer within the limit; then mark
    /// the slot good, or bad and restart into the old one.
    async fn trial(&mut self, rauc: &Rauc) {
        let release = match self.state.update.release() {
            Some(r) => r.to_string(),
            None => self.system.os_version.clone(),
        };
        self.set(UpdateState::Trying {
            release: release.clone(),
        });
        tracing::info!(%release, limit_s = self.settings.health_limit.as_secs(), "trial boot: checking health");
        loop {
            let seen = self.seen();
            let verdict = state::health(&HealthSeen {
                ready: crate::systemd::first_frame_shown(),
                devices: seen.devices,
                platform_answered: seen.platform_answered,
                elapsed: self.started.elapsed(),
                limit: self.settings.health_limit,
            });
            match verdict {
                state::Health::Pending => tokio::time::sleep(Duration::from_secs(1)).await,
                state::Health::Good => {
                    let r = rauc.clone();
                    match Self::blocking(move || r.mark(Mark::Good, "booted")).await {
                        Some(Ok(msg)) => {
                            tracing::info!(%msg, "trial boot passed: slot marked good");
                            self.set(UpdateState::Booted { release });
                            for f in [self.files.trial(), self.files.rollback_reason()] {
                                if let Err(e) = state::remove(&f) {
                                    tracing::error!(error = %e, file = %f.display(), "cannot remove");
                                }
                            }
                            return;
                        }
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "cannot mark the slot good; trying again")
                        }
                        None => {}
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                state::Health::Bad(reason) => {
                    tracing::error!(%reason, "trial boot failed: back to the old slot");
                    if let Err(e) = state::write_atomic(
                        &self.files.rollback_reason(),
                        format!("{reason}\n").as_bytes(),
                    ) {
                        tracing::error!(error = %e, "cannot keep the rollback reason");
                    }
                    let r = rauc.clone();
                    if let Some(Err(e)) = Self::blocking(move || r.mark(Mark::Bad, "booted")).await
                    {
                        tracing::error!(error = %e, "cannot mark the slot bad (a restart falls back all the same)");
                    }
                    self.request_reboot();
                    return;
                }
            }
        }
    }

    /// The trial named another slot: the new system did not come up; the old one runs again.
    async fn rolled_back(&mut self, rauc: &Rauc, reason: String) {
        let release = self.state.update.release().unwrap_or("unknown").to_string();
        tracing::error!(%release, %reason, "the update was rolled back");
        let r = rauc.clone();
        if let Some(Err(e)) = Self::blocking(move || r.mark(Mark::Bad, "other")).await {
            tracing::error!(error = %e, "cannot mark the other slot bad");
        }
        self.set(UpdateState::RolledBack { release, reason });
        for f in [self.files.trial(), self.files.rollback_reason()] {
            if let Err(e) = state::remove(&f) {
                tracing::error!(error = %e, file = %f.display(), "cannot remove");
            }
        }
    }

    /// One decision and its carrying out; returns how long to wait before the next.
    async fn step(&mut self, rauc: &Rauc, seen: &Seen) -> Duration {
        let offer = seen.offer.as_ref();
        let bundle = match offer {
            Some(o) if state::safe_release(&o.release) => {
                if std::fs::metadata(self.files.bundle(&o.release)).is_ok_and(|m| m.len() == o.size)
                {
                    Bundle::Complete
                } else {
                    match download::partial_len(&self.files, &o.release) {
                        0 => Bundle::None,
                        n => Bundle::Partial(n),
                    }
                }
            }
            _ => Bundle::None,
        };
        let step = plan::decide(&Situation {
            offer,
            running_version: &self.system.os_version,
            compatible: self.system.compatible.as_deref().unwrap_or_default(),
            state: &self.state.update,
            rollout: self.state.rollout.as_deref(),
            given_up: &self.state.given_up,
            bundle,
            in_use: seen.in_use,
            idle_for: self.idle_since.elapsed(),
            local_time: chrono::Local::now().time(),
            window: &self.settings.window,
        });
        let Some(offer) = offer.cloned() else {
            return Duration::ZERO;
        };
        match step {
            Step::Nothing | Step::Wait => Duration::ZERO,
            Step::Refuse(reason) => {
                tracing::warn!(release = %offer.release, %reason, "update refused");
                self.take_offer(&offer);
                self.set(UpdateState::Refused {
                    release: offer.release,
                    reason,
                });
                Duration::ZERO
            }
            Step::Download => self.download(&offer).await,
            Step::Install => {
                self.install(rauc, &offer).await;
                Duration::ZERO
            }
            Step::Activate => {
                self.activate(rauc, &offer).await;
                Duration::ZERO
            }
        }
    }

    fn take_offer(&mut self, offer: &UpdateOffer) {
        self.state.rollout = Some(offer.rollout.clone());
        self.state.root_sha256 = Some(offer.root_sha256.clone());
    }

    async fn download(&mut self, offer: &UpdateOffer) -> Duration {
        let Some(client) = self.client.clone() else {
            return Duration::from_secs(60);
        };
        self.take_offer(offer);
        let start = plan::percent(
            download::partial_len(&self.files, &offer.release),
            offer.size,
        );
        self.set(UpdateState::Downloading {
            release: offer.release.clone(),
            percent: start,
        });
        let (status, system, release, size) = (
            self.status.clone(),
            self.system.clone(),
            offer.release.clone(),
            offer.size,
        );
        let result = download::download(
            &client,
            offer,
            &self.files,
            self.settings.bytes_per_sec,
            move |done| {
                let report = system.report(UpdateState::Downloading {
                    release: release.clone(),
                    percent: plan::percent(done, size),
                });
                if let Ok(mut st) = status.lock() {
                    st.system = Some(report);
                }
            },
        )
        .await;
        match result {
            Ok(_) => {
                self.set(UpdateState::Downloading {
                    release: offer.release.clone(),
                    percent: 100,
                });
                Duration::ZERO
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "update download paused; resuming later");
                self.report();
                Duration::from_secs(30)
            }
            Err(e) => {
                tracing::error!(error = %e, "update download failed");
                download::remove_other_bundles(&self.files, None);
                self.set(UpdateState::Failed {
                    release: offer.release.clone(),
                    reason: e.to_string(),
                });
                Duration::ZERO
            }
        }
    }

    async fn install(&mut self, rauc: &Rauc, offer: &UpdateOffer) {
        self.take_offer(offer);
        self.set(UpdateState::Installing {
            release: offer.release.clone(),
            percent: 0,
        });
        let bundle = self.files.bundle(&offer.release);
        let (r, status, system, release) = (
            rauc.clone(),
            self.status.clone(),
            self.system.clone(),
            offer.release.clone(),
        );
        let result = Self::blocking(move || {
            r.install(&bundle, |percent| {
                let report = system.report(UpdateState::Installing {
                    release: release.clone(),
                    percent,
                });
                if let Ok(mut st) = status.lock() {
                    st.system = Some(report);
                }
            })
        })
        .await;
        // Written or not, the bundle is not needed again.
        download::remove_other_bundles(&self.files, None);
        let release = offer.release.clone();
        match result {
            Some(Ok(())) => self.set(UpdateState::Installed { release }),
            Some(Err(e)) => {
                let reason = e.to_string();
                tracing::error!(%reason, "update not installed");
                let refused = ["signature", "compatible", "Verify error", "bundle format"]
                    .iter()
                    .any(|w| reason.contains(w));
                self.set(if refused {
                    UpdateState::Refused { release, reason }
                } else {
                    UpdateState::Failed { release, reason }
                });
            }
            None => self.set(UpdateState::Failed {
                release,
                reason: "the installation stopped unexpectedly".into(),
            }),
        }
    }

    /// Writes the trial file, activates the other slot and asks for the restart.
    async fn activate(&mut self, rauc: &Rauc, offer: &UpdateOffer) {
        if self.seen().in_use {
            return; // someone arrived meanwhile
        }
        let r = rauc.clone();
        let other = match Self::blocking(move || r.status(false)).await {
            Some(Ok(st)) => st.other_slot().and_then(|s| s.bootname.clone()),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot read RAUC's status before the restart");
                None
            }
            None => None,
        };
        let Some(other) = other else {
            self.set(UpdateState::Failed {
                release: offer.release.clone(),
                reason: "RAUC names no other slot to start".into(),
            });
            return;
        };
        let line = state::trial_line(&other, self.settings.health_limit);
        if let Err(e) = state::write_atomic(&self.files.trial(), line.as_bytes()) {
            tracing::error!(error = %e, "cannot write the trial file; not restarting");
            return;
        }
        let r = rauc.clone();
        match Self::blocking(move || r.mark(Mark::Active, "other")).await {
            Some(Ok(msg)) => {
                tracing::info!(release = %offer.release, slot = %other, %msg, "restarting into the update");
                self.request_reboot();
            }
            Some(Err(e)) => {
                let _ = state::remove(&self.files.trial());
                self.set(UpdateState::Failed {
                    release: offer.release.clone(),
                    reason: e.to_string(),
                });
            }
            None => {
                let _ = state::remove(&self.files.trial());
            }
        }
    }

    /// The boot guard gave up starting the system the kiosk last booted into (it was reset
    /// before it was found healthy several times in a row): the release is reported rolled back
    /// with the guard's words, once.
    fn note_passed_over(&mut self) {
        let path = self.files.passed_over();
        let Some(note) = state::read_line(&path) else {
            return;
        };
        if let Some(update) = state::passed_over(&self.state.update, &self.system.os_version, &note)
        {
            tracing::error!(%note, "the kiosk's system was passed over at boot");
            self.set(update);
        }
        if let Err(e) = state::remove(&path) {
            tracing::error!(error = %e, file = %path.display(), "cannot remove");
        }
    }

    /// A restart is due: now when nobody is using the kiosk, else when the session ends.
    fn request_reboot(&mut self) {
        self.reboot_pending = true;
        if !self.seen().in_use {
            self.reboot_now();
        } else {
            tracing::info!("restart due; waiting for the session to end");
        }
    }

    fn reboot_now(&mut self) {
        self.reboot_pending = false;
        self.restarting = true;
        let path = &self.settings.reboot_request;
        if let Err(e) = std::fs::write(path, b"update\n") {
            tracing::error!(error = %e, path = %path.display(), "cannot ask the system to reboot");
        }
    }
}
