//! The session: one person at the kiosk, from the first touch until they finish or walk away.
//!
//! A plain state machine. It takes what a person asks for ([`Intent`]), what the devices report
//! ([`DeviceEvent`]), what the platform answers and the passing of time, and answers with
//! [`Effect`]s for the runtime to carry out and a [`ViewModel`] for the screen. No Slint, no
//! tokio, no clock of its own: tests drive it directly.

mod devices;
pub mod field;
pub mod intent;
mod intents;
mod io;
mod lookup;
mod pay;
mod rating;
mod render;
mod staff;
mod submit;
pub mod text;
pub mod view;

use std::time::{Duration, Instant};

use hall_domain::ApprovalCode;
use hall_domain::api::Item;
use hall_domain::codes;

use crate::client::ApiError;
pub use field::{Field, FieldKind};
pub use intent::Intent;
pub use io::{Effect, Input, Receipt, SessionConfig, Speech};
use io::{VOICE_RATE, VOICE_VOLUME};
pub use rating::{JourneyNote, journey_step};
pub use view::{Busy, Lang, Screen, TakeReminder, Thanks, ViewModel};

/// The three journeys; each keeps its own data, dropped (and wiped) when the session ends.
#[derive(Debug, Default)]
enum Journey {
    #[default]
    None,
    Submit(Box<submit::Submit>),
    Lookup(Box<lookup::Lookup>),
    Pay(Box<pay::Pay>),
}

/// Whether devices and the platform can be used now.
#[derive(Debug, Clone, Copy)]
struct Availability {
    printer: bool,
    camera: bool,
    scanner: bool,
    reader: bool,
    platform: bool,
}

pub struct Session {
    cfg: SessionConfig,
    lang: Lang,
    large: bool,
    high_contrast: bool,
    voice_volume: u8,
    voice_rate: u8,
    /// A prompt is sounding now.
    speaking: bool,
    /// The prompt last spoken (and its language): a new one is spoken when it changes.
    spoken: Option<(&'static str, Lang)>,
    help: bool,
    screen: Screen,
    /// The screen to go back to from an error screen.
    resume: Option<Screen>,
    /// What the person is waiting for, shown as a busy overlay; pauses the idle timer.
    busy: Option<Busy>,
    journey: Journey,
    last_activity: Instant,
    now: Instant,
    /// The local date and time, as the runtime last said.
    local: chrono::NaiveDateTime,
    avail: Availability,
    catalogue: Vec<Item>,
    /// Increases at every session end; answers to requests of an older session are dropped.
    generation: u64,
    /// The staff PIN pad that opens the maintenance screen.
    pin: staff::PinPad,
    /// The maintenance screen's self-tests.
    maint: staff::Maintenance,
    /// The running system and its update, as the updater last reported it.
    system: Option<hall_domain::api::SystemReport>,
    /// A help-desk identify: the kiosk's id is shown large until then.
    identify_until: Option<Instant>,
    /// An ID card was read into this session (identify, or the applicant's card on progress).
    card_read: bool,
    /// Something was printed for the person in this session.
    printed: bool,
    /// The reader said the card it read stays on it, and not yet that it left (readers that
    /// cannot tell never say so: the reminder then shows for its usual time).
    card_on_reader: bool,
    /// "Take your ID card and receipt", shown at the end of a journey.
    reminder: Option<Reminder>,
    /// The journey under way as its events tell it (kept on the rating screen).
    track: Option<rating::Tracker>,
    /// On the rating screen: the poor rating chosen, whose reason is asked next.
    rating: Option<hall_domain::api::Rating>,
    /// The thanks the end of the session shows (after the rating screen).
    thanks: Thanks,
}

/// The "take your ID card / receipt" reminder: no personal data, only what to take and how the
/// person had the screen (their language and text size) so that they can read it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reminder {
    card: bool,
    receipt: bool,
    lang: Lang,
    large: bool,
    high_contrast: bool,
    /// Thanks for the rating (or for using the kiosk) above what to take.
    thanks: Thanks,
    /// Shown until then...
    until: Instant,
    /// ...or, while the card is still on the reader, until it is taken, but never after this.
    card_until: Instant,
}

impl Reminder {
    fn key(&self) -> TakeReminder {
        match (self.card, self.receipt) {
            (true, true) => TakeReminder::CardReceipt,
            (true, false) => TakeReminder::Card,
            (false, true) => TakeReminder::Receipt,
            (false, false) if self.thanks != Thanks::None => TakeReminder::Nothing,
            (false, false) => TakeReminder::None,
        }
    }
}

