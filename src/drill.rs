//! The burn-in drill: the whole kiosk, headless, with a scripted citizen who submits the demo
//! application again and again (`hall-kiosk drill --journeys N`). Installers run it on a new
//! kiosk against the hall's test platform; the crash test runs it and kills the process at
//! random moments.
//!
//! The citizen acts only through intents, exactly what the screen's buttons send, one step at a
//! time as the screens appear: typed identity (no card needed), the first item of the catalogue
//! that the demo data fills, a photo of each page, the demo project code, submit, finish, and on
//! the rating screen the next rating of `--ratings` (or 跳过). With `--abandon-every N` every
//! N-th journey is given up (结束办理) when it reaches the step of `--abandon-at`: a scripted
//! day with a known mix of finished, abandoned and rated journeys.

use std::time::{Duration, Instant};

use hall_domain::api::{MaterialStatus, Rating, RatingReason};
use hall_platform::demo;

use crate::session::view::Field;
use crate::session::{Busy, Intent, Screen, ViewModel};

/// How long the citizen waits on an unchanged screen before trying its step again.
const PATIENCE: Duration = Duration::from_secs(4);

/// The item the drill applies for (typed identity suffices for it).
pub const DRILL_ITEM: &str = "企业投资项目备案";

/// What the citizen does on the rating screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillRating {
    /// 跳过: no rating.
    Skip,
    /// A level, and for the two lowest a reason (or none: the reason skipped).
    Rate(Rating, Option<RatingReason>),
}

impl std::fmt::Display for DrillRating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Skip => f.write_str("skip"),
            Self::Rate(r, None) => f.write_str(r.as_str()),
            Self::Rate(r, Some(why)) => write!(f, "{}:{}", r.as_str(), why.as_str()),
        }
    }
}

/// `--ratings`: comma-separated, used in turn and again from the start: `skip`, a level
/// (`very_satisfied`, `satisfied`, `basically_satisfied`, `dissatisfied`, `very_dissatisfied`, or
/// its score 5 to 1), and for the two lowest `:reason` (`hard_to_use`, `too_slow`,
/// `device_fault`, `unclear_guidance`, `not_done`).
pub fn parse_ratings(text: &str) -> Result<DrillRatings, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "skip" {
            out.push(DrillRating::Skip);
            continue;
        }
        let (level, why) = match part.split_once(':') {
            Some((l, w)) => (l.trim(), Some(w.trim())),
            None => (part, None),
        };
        let rating = Rating::parse(level)
            .or_else(|| {
                level
                    .parse::<u8>()
                    .ok()
                    .and_then(|n| Rating::ALL.into_iter().find(|r| r.score() == n))
            })
            .ok_or_else(|| {
                format!(
                    "{level:?} is not a rating (very_satisfied … very_dissatisfied, 5 … 1, or skip)"
                )
            })?;
        let reason = match why {
            None => None,
            Some(w) => {
                let reason = RatingReason::parse(w).ok_or_else(|| {
                    format!("{w:?} is not a reason (hard_to_use, too_slow, device_fault, unclear_guidance, not_done)")
                })?;
                if !rating.is_poor() {
                    return Err(format!(
                        "{part:?}: a reason goes with dissatisfied or very_dissatisfied only"
                    ));
                }
                Some(reason)
            }
        };
        out.push(DrillRating::Rate(rating, reason));
    }
    if out.is_empty() {
        return Err("no rating given".into());
    }
    Ok(DrillRatings(out))
}

/// The ratings of `--ratings`, in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillRatings(pub Vec<DrillRating>);

/// `--abandon-at`: the screen of the submission at which a journey is given up.
pub fn parse_step(text: &str) -> Result<Screen, String> {
    Ok(match text.trim() {
        "identify" => Screen::Identify,
        "items" => Screen::Items,
        "materials" => Screen::Materials,
        "capture" => Screen::Capture,
        "form" => Screen::Form,
        "review" => Screen::Review,
        other => {
            return Err(format!(
                "{other:?} is not a step of the drill's journey (identify, items, materials, capture, form, review)"
            ));
        }
    })
}

/// What the drill's citizens did, for the log and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillTally {
    /// Journeys that ended (finished or given up).
    pub journeys: u32,
    /// Submissions finished (the outcome shown).
    pub finished: u32,
    /// Journeys given up by `--abandon-every`.
    pub abandoned: u32,
    /// Ratings given (not counting 跳过).
    pub rated: u32,
    pub skipped: u32,
}

