//! The burn-in drill: the whole kiosk, headless, with a scripted citizen who submits the demo
//! application again and again (`hall-kiosk drill --journeys N`). Installers run it on a new
//! kiosk against the hall's test platform; the crash test runs it and kills the process at
//! random moments.
//!
//! The citizen acts only through intents, exactly what the screen's buttons send, one step at a
//! time as the screens appear: typed identity (no card needed), the first item of the catalogue
//! that the demo data fills, a photo of each page, the demo project code, submit, finish.

use std::time::{Duration, Instant};

use hall_domain::api::MaterialStatus;
use hall_platform::demo;

use crate::session::view::Field;
use crate::session::{Busy, Intent, Screen, ViewModel};

/// How long the citizen waits on an unchanged screen before trying its step again.
const PATIENCE: Duration = Duration::from_secs(4);

/// The item the drill applies for (typed identity suffices for it).
pub const DRILL_ITEM: &str = "企业投资项目备案";

/// The scripted citizen.
pub struct Drill {
    journeys: Option<u32>,
    /// Photograph only what must be: materials that allow it are committed (告知承诺) or
    /// tolerated (容缺). Quicker journeys.
    skip_photos: bool,
    finished: u32,
    /// The screen and the moment the citizen last acted on it.
    acted: Option<(Screen, Instant)>,
    /// How long to stay on the review screen before submitting, and since when it is held.
    hold: Option<Duration>,
    held_since: Option<Instant>,
}

impl Drill {
    /// `journeys`: how many submissions to finish before [`Drill::done`]; `None` for ever.
    pub fn new(journeys: Option<u32>, skip_photos: bool) -> Self {
        Self {
            journeys,
            skip_photos,
            finished: 0,
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

    /// Submissions finished so far.
    pub fn finished(&self) -> u32 {
        self.finished
    }

    pub fn done(&self) -> bool {
        self.journeys.is_some_and(|n| self.finished >= n)
    }

    /// The drill as the kiosk's pump hook: after each pump the citizen takes its next steps;
    /// the event loop ends once the journeys are done.
    pub fn into_hook(mut self) -> crate::run::PumpHook {
        Box::new(move |k: &mut crate::app::Kiosk, now: Instant| {
            if self.done() {
                tracing::info!(finished = self.finished(), "drill finished");
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
        {
            return Vec::new();
        }
        let keys = |s: &str| -> Vec<Intent> {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(Intent::Key)
                .collect()
        };
        let intents = match vm.chrome.screen {
            Screen::Home => vec![Intent::StartSubmit],
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
                self.finished += 1;
                vec![Intent::Finish]
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