/// How long the reminder shows, and the longest it waits for a card left on the reader.
pub const REMINDER: Duration = Duration::from_secs(8);
pub const REMINDER_CARD_MAX: Duration = Duration::from_secs(30);
/// How long the thanks shows when there is nothing to take.
pub const THANKS: Duration = Duration::from_secs(4);

pub use staff::{PIN_LOCKOUT, PIN_MAX, PIN_TRIES, check_pin_hash, hash_pin, verify_pin};

impl Session {
    /// A session at the monotonic time `now`, whose local wall-clock time is `local`.
    pub fn new(cfg: SessionConfig, now: Instant, local: chrono::NaiveDateTime) -> Self {
        Session {
            cfg,
            lang: Lang::Zh,
            large: false,
            high_contrast: false,
            voice_volume: VOICE_VOLUME,
            voice_rate: VOICE_RATE,
            speaking: false,
            // The idle kiosk does not talk: its home prompt is spoken once someone acts.
            spoken: Some(("home", Lang::Zh)),
            help: false,
            screen: Screen::Home,
            resume: None,
            busy: None,
            journey: Journey::None,
            last_activity: now,
            now,
            local,
            avail: Availability {
                printer: true,
                camera: true,
                scanner: true,
                reader: true,
                platform: true,
            },
            catalogue: Vec::new(),
            generation: 0,
            pin: staff::PinPad::default(),
            maint: staff::Maintenance::default(),
            system: None,
            identify_until: None,
            card_read: false,
            printed: false,
            card_on_reader: false,
            reminder: None,
            track: None,
            rating: None,
            thanks: Thanks::None,
        }
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// The idempotency key of the submission whose outcome the screen shows (approval code or
    /// provisional receipt), if it shows one.
    pub fn submission_shown(&self) -> Option<&str> {
        match &self.journey {
            Journey::Submit(s) if self.screen == Screen::Submitted => s.key(),
            _ => None,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Whether someone is using the kiosk (a journey is under way).
    pub fn in_use(&self) -> bool {
        !matches!(self.journey, Journey::None) || self.screen != Screen::Home
    }

    /// A help-desk identify: the kiosk's id shows large until `until` (or a touch).
    pub fn identify(&mut self, until: Instant) {
        self.identify_until = Some(until);
    }

    /// Whether the kiosk's id still shows (a touch closes it early).
    pub fn identifying(&self) -> bool {
        self.identify_until.is_some()
    }

    /// Allows (or stops) taking submissions while the platform is unreachable.
    pub fn set_offline_intake(&mut self, on: bool) {
        self.cfg.offline_intake = on;
    }

    /// The payment order the person is paying now, if any.
    pub fn pending_order_id(&self) -> Option<String> {
        match &self.journey {
            Journey::Pay(p) => p.pending_order_id(),
            _ => None,
        }
    }

    /// Whether the screen shows that a prompt is sounding.
    pub fn view_speaking(&self) -> bool {
        self.speaking
    }

    /// Whether the camera should look for QR codes now.
    pub fn wants_camera_scanning(&self) -> bool {
        matches!(self.screen, Screen::Lookup | Screen::PayEntry) && self.busy.is_none()
    }

    /// Handles an answer to an effect that was issued in session `generation`.
    pub fn handle_reply(&mut self, generation: u64, input: Input, now: Instant) -> Vec<Effect> {
        if generation != self.generation {
            tracing::debug!("dropped an answer for an earlier session");
            return Vec::new();
        }
        self.handle(input, now)
    }

    /// Handles one input and returns what the runtime must do.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        self.now = now;
        let mut fx = Vec::new();
        let was_scanning = self.wants_camera_scanning();
        match input {
            Input::Tick => self.tick(&mut fx),
            Input::Clock(local) => self.local = local,
            Input::Act(intent) => {
                self.last_activity = now;
                self.on_intent(intent, &mut fx);
            }
            Input::Device(ev) => self.on_device(ev, &mut fx),
            Input::Speaking(on) => self.speaking = on,
            Input::System(report) => self.system = Some(report),
            other => {
                self.busy = None;
                self.last_activity = now;
                self.on_reply(other, &mut fx);
            }
        }
        self.track_journey(&mut fx);
        let scanning = self.wants_camera_scanning();
        if scanning != was_scanning {
            fx.push(Effect::CameraScanning(scanning));
        }
        let prompt = (self.prompt_key(), self.speech().lang);
        if self.spoken != Some(prompt) {
            self.spoken = Some(prompt);
            fx.push(Effect::Speak(self.speech()));
        }
        fx
    }

    // ---- voice -------------------------------------------------------------------------------

    /// The prompt of what the person sees now: an overlay's, else the screen's.
    fn prompt_key(&self) -> &'static str {
        if let Some(r) = &self.reminder {
            return match r.key() {
                TakeReminder::CardReceipt => "take-card-receipt",
                TakeReminder::Card => "take-card",
                TakeReminder::Nothing => "thanks",
                TakeReminder::Receipt | TakeReminder::None => "take-receipt",
            };
        }
        if self.help {
            "help"
        } else if self.warning_shown() {
            "timeout"
        } else if matches!(&self.journey, Journey::Pay(p) if p.time_warning()) {
            "pay-timeout"
        } else if self.screen == Screen::Rating && self.rating.is_some() {
            "rating-reason"
        } else {
            self.screen.prompt_key()
        }
    }

    fn speech(&self) -> Speech {
        Speech {
            prompt: self.prompt_key(),
            lang: self.reminder.map_or(self.lang, |r| r.lang),
            volume: self.voice_volume,
            rate: self.voice_rate,
        }
    }

    // ---- time --------------------------------------------------------------------------------

    fn timer_paused(&self) -> bool {
        self.busy.is_some()
            || self.help
            || self.screen == Screen::Home
                && matches!(self.journey, Journey::None)
                && !self.pin.is_open()
            || matches!(&self.journey, Journey::Pay(p) if p.waiting_on_platform())
    }

    fn remaining(&self) -> Duration {
        let idle = self.now.saturating_duration_since(self.last_activity);
        self.cfg.idle_limit.saturating_sub(idle)
    }

    fn tick(&mut self, fx: &mut Vec<Effect>) {
        if self.identify_until.is_some_and(|u| self.now >= u) {
            self.identify_until = None;
        }
        if let Some(r) = &self.reminder {
            let wait_card = r.card && self.card_on_reader;
            if self.now >= r.card_until || !wait_card && self.now >= r.until {
                self.reminder = None;
            }
        }
        if self.timer_paused() {
            self.last_activity = self.now;
        } else if self.remaining().is_zero() {
            tracing::info!(screen = ?self.screen, "session timed out");
            self.end_session(true, fx);
            return;
        }
        if let Journey::Pay(p) = &mut self.journey {
            p.tick(&self.cfg, self.now, fx);
        }
    }

    fn warning_shown(&self) -> bool {
        !self.timer_paused() && self.remaining() <= self.cfg.warn_before
    }

    fn apply(&mut self, step: Option<Step>) {
        match step {
            None => {}
            Some(Step::Screen(s)) => self.screen = s,
            Some(Step::Busy(kind)) => self.busy = Some(kind),
            Some(Step::ScreenBusy(s, kind)) => {
                self.screen = s;
                self.busy = Some(kind);
            }
            Some(Step::Home) => {
                self.journey = Journey::None;
                self.screen = Screen::Home;
            }
            Some(Step::Error(s)) => {
                if !matches!(
                    self.screen,
                    Screen::Offline | Screen::PrinterError | Screen::CameraError
                ) {
                    self.resume = Some(self.screen);
                }
                self.screen = s;
            }
            Some(Step::ScreenThenError(s, e)) => {
                self.resume = Some(s);
                self.screen = e;
            }
            Some(Step::PayFor(payment_code)) => {
                let mut p = pay::Pay::default();
                p.code.set(&payment_code);
                self.journey = Journey::Pay(Box::new(p));
                self.screen = Screen::PayEntry;
            }
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            offline_intake: self.cfg.offline_intake,
            avail: self.avail,
            kiosk_id: self.cfg.kiosk_id.clone(),
            hall_name: self.cfg.hall_name.clone(),
            lang: self.lang,
            local: self.local,
        }
    }

    // ---- platform and device answers ---------------------------------------------------------

    fn on_reply(&mut self, input: Input, fx: &mut Vec<Effect>) {
        if self.screen == Screen::Maintenance {
            self.maint.on_reply(input);
            return;
        }
        if let Input::Items(Ok(items)) = &input {
            self.catalogue = items.clone();
        }
        let offline = matches!(
            &input,
            Input::Items(Err(e)) | Input::Submitted(Err(e)) | Input::Case(Err(e))
                | Input::Details(Err(e)) | Input::MyCases(Err(e)) | Input::Notice(Err(e))
                | Input::Order(Err(e))
                if e.is_unreachable()
        );
        if let Input::Printed(Ok(())) = &input {
            self.printed = true;
            // A progress slip is the end of a lookup: take it (and the card, if read).
            if self.screen == Screen::Progress {
                self.remind(true);
            }
        }
        self.avail.platform = !offline;
        let ctx = self.ctx();
        let screen = self.screen;
        let step = match &mut self.journey {
            Journey::Submit(s) => s.on_reply(screen, input, &ctx, &self.catalogue, fx),
            Journey::Lookup(l) => l.on_reply(input, fx),
            Journey::Pay(p) => p.on_reply(screen, input, &ctx, fx),
            Journey::None => None,
        };
        self.apply(step);
    }

    // ---- ending ------------------------------------------------------------------------------

    /// Shows the reminder to take the ID card (when one was read in this session) and the
    /// receipt.
    fn remind(&mut self, receipt: bool) {
        let card = self.card_read;
        let thanks = std::mem::take(&mut self.thanks);
        if !card && !receipt && thanks == Thanks::None {
            return;
        }
        let shown = if card || receipt { REMINDER } else { THANKS };
        self.reminder = Some(Reminder {
            card,
            receipt,
            lang: self.lang,
            large: self.large,
            high_contrast: self.high_contrast,
            thanks,
            until: self.now + shown,
            card_until: self.now + REMINDER_CARD_MAX,
        });
    }

    /// Drops the journey, and with it the personal data it held (fields and cards zeroize);
    /// an order still waiting is cancelled, a submission never told withdrawn.
    fn drop_journey(&mut self, fx: &mut Vec<Effect>) {
        if let Journey::Pay(p) = &self.journey
            && let Some(order) = p.pending_order_id()
        {
            fx.push(Effect::CancelOrder(order));
        }
        if let Journey::Submit(s) = &self.journey
            && let Some(key) = s.unsent_submission()
        {
            fx.push(Effect::AbandonSubmission {
                idempotency_key: key.to_string(),
            });
        }
        self.journey = Journey::None;
    }

    fn end_session(&mut self, timed_out: bool, fx: &mut Vec<Effect>) {
        self.close_journey(timed_out, fx);
        // The reminder outlives the session: it holds nothing personal. Not after a timeout:
        // the person has gone by then, and the next one must not find the screen taken.
        self.reminder = None;
        if !timed_out {
            self.remind(self.printed);
        }
        self.thanks = Thanks::None;
        self.rating = None;
        self.drop_journey(fx);
        self.generation += 1;
        self.screen = Screen::Home;
        self.resume = None;
        self.busy = None;
        self.help = false;
        self.pin.close();
        self.maint.reset();
        self.card_read = false;
        self.printed = false;
        self.large = false;
        self.high_contrast = false;
        self.voice_volume = VOICE_VOLUME;
        self.voice_rate = VOICE_RATE;
        self.lang = Lang::Zh;
        // Quiet at the end: the next person hears the home prompt once they act.
        self.spoken = Some(("home", Lang::Zh));
        self.speaking = false;
        fx.push(Effect::StopSpeech);
        self.last_activity = self.now;
        fx.push(Effect::SessionEnded { timed_out });
    }
}

/// What a journey asks the session to do with the screen.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Screen(Screen),
    Busy(Busy),
    ScreenBusy(Screen, Busy),
    /// Leave the journey (back from its first screen).
    Home,
    /// Show an error screen; `retry` returns to the current one.
    Error(Screen),
    /// Move to a screen and show an error over it at once (retry returns to that screen).
    ScreenThenError(Screen, Screen),
    /// Pay this notice (from a case's notices).
    PayFor(String),
}

