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
    /// unchanged. It is tried again at the next offer.
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