/// The scripted citizen.
pub struct Drill {
    journeys: Option<u32>,
    /// Photograph only what must be: materials that allow it are committed (告知承诺) or
    /// tolerated (容缺). Quicker journeys.
    skip_photos: bool,
    /// The ratings given in turn at the end of finished journeys.
    ratings: Vec<DrillRating>,
    /// Every this many journeys, one is given up at `abandon_at`.
    abandon_every: Option<u32>,
    abandon_at: Screen,
    tally: DrillTally,
    /// The poor rating given, whose reason comes next.
    rated_poor: Option<Option<RatingReason>>,
    /// The screen and the moment the citizen last acted on it.
    acted: Option<(Screen, Instant)>,
    /// How long to stay on the review screen before submitting, and since when it is held.
    hold: Option<Duration>,
    held_since: Option<Instant>,
}

impl Drill {
    /// `journeys`: how many journeys to end (finished or given up) before [`Drill::done`];
    /// `None` for ever.
    pub fn new(journeys: Option<u32>, skip_photos: bool) -> Self {
        Self {
            journeys,
            skip_photos,
            ratings: vec![DrillRating::Skip],
            abandon_every: None,
            abandon_at: Screen::Form,
            tally: DrillTally::default(),
            rated_poor: None,
            acted: None,
            hold: None,
            held_since: None,
        }
    }

    /// Stays this long on the review screen of every journey before submitting.
    pub fn holding(mut self, hold: Option<Duration>) -> Self {
        self.hold = hold;
        self
    }

    /// Gives these ratings in turn at the end of finished journeys (default: 跳过).
    pub fn rating(mut self, ratings: Vec<DrillRating>) -> Self {
        if !ratings.is_empty() {
            self.ratings = ratings;
        }
        self
    }

    /// Gives up every `every`-th journey (the `every`-th, the 2×`every`-th, …) at `at`.
    pub fn abandoning(mut self, every: Option<u32>, at: Screen) -> Self {
        self.abandon_every = every.filter(|n| *n > 0);
        self.abandon_at = at;
        self
    }

    /// Submissions finished so far.
    pub fn finished(&self) -> u32 {
        self.tally.finished
    }

    /// What the citizens did so far.
    pub fn tally(&self) -> &DrillTally {
        &self.tally
    }

    pub fn done(&self) -> bool {
        self.journeys.is_some_and(|n| self.tally.journeys >= n)
    }

    /// Whether the journey under way is one to give up.
    fn abandons_this_one(&self) -> bool {
        self.abandon_every
            .is_some_and(|n| (self.tally.journeys + 1).is_multiple_of(n))
    }

    /// The drill as the kiosk's pump hook: after each pump the citizen takes its next steps;
    /// the event loop ends once the journeys are done.
    pub fn into_hook(mut self) -> crate::run::PumpHook {
        Box::new(move |k: &mut crate::app::Kiosk, now: Instant| {
            if self.done() {
                let t = &self.tally;
                tracing::info!(
                    journeys = t.journeys,
                    finished = t.finished,
                    abandoned = t.abandoned,
                    rated = t.rated,
                    skipped = t.skipped,
                    "drill finished"
                );
                let _ = slint::quit_event_loop();
            }
            for intent in self.next(&k.view(), now) {
                k.act(intent);
            }
            k.pump(now);
        })
    }

