//! Staff at the kiosk: the PIN pad that opens the maintenance screen, and the maintenance
//! screen's own small journey (device self-tests, paper, restart).
//!
//! Like the rest of the session: no clock of its own (time comes in), no devices touched (what
//! to do goes out as [`Effect`]s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hall_domain::codes;
use kiosk_drivers::camera::Still;
use kiosk_drivers::idcard::IdCard;

use hall_domain::api::{SystemReport, UpdateState};

use super::view::{MaintNote, StaffView, UpdatePhase};
use super::{Effect, Input, Intent};

/// Wrong PINs before the pad locks, and how long it stays locked.
pub const PIN_TRIES: u8 = 3;
pub const PIN_LOCKOUT: Duration = Duration::from_secs(60);
/// The longest staff PIN.
pub const PIN_MAX: usize = 8;

/// The argon2id cost of a staff PIN's hash: OWASP's first recommended setting (19 MiB, two
/// passes, one lane), some 30 ms on a kiosk PC and well under half a second on a Raspberry Pi 4.
/// A PIN of 4 to 8 digits is a small space: the slow, salted hash is what makes a copied
/// configuration file expensive to try, and the pad's lockout is what stops guessing at the kiosk.
pub const PIN_HASH_MEMORY_KIB: u32 = 19 * 1024;
pub const PIN_HASH_PASSES: u32 = 2;

/// Why a PIN could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the PIN: {0}")]
pub struct PinHashError(String);

/// The PIN as `[kiosk] maintenance_pin` holds it: an argon2id PHC string with a random salt
/// (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_pin(pin: &str) -> Result<String, PinHashError> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let params = argon2::Params::new(PIN_HASH_MEMORY_KIB, PIN_HASH_PASSES, 1, None)
        .map_err(|e| PinHashError(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinHashError(e.to_string()))
}

/// `stored` read as a usable PIN hash: an argon2id PHC string. The configuration check refuses
/// anything else (an old unsalted SHA-256 among them).
fn pin_hash(stored: &str) -> Result<argon2::PasswordHash<'_>, String> {
    let hash = argon2::PasswordHash::new(stored.trim()).map_err(|e| {
        format!("not an argon2id PHC string ({e}); make one with `hall-kiosk hash-pin`")
    })?;
    if hash.algorithm != argon2::Algorithm::Argon2id.ident() {
        return Err(format!(
            "the PIN hash uses {}, argon2id is required; make one with `hall-kiosk hash-pin`",
            hash.algorithm
        ));
    }
    argon2::Params::try_from(&hash)
        .map_err(|e| format!("the PIN hash's parameters are not usable ({e})"))?;
    Ok(hash)
}

/// Whether `stored` is a usable PIN hash (see [`verify_pin`]).
pub fn check_pin_hash(stored: &str) -> Result<(), String> {
    pin_hash(stored).map(|_| ())
}

/// Whether `pin` is the PIN behind `stored` (compared by the hash's own parameters, in constant
/// time); `false` for a hash that cannot be read.
pub fn verify_pin(stored: &str, pin: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    pin_hash(stored).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok()
    })
}

/// What a touch on the PIN pad led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PinOutcome {
    Stays,
    /// The right PIN: the maintenance screen opens.
    Opened,
    Closed,
}

/// The staff PIN pad.
#[derive(Debug, Default)]
pub(super) struct PinPad {
    /// Open: the digits typed so far.
    digits: Option<zeroize::Zeroizing<String>>,
    /// Wrong PINs in a row (a lockout follows the third).
    failures: u8,
    /// The last PIN was wrong (shown on the pad until the next digit).
    wrong: bool,
    locked_until: Option<Instant>,
}

impl PinPad {
    pub(super) fn open(&mut self) {
        self.digits = Some(zeroize::Zeroizing::new(String::new()));
        self.wrong = false;
    }

    /// Closes the pad (the failure count and a lockout stay).
    pub(super) fn close(&mut self) {
        self.digits = None;
        self.wrong = false;
    }

    pub(super) fn is_open(&self) -> bool {
        self.digits.is_some()
    }

    pub(super) fn digits(&self) -> usize {
        self.digits.as_ref().map_or(0, |d| d.len())
    }

    pub(super) fn wrong(&self) -> bool {
        self.wrong
    }

    fn locked(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|u| now < u)
    }

    /// Seconds of lockout left (0: not locked).
    pub(super) fn locked_seconds(&self, now: Instant) -> i32 {
        self.locked_until.map_or(0, |u| {
            u.saturating_duration_since(now).as_secs_f32().ceil() as i32
        })
    }

    /// Digits, correction, enter; back closes the pad. `pin_hash` is the configured PIN's hash.
    pub(super) fn on_intent(
        &mut self,
        intent: Intent,
        now: Instant,
        pin_hash: Option<&str>,
    ) -> PinOutcome {
        let locked = self.locked(now);
        let Some(pin) = self.digits.as_mut() else {
            return PinOutcome::Closed;
        };
        match intent {
            Intent::Key(c) if c.is_ascii_digit() && pin.len() < PIN_MAX => {
                pin.push(c);
                self.wrong = false;
            }
            Intent::Backspace => {
                pin.pop();
            }
            Intent::Clear => pin.clear(),
            Intent::Next => {
                if locked || pin.is_empty() {
                    return PinOutcome::Stays;
                }
                let right = pin_hash.is_some_and(|h| verify_pin(h, pin));
                pin.clear();
                if right {
                    tracing::info!("maintenance screen opened");
                    self.failures = 0;
                    self.close();
                    return PinOutcome::Opened;
                }
                self.failures += 1;
                self.wrong = true;
                tracing::warn!(failures = self.failures, "wrong maintenance PIN");
                if self.failures >= PIN_TRIES {
                    self.failures = 0;
                    self.locked_until = Some(now + PIN_LOCKOUT);
                }
            }
            Intent::Back | Intent::Finish | Intent::HelpClose => {
                self.close();
                return PinOutcome::Closed;
            }
            _ => {}
        }
        PinOutcome::Stays
    }
}

