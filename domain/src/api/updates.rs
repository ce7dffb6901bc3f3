//! Field updates on the wire: what a kiosk says of its system with every heartbeat, the update the
//! platform offers in its answer, and the bundle's download. The bundle itself is a RAUC bundle
//! signed by the hall's release key; the kiosk's RAUC checks the signature, so the platform and
//! the network are not trusted with it (the digest here only catches a broken download early).

use serde::{Deserialize, Serialize};

/// The running system, sent with every heartbeat.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemReport {
    /// The running root file system's release version (`/etc/hall-release`), or the kiosk
    /// program's own version where the system is not an A/B image (a desktop, a development PC).
    pub os_version: String,
    /// The booted root slot (`A` or `B`); absent where the system is not an A/B image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// RAUC's `compatible` of the running system (which bundles it takes); absent where the
    /// system is not an A/B image, and then no update is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatible: Option<String>,
    /// SHA-256 (hex) of the running root file system's image, as published with its release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_sha256: Option<String>,
    /// Where an update stands.
    #[serde(default)]
    pub update: UpdateState,
}

/// Where a kiosk's update stands. Every state but `idle` names the release it is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateState {
    /// Nothing to do.
    #[default]
    Idle,
    /// The bundle is being downloaded (resumable, at a bounded rate).
    Downloading { release: String, percent: u8 },
    /// RAUC is writing the inactive slot.
    Installing { release: String, percent: u8 },
    /// Written and verified; the kiosk restarts into it when nobody is using it (or in its night
    /// window).
    Installed { release: String },
    /// Restarted into the new slot; waiting for its health check (READY, devices, platform).
    Trying { release: String },
    /// The new slot passed its health check and is marked good: the update is done.
    Booted { release: String },
    /// The new slot did not pass its health check (or did not boot): the kiosk is back on its
    /// earlier slot, which it marked good again.
    RolledBack { release: String, reason: String },
    /// The bundle was refused: wrong signature, another board, a broken download, an older
    /// version. Nothing was written.
    Refused { release: String, reason: String },
    /// The download or the installation failed (disk, network, RAUC); the running slot is
    /// unchanged. It is tried again when a new rollout offers the release.
    Failed { release: String, reason: String },
}

impl UpdateState {
    /// The release the state is about (none when idle).
    pub fn release(&self) -> Option<&str> {
        match self {
            UpdateState::Idle => None,
            UpdateState::Downloading { release, .. }
            | UpdateState::Installing { release, .. }
            | UpdateState::Installed { release }
            | UpdateState::Trying { release }
            | UpdateState::Booted { release }
            | UpdateState::RolledBack { release, .. }
            | UpdateState::Refused { release, .. }
            | UpdateState::Failed { release, .. } => Some(release),
        }
    }

    /// The state's name on the wire (`downloading`, `rolled_back`, …).
    pub fn name(&self) -> &'static str {
        match self {
            UpdateState::Idle => "idle",
            UpdateState::Downloading { .. } => "downloading",
            UpdateState::Installing { .. } => "installing",
            UpdateState::Installed { .. } => "installed",
            UpdateState::Trying { .. } => "trying",
            UpdateState::Booted { .. } => "booted",
            UpdateState::RolledBack { .. } => "rolled_back",
            UpdateState::Refused { .. } => "refused",
            UpdateState::Failed { .. } => "failed",
        }
    }

    /// An ending the rollout counts as a failure (rolled back, refused, failed).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            UpdateState::RolledBack { .. }
                | UpdateState::Refused { .. }
                | UpdateState::Failed { .. }
        )
    }
}

/// The update the platform offers a kiosk in its heartbeat answer: a release rolled out to it that
/// it does not run yet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    /// The release's version (RAUC's manifest `version`), which is also its id.
    pub release: String,
    /// The rollout the offer comes from.
    pub rollout: String,
    /// RAUC's `compatible` of the bundle (one per board family, e.g. `hall-kiosk-x86`).
    pub compatible: String,
    /// Where to download the bundle, a path on the platform (`GET`, with `Range` to resume).
    pub bundle_path: String,
    /// The bundle's size in bytes and SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
    /// SHA-256 (hex) of the release's root file system image, for the kiosk's integrity QR.
    pub root_sha256: String,
}

/// A release the platform stores: a RAUC bundle and what its release script published beside it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// RAUC's manifest `version`, which is also the release's id.
    pub version: String,
    /// RAUC's `compatible` of the bundle.
    pub compatible: String,
    /// SHA-256 (hex) of the release's root file system image.
    pub root_sha256: String,
    /// The bundle's size in bytes and SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
    /// When it was stored, and by whom.
    #[serde(with = "crate::api::time::local")]
    pub added_at: chrono::NaiveDateTime,
    pub added_by: String,
}

/// What a rollout is sent to: one kiosk, or a share of a hall's kiosks.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRollout {
    /// The release's version.
    pub release: String,
    /// One kiosk (then no `hall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    /// Or the kiosks of a hall (then no `kiosk_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    /// With a hall: the share of its kiosks, 1 to 100 (default 100). Which kiosks is decided by a
    /// hash of the kiosk's id and the rollout's, so a wider share keeps the kiosks it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub percent: Option<u8>,
    /// Stop the rollout the first time a kiosk reports `rolled_back`, `refused` or `failed` for
    /// it (default true).
    #[serde(default = "yes")]
    pub stop_on_failure: bool,
}

fn yes() -> bool {
    true
}

/// A change to a running or stopped rollout.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RolloutChange {
    /// A wider share of the hall (never narrower: kiosks already offered it keep it).
    Widen {
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
        percent: u8,
    },
    /// No more offers (kiosks already downloading may finish the download).
    Stop,
    /// Offers again (kiosks that reported a failure in it are not offered it again).
    Resume,
}

/// Where one kiosk stands in a rollout.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutProgress {
    /// Runs the release.
    Done,
    /// Offered it, and the kiosk is on its way (downloading, installing, installed, trying).
    InProgress,
    /// Reported `rolled_back`, `refused` or `failed` for it.
    Failed,
    /// Not offered it yet (no heartbeat since, or the rollout is stopped).
    Waiting,
    /// Its system takes other bundles (or reported none): never offered.
    NotCompatible,
}

/// One kiosk of a rollout.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutKiosk {
    pub kiosk_id: String,
    pub hall: String,
    pub progress: RolloutProgress,
    /// The state it last reported for the release (`offered` before its first report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// Why it rolled back, refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Since when it is in that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The version it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// A rollout of a release.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: String,
    pub release: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    pub percent: u8,
    pub stop_on_failure: bool,
    /// `running` or `stopped`.
    pub state: String,
    /// Why it stopped: who stopped it, or the kiosk whose failure did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by_kiosk: Option<String>,
    pub started_at: String,
    pub started_by: String,
    /// Counts of its kiosks by progress.
    pub done: u32,
    pub in_progress: u32,
    pub failed: u32,
    pub waiting: u32,
    pub not_compatible: u32,
    /// Its kiosks (in the list of rollouts: empty).
    #[serde(default)]
    pub kiosks: Vec<RolloutKiosk>,
}
