//! How the hall is served: the journey events (started, each step shown, finished, abandoned,
//! rated) and the 好差评 rating screen at the end of a completed journey.
//!
//! Events carry nothing personal: the journey is a random id made when it starts, the steps are
//! the screens' names. The runtime stamps each with the local time and keeps it in the outbox
//! until the platform has it.

use hall_domain::api::{JourneyEventKind, JourneyKind, JourneyStep, Rating, RatingReason};

use super::view::Thanks;
use super::*;

/// One journey as the events tell it.
#[derive(Debug, Clone)]
pub(super) struct Tracker {
    id: String,
    kind: JourneyKind,
    /// The step last shown.
    step: Option<JourneyStep>,
    /// The person got what they came for: the end asks for a rating, and is no abandonment.
    pub(super) finished: bool,
}

/// A journey event, as the session tells it: the runtime gives it its own id and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyNote {
    /// The journey's id (a random UUID made when it started).
    pub journey: String,
    pub kind: JourneyKind,
    pub event: JourneyEventKind,
    pub step: Option<JourneyStep>,
    pub rating: Option<Rating>,
    pub reason: Option<RatingReason>,
    pub timed_out: bool,
}

/// The step a screen is, in a journey (none for home and the staff's screen).
pub fn journey_step(screen: Screen) -> Option<JourneyStep> {
    Some(match screen {
        Screen::Home | Screen::Maintenance => return None,
        Screen::Identify => JourneyStep::Identify,
        Screen::Items => JourneyStep::Items,
        Screen::Materials => JourneyStep::Materials,
        Screen::Capture => JourneyStep::Capture,
        Screen::Form => JourneyStep::Form,
        Screen::Review => JourneyStep::Review,
        Screen::Submitted => JourneyStep::Submitted,
        Screen::Lookup => JourneyStep::Lookup,
        Screen::Progress => JourneyStep::Progress,
        Screen::PayEntry => JourneyStep::PayEntry,
        Screen::Payment => JourneyStep::Payment,
        Screen::Paying => JourneyStep::Paying,
        Screen::Paid => JourneyStep::Paid,
        Screen::PayFailed => JourneyStep::PayFailed,
        Screen::Offline => JourneyStep::Offline,
        Screen::PrinterError => JourneyStep::PrinterError,
        Screen::CameraError => JourneyStep::CameraError,
        Screen::Rating => JourneyStep::Rating,
    })
}

/// The screens that mean the person got what they came for.
fn finishes(screen: Screen) -> bool {
    matches!(screen, Screen::Submitted | Screen::Progress | Screen::Paid)
}

fn is_error_screen(screen: Screen) -> bool {
    matches!(
        screen,
        Screen::Offline | Screen::PrinterError | Screen::CameraError
    )
}

impl Tracker {
    fn note(&self, event: JourneyEventKind, step: Option<JourneyStep>) -> JourneyNote {
        JourneyNote {
            journey: self.id.clone(),
            kind: self.kind,
            event,
            step,
            rating: None,
            reason: None,
            timed_out: false,
        }
    }
}

impl Session {
    fn journey_kind(&self) -> Option<JourneyKind> {
        match &self.journey {
            Journey::None => None,
            Journey::Submit(_) => Some(JourneyKind::Submission),
            Journey::Lookup(_) => Some(JourneyKind::Lookup),
            Journey::Pay(_) => Some(JourneyKind::Payment),
        }
    }