    /// What the citizen does now, given what the screen shows.
    pub fn next(&mut self, vm: &ViewModel, now: Instant) -> Vec<Intent> {
        if vm.overlays.busy != Busy::None || self.done() {
            return Vec::new();
        }
        if let Some((screen, at)) = self.acted
            && screen == vm.chrome.screen
            && now.duration_since(at) < PATIENCE
            && !matches!(vm.chrome.screen, Screen::Capture | Screen::Form)
            && !(vm.chrome.screen == Screen::Rating && self.rated_poor.is_some())
        {
            return Vec::new();
        }
        let keys = |s: &str| -> Vec<Intent> {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(Intent::Key)
                .collect()
        };
        if vm.chrome.screen == self.abandon_at && self.abandons_this_one() {
            self.tally.journeys += 1;
            self.tally.abandoned += 1;
            self.acted = Some((vm.chrome.screen, now));
            tracing::info!(step = ?vm.chrome.screen, "drill: journey given up");
            return vec![Intent::Finish];
        }
        let intents = match vm.chrome.screen {
            Screen::Home => {
                self.rated_poor = None;
                vec![Intent::StartSubmit]
            }
            Screen::Identify => {
                let mut v = vec![Intent::IdentifyTyping, Intent::Focus(Field::IdNumber)];
                v.push(Intent::Clear);
                v.extend(keys(demo::APPLICANT_ID));
                // The name on the pinyin keyboard: each syllable's first candidate.
                v.push(Intent::Focus(Field::ApplicantName));
                v.push(Intent::Clear);
                for syllable in ["zhang", "san"] {
                    v.extend(keys(syllable));
                    v.push(Intent::Candidate(0));
                }
                v.push(Intent::Focus(Field::Phone));
                v.push(Intent::Clear);
                v.extend(keys(demo::APPLICANT_PHONE));
                v.push(Intent::Next);
                v
            }
            Screen::Items => {
                let tiles = vm.apply.stages.iter().flat_map(|s| s.items.iter());
                let mut all = tiles.clone();
                match all
                    .find(|t| t.name == DRILL_ITEM)
                    .or_else(|| tiles.clone().next())
                {
                    Some(t) => vec![Intent::PickItem(t.id.clone())],
                    None => vec![Intent::Back],
                }
            }
            Screen::Materials => {
                let mut v = Vec::new();
                if self.skip_photos {
                    // 告知承诺 where allowed, else 容缺: only the rest is photographed.
                    for m in vm.apply.materials.iter().filter(|m| m.required) {
                        if m.commitment_allowed {
                            v.push(Intent::Material(
                                m.id.clone(),
                                Some(MaterialStatus::Committed),
                            ));
                        } else if m.tolerable {
                            v.push(Intent::Material(
                                m.id.clone(),
                                Some(MaterialStatus::Tolerated),
                            ));
                        }
                    }
                }
                v.push(Intent::Next);
                v
            }
            Screen::Capture => {
                // One step at a time (the screen is busy while the photo is taken): a photo,
                // then on to the next material.
                if vm.apply.capture_pages == 0 {
                    vec![Intent::Shoot]
                } else {
                    vec![Intent::NextMaterial]
                }
            }
            Screen::Form => {
                if !vm.apply.project_code.ok {
                    let mut v = vec![Intent::Focus(Field::ProjectCode), Intent::Clear];
                    v.extend(keys(demo::PROJECT_CODE));
                    v
                } else if vm.apply.org_name.is_empty() {
                    return Vec::new(); // the platform is looking the organisation up
                } else if !vm.apply.contact_phone.ok {
                    let mut v = vec![Intent::Focus(Field::ContactPhone), Intent::Clear];
                    v.extend(keys(demo::APPLICANT_PHONE));
                    v.push(Intent::Next);
                    v
                } else {
                    vec![Intent::Next]
                }
            }
            Screen::Review => {
                if let Some(hold) = self.hold {
                    let since = *self.held_since.get_or_insert_with(|| {
                        tracing::info!("drill: holding on the review screen");
                        now
                    });
                    if now.duration_since(since) < hold {
                        return Vec::new();
                    }
                }
                self.held_since = None;
                vec![Intent::Submit]
            }
            Screen::Submitted => {
                self.tally.finished += 1;
                vec![Intent::Finish]
            }
            Screen::Rating => {
                if let Some(why) = self.rated_poor {
                    // The reasons show after a poor rating: one of them, or 跳过.
                    if vm.rate.chosen.is_none() {
                        return Vec::new();
                    }
                    self.rated_poor = None;
                    self.tally.journeys += 1;
                    match why {
                        Some(w) => vec![Intent::RateReason(w)],
                        None => vec![Intent::Skip],
                    }
                } else {
                    let n = (self.tally.rated + self.tally.skipped) as usize;
                    let pick = self
                        .ratings
                        .get(n % self.ratings.len().max(1))
                        .copied()
                        .unwrap_or(DrillRating::Skip);
                    tracing::info!(rating = %pick, "drill: rating");
                    match pick {
                        DrillRating::Skip => {
                            self.tally.skipped += 1;
                            self.tally.journeys += 1;
                            vec![Intent::Skip]
                        }
                        DrillRating::Rate(r, why) => {
                            self.tally.rated += 1;
                            if r.is_poor() {
                                self.rated_poor = Some(why);
                            } else {
                                self.tally.journeys += 1;
                            }
                            vec![Intent::Rate(r)]
                        }
                    }
                }
            }
            // The platform is down or a device failed: try again, then give up this journey.
            Screen::Offline | Screen::PrinterError | Screen::CameraError => {
                vec![Intent::Finish]
            }
            // Not the drill's journeys: back home.
            _ => vec![Intent::Finish],
        };
        self.acted = Some((vm.chrome.screen, now));
        tracing::debug!(screen = ?vm.chrome.screen, steps = intents.len(), "drill acts");
        intents
    }
}