/// What journeys may read of the session.
#[derive(Debug, Clone)]
struct Ctx {
    offline_intake: bool,
    avail: Availability,
    kiosk_id: String,
    hall_name: String,
    lang: Lang,
    /// The local date and time.
    local: chrono::NaiveDateTime,
}

impl Ctx {
    fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.lang == Lang::En && !en.is_empty() {
            en
        } else {
            zh
        }
    }
}

/// One step of a 1-to-5 setting up or down.
fn step(v: u8, up: bool) -> u8 {
    if up {
        v.saturating_add(1).min(5)
    } else {
        v.saturating_sub(1).max(1)
    }
}

/// The code in a scanned payload: the payload itself when it is digits, or the digits after the
/// last `/` of a short link. Anything else is not a code.
pub fn extract_code(payload: &str) -> Option<String> {
    let p = payload.trim();
    if p.is_empty() || p.len() > 200 {
        return None;
    }
    let tail = p.rsplit('/').next().unwrap_or(p);
    let digits: String = tail.chars().filter(|c| *c != ' ').collect();
    if !digits.is_empty() && digits.len() <= 24 && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(digits)
    } else {
        None
    }
}

/// A platform refusal, as lines of text in the person's language.
fn problem_lines(e: &ApiError, lang: Lang) -> Vec<String> {
    match e {
        ApiError::Refused(p) if !p.errors.is_empty() => p
            .errors
            .iter()
            .map(|f| match lang {
                Lang::En if !f.message_en.is_empty() => f.message_en.clone(),
                _ => f.message.clone(),
            })
            .collect(),
        ApiError::Refused(p) => vec![p.detail.clone().unwrap_or_else(|| p.title.clone())],
        other => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests;