    /// After every input: a journey started, a step shown, the journey finished, or left for
    /// the home screen (abandoned where it was).
    pub(super) fn track_journey(&mut self, fx: &mut Vec<Effect>) {
        let kind = self.journey_kind();
        match (kind, &self.track) {
            (None, Some(_)) if self.screen != Screen::Rating => self.close_journey(false, fx),
            // A journey of another kind took over (a notice paid from a case's progress).
            (Some(k), Some(t)) if t.kind != k => {
                self.close_journey(false, fx);
                self.start_journey(k, fx);
            }
            (Some(k), None) => self.start_journey(k, fx),
            _ => {}
        }
        let Some(t) = &mut self.track else { return };
        let mut shown = Vec::with_capacity(2);
        // An error shown at once over the screen moved to: that screen was reached too.
        if is_error_screen(self.screen)
            && let Some(r) = self.resume
            && journey_step(r) != t.step
        {
            shown.push(r);
        }
        shown.push(self.screen);
        for screen in shown {
            let Some(step) = journey_step(screen) else {
                continue;
            };
            if t.step == Some(step) {
                continue;
            }
            t.step = Some(step);
            fx.push(Effect::Journey(t.note(JourneyEventKind::Step, Some(step))));
            if finishes(screen) && !t.finished {
                t.finished = true;
                fx.push(Effect::Journey(t.note(JourneyEventKind::Finished, None)));
            }
        }
    }

    fn start_journey(&mut self, kind: JourneyKind, fx: &mut Vec<Effect>) {
        let t = Tracker {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            step: None,
            finished: false,
        };
        fx.push(Effect::Journey(t.note(JourneyEventKind::Started, None)));
        self.track = Some(t);
    }

    /// The journey ends: given up where it was unless it was finished (a timeout asks nothing).
    pub(super) fn close_journey(&mut self, timed_out: bool, fx: &mut Vec<Effect>) {
        let Some(t) = self.track.take() else { return };
        if t.finished {
            return;
        }
        let step = t.step.unwrap_or(match t.kind {
            JourneyKind::Submission => JourneyStep::Identify,
            JourneyKind::Lookup => JourneyStep::Lookup,
            JourneyKind::Payment => JourneyStep::PayEntry,
        });
        let mut note = t.note(JourneyEventKind::Abandoned, Some(step));
        note.timed_out = timed_out;
        fx.push(Effect::Journey(note));
    }

    /// Whether finishing now asks for a rating first.
    pub(super) fn rating_due(&self) -> bool {
        self.screen != Screen::Rating && self.track.as_ref().is_some_and(|t| t.finished)
    }

    /// The person finished a completed journey: its data goes, the rating screen shows.
    pub(super) fn ask_rating(&mut self, fx: &mut Vec<Effect>) {
        self.drop_journey(fx);
        self.screen = Screen::Rating;
        self.rating = None;
        self.resume = None;
        self.busy = None;
        self.help = false;
    }

    /// The rating screen's touches.
    pub(super) fn on_rating(&mut self, intent: Intent, fx: &mut Vec<Effect>) {
        match (intent, self.rating) {
            (Intent::Rate(r), None) if r.is_poor() => self.rating = Some(r),
            (Intent::Rate(r), None) => self.rated(Some((r, None)), fx),
            (Intent::RateReason(reason), Some(r)) => self.rated(Some((r, Some(reason))), fx),
            // The reason is never required: skipping it keeps the rating.
            (Intent::Skip | Intent::Finish, Some(r)) => self.rated(Some((r, None)), fx),
            (Intent::Skip | Intent::Finish, None) => self.rated(None, fx),
            (Intent::Back, Some(_)) => self.rating = None,
            _ => {}
        }
    }

    /// Rated (or skipped): the thanks, and home.
    fn rated(&mut self, rated: Option<(Rating, Option<RatingReason>)>, fx: &mut Vec<Effect>) {
        if let (Some((rating, reason)), Some(t)) = (rated, &self.track) {
            let mut note = t.note(JourneyEventKind::Rated, None);
            note.rating = Some(rating);
            note.reason = reason.filter(|_| rating.is_poor());
            fx.push(Effect::Journey(note));
        }
        self.thanks = if rated.is_some() {
            Thanks::Rated
        } else {
            Thanks::Used
        };
        self.end_session(false, fx);
    }
}
