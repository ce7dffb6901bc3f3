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

use super::view::MaintNote;
use super::{Effect, Input, Intent};

/// Wrong PINs before the pad locks, and how long it stays locked.
pub const PIN_TRIES: u8 = 3;
pub const PIN_LOCKOUT: Duration = Duration::from_secs(60);
/// The longest staff PIN.
pub const PIN_MAX: usize = 8;

/// The hex SHA-256 of a PIN, as `maintenance_pin_sha256` holds it.
pub fn hash_pin(pin: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(pin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

    /// Digits, correction, enter; back closes the pad. `pin_sha256` is the configured PIN.
    pub(super) fn on_intent(
        &mut self,
        intent: Intent,
        now: Instant,
        pin_sha256: Option<&str>,
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
                let right =
                    pin_sha256.is_some_and(|h| h.trim().eq_ignore_ascii_case(&hash_pin(pin)));
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