/// What the maintenance screen shows of its self-tests.
#[derive(Debug, Default)]
pub(super) struct Maintenance {
    /// The last action's outcome (none before any).
    pub(super) note: MaintNote,
    /// The last card read, masked, or the reader's error.
    pub(super) card: String,
    /// The camera's self-test picture.
    pub(super) photo: Option<Arc<Still>>,
    /// The last code scanned.
    pub(super) scan: String,
}

/// What a touch on the maintenance screen asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MaintenanceOutcome {
    Stays,
    /// Back or finish: the staff session ends.
    Leave,
}

impl Maintenance {
    pub(super) fn reset(&mut self) {
        *self = Maintenance::default();
    }

    /// Device self-tests, paper, restart; back or finish leaves.
    pub(super) fn on_intent(&mut self, intent: Intent, fx: &mut Vec<Effect>) -> MaintenanceOutcome {
        match intent {
            Intent::TestPrint => {
                self.note = MaintNote::Printing;
                fx.push(Effect::TestPrint);
            }
            Intent::PaperReplaced => {
                self.note = MaintNote::PaperReplaced;
                fx.push(Effect::PaperReplaced);
            }
            Intent::Shoot => {
                self.note = MaintNote::Capturing;
                fx.push(Effect::CaptureStill);
            }
            Intent::Restart => fx.push(Effect::RestartApp),
            Intent::Back | Intent::Finish => return MaintenanceOutcome::Leave,
            _ => {}
        }
        MaintenanceOutcome::Stays
    }

    /// A card read on the maintenance screen: shown masked (name and the number's last four).
    pub(super) fn on_card(&mut self, card: &IdCard) {
        let id = &card.id_number;
        let tail = id.get(id.len().saturating_sub(4)..).unwrap_or("");
        self.card = format!("{} ****{tail}", codes::mask_name(&card.name));
    }

    pub(super) fn on_card_error(&mut self, message: String) {
        self.card = message;
    }

    pub(super) fn on_scan(&mut self, payload: &str) {
        self.scan = payload.chars().take(40).collect();
    }

    /// Answers to the self-tests.
    pub(super) fn on_reply(&mut self, input: Input) {
        match input {
            Input::Printed(r) => {
                self.note = if r.is_ok() {
                    MaintNote::Printed
                } else {
                    MaintNote::PrintFailed
                };
            }
            Input::Photo(Ok(still)) => {
                self.note = MaintNote::Photo;
                self.photo = Some(still);
            }
            Input::Photo(Err(e)) => {
                tracing::warn!(error = %e, "camera self-test failed");
                self.note = MaintNote::PhotoFailed;
                self.photo = None;
            }
            _ => {}
        }
    }
}

/// The text of the maintenance screen's integrity QR: the running version, slot and root image
/// digest, which a technician's phone compares with the published release.
pub fn root_qr(version: &str, slot: Option<&str>, sha256: &str) -> String {
    format!(
        "HALL-ROOT version={version} slot={} sha256={sha256}",
        slot.unwrap_or("-")
    )
}

/// The system part of the staff view (the rest default).
pub(super) fn system_view(system: Option<&SystemReport>) -> StaffView {
    let Some(sys) = system else {
        return StaffView::default();
    };
    let (phase, percent, reason) = match &sys.update {
        UpdateState::Idle => (UpdatePhase::Idle, 0, ""),
        UpdateState::Downloading { percent, .. } => (UpdatePhase::Downloading, *percent, ""),
        UpdateState::Installing { percent, .. } => (UpdatePhase::Installing, *percent, ""),
        UpdateState::Installed { .. } => (UpdatePhase::Installed, 0, ""),
        UpdateState::Trying { .. } => (UpdatePhase::Trying, 0, ""),
        UpdateState::Booted { .. } => (UpdatePhase::Booted, 0, ""),
        UpdateState::RolledBack { reason, .. } => (UpdatePhase::RolledBack, 0, reason.as_str()),
        UpdateState::Refused { reason, .. } => (UpdatePhase::Refused, 0, reason.as_str()),
        UpdateState::Failed { reason, .. } => (UpdatePhase::Failed, 0, reason.as_str()),
    };
    StaffView {
        sys_version: sys.os_version.clone(),
        sys_slot: sys.slot.clone().unwrap_or_default(),
        update_phase: phase,
        update_release: sys.update.release().unwrap_or_default().to_string(),
        update_percent: i32::from(percent),
        update_reason: reason.chars().take(160).collect(),
        root_qr: sys
            .root_sha256
            .as_deref()
            .map(|h| root_qr(&sys.os_version, sys.slot.as_deref(), h))
            .unwrap_or_default(),
        ..StaffView::default()
    }
}
