//! The updater's decisions, as pure code: what to do next given the offer, what is on disk,
//! whether someone is using the kiosk and the time (all passed in; nothing here reads a clock,
//! a file or the network). Also the bandwidth cap (a token bucket with time passed in) and the
//! night window.

use std::time::{Duration, Instant};

use chrono::NaiveTime;
use hall_domain::api::{UpdateOffer, UpdateState};
use serde::{Deserialize, Serialize};

/// A release given up on: it failed, was refused or rolled back under this rollout. It is tried
/// again only when a new rollout offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenUp {
    pub release: String,
    pub rollout: String,
}

/// The bundle of the offered release on the data partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    None,
    /// `.raucb.part` with this many bytes.
    Partial(u64),
    /// `.raucb`, its SHA-256 checked.
    Complete,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// The platform's offer in its last heartbeat answer (none: nothing rolled out, or the
    /// platform not heard from).
    pub offer: Option<&'a UpdateOffer>,
    /// The running system's version and RAUC compatible.
    pub running_version: &'a str,
    pub compatible: &'a str,
    /// Where the update stands, the rollout it came from, the releases given up on.
    pub state: &'a UpdateState,
    pub rollout: Option<&'a str>,
    pub given_up: &'a [GivenUp],
    pub bundle: Bundle,
    /// A session is open (someone is at the kiosk).
    pub in_use: bool,
    /// How long nobody has used the kiosk.
    pub idle_for: Duration,
    pub local_time: NaiveTime,
    pub window: &'a RebootWindow,
}

/// When the kiosk may restart into an installed release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootWindow {
    /// Nobody has used the kiosk for this long.
    pub idle_before: Duration,
    /// If set, only inside this window of the local day.
    pub night: Option<NightWindow>,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do (no offer, already running it, given up on it, a trial boot in progress).
    Nothing,
    /// Download the offered bundle, from the start or resuming a partial one.
    Download,
    /// Write it to the other slot with RAUC (the bundle is complete and checked).
    Install,
    /// Refuse the offer without downloading it (another board, an older release…).
    Refuse(String),
    /// Installed: waiting for a moment to restart (someone is here, not idle long enough, or
    /// outside the night window).
    Wait,
    /// Switch the boot to the other slot and restart now.
    Activate,
}

/// The next step. A release equal to the running version is never installed; one given up on
/// under a rollout is not taken again unless a new rollout offers it; installing and restarting
/// never happen while a session is open.
pub fn decide(s: &Situation<'_>) -> Step {
    if matches!(s.state, UpdateState::Trying { .. }) {
        return Step::Nothing; // the health check decides
    }
    let Some(offer) = s.offer else {
        // Withdrawn (or the platform not heard from): keep what is there, do nothing new.
        return Step::Nothing;
    };
    if offer.release == s.running_version {
        return Step::Nothing;
    }
    if s.given_up
        .iter()
        .any(|g| g.release == offer.release && g.rollout == offer.rollout)
    {
        return Step::Nothing;
    }
    let same_release = s.state.release() == Some(offer.release.as_str());
    let same_offer = same_release && s.rollout == Some(offer.rollout.as_str());
    if same_offer && s.state.is_failure() {
        return Step::Nothing; // done with this offer (until a new rollout)
    }
    if offer.compatible != s.compatible {
        return Step::Refuse(format!(
            "the bundle is for {}, this kiosk takes {}",
            offer.compatible, s.compatible
        ));
    }
    if offer.size == 0 || !is_sha256(&offer.sha256) {
        return Step::Refuse("the offer has no usable size or SHA-256".into());
    }
    match s.state {
        UpdateState::Installed { .. } if same_release => {
            if may_restart(s) {
                Step::Activate
            } else {
                Step::Wait
            }
        }
        UpdateState::Booted { .. } if same_release => Step::Nothing,
        _ => match s.bundle {
            Bundle::Complete if s.in_use => Step::Wait,
            Bundle::Complete => Step::Install,
            Bundle::None | Bundle::Partial(_) => Step::Download,
        },
    }
}

/// Whether the kiosk may restart now: never while a session is open; nobody for
/// `idle_before`; and inside the night window when one is configured.
pub fn may_restart(s: &Situation<'_>) -> bool {
    !s.in_use
        && s.idle_for >= s.window.idle_before
        && s.window.night.is_none_or(|n| n.contains(s.local_time))
}

/// 64 hex digits.
pub fn is_sha256(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A window of the local day (`02:00-05:00`; it may cross midnight: `23:30-04:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl NightWindow {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<NightWindow, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?} is not HH:MM-HH:MM (e.g. \"02:00-05:00\")"))?;
        let t = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M")
                .map_err(|_| format!("{x:?} in {s:?} is not a time of day HH:MM"))
        };
        let w = NightWindow {
            start: t(a)?,
            end: t(b)?,
        };
        if w.start == w.end {
            return Err(format!("{s:?} starts and ends at the same time"));
        }
        Ok(w)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The bandwidth cap: a token bucket refilled at `rate` bytes a second, holding at most one
/// second's worth. Time is passed in.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `bytes_per_sec` at least 1.
    pub fn new(bytes_per_sec: u64, now: Instant) -> TokenBucket {
        let rate = bytes_per_sec.max(1) as f64;
        TokenBucket {
            rate,
            capacity: rate,
            tokens: rate,
            last: now,
        }
    }

    /// Takes `n` bytes' worth at `now`; returns how long to wait before sending them so the
    /// average stays within the rate (zero when there were tokens enough).
    pub fn take(&mut self, n: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// A percentage of `done` in `total`, 0 to 100 (100 only when complete).
pub fn percent(done: u64, total: u64) -> u8 {
    if total == 0 {
        0
    } else if done >= total {
        100
    } else {
        (done as u128 * 100 / total as u128) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(release: &str, rollout: &str) -> UpdateOffer {
        UpdateOffer {
            release: release.into(),
            rollout: rollout.into(),
            compatible: "hall-kiosk-x86".into(),
            bundle_path: format!("/api/v1/fleet/releases/{release}/bundle"),
            size: 1000,
            sha256: "ab".repeat(32),
            root_sha256: "cd".repeat(32),
        }
    }

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    struct Case {
        offer: Option<UpdateOffer>,
        state: UpdateState,
        rollout: Option<String>,
        given_up: Vec<GivenUp>,
        bundle: Bundle,
        in_use: bool,
        idle_for: Duration,
        time: NaiveTime,
        window: RebootWindow,
    }

    impl Case {
        fn new() -> Case {
            Case {
                offer: Some(offer("1.5.0", "r1")),
                state: UpdateState::Idle,
                rollout: None,
                given_up: Vec::new(),
                bundle: Bundle::None,
                in_use: false,
                idle_for: Duration::from_secs(600),
                time: at(14, 0),
                window: RebootWindow {
                    idle_before: Duration::from_secs(120),
                    night: None,
                },
            }
        }
        fn installed(mut self) -> Case {
            self.state = UpdateState::Installed {
                release: "1.5.0".into(),
            };
            self.rollout = Some("r1".into());
            self.bundle = Bundle::None; // removed after the installation
            self
        }
        fn decide(&self) -> Step {
            decide(&Situation {
                offer: self.offer.as_ref(),
                running_version: "1.4.0",
                compatible: "hall-kiosk-x86",
                state: &self.state,
                rollout: self.rollout.as_deref(),
                given_up: &self.given_up,
                bundle: self.bundle,
                in_use: self.in_use,
                idle_for: self.idle_for,
                local_time: self.time,
                window: &self.window,
            })
        }
    }

    #[test]
    fn an_offer_is_downloaded_resumed_then_installed_when_nobody_is_there() {
        let mut c = Case::new();
        assert_eq!(c.decide(), Step::Download);
        c.state = UpdateState::Downloading {
            release: "1.5.0".into(),
            percent: 40,
        };
        c.rollout = Some("r1".into());
        c.bundle = Bundle::Partial(400);
        c.in_use = true;
        assert_eq!(
            c.decide(),
            Step::Download,
            "downloads go on during a session"
        );
        c.bundle = Bundle::Complete;
        assert_eq!(
            c.decide(),
            Step::Wait,
            "never installs while a session is open"
        );
        c.in_use = false;
        assert_eq!(c.decide(), Step::Install);
    }

    #[test]
    fn no_offer_or_the_running_release_does_nothing() {
        let mut c = Case::new();
        c.offer = None;
        assert_eq!(c.installed().decide(), Step::Nothing);
        let mut c = Case::new();
        c.offer = Some(offer("1.4.0", "r1"));
        c.bundle = Bundle::Complete;
        assert_eq!(
            c.decide(),
            Step::Nothing,
            "the running version is never installed"
        );
    }

    #[test]
    fn restarts_only_when_idle_long_enough_and_never_in_a_session() {
        let mut c = Case::new().installed();
        assert_eq!(c.decide(), Step::Activate);
        c.in_use = true;
        assert_eq!(c.decide(), Step::Wait);
        c.in_use = false;
        c.idle_for = Duration::from_secs(119);
        assert_eq!(c.decide(), Step::Wait);
        c.idle_for = Duration::from_secs(120);
        assert_eq!(c.decide(), Step::Activate);
    }

    #[test]
    fn with_a_night_window_restarts_only_inside_it_and_still_never_in_a_session() {
        let mut c = Case::new().installed();
        c.window.night = Some(NightWindow::parse("23:30-04:00").unwrap());
        assert_eq!(c.decide(), Step::Wait, "14:00 is outside");
        c.time = at(1, 0);
        assert_eq!(c.decide(), Step::Activate);
        c.time = at(23, 45);
        assert_eq!(c.decide(), Step::Activate);
        c.time = at(4, 0);
        assert_eq!(c.decide(), Step::Wait, "the end is outside");
        c.time = at(2, 0);
        c.in_use = true;
        assert_eq!(c.decide(), Step::Wait);
    }

    #[test]
    fn a_release_given_up_on_is_taken_again_only_from_a_new_rollout() {
        let mut c = Case::new();
        c.state = UpdateState::RolledBack {
            release: "1.5.0".into(),
            reason: "the printer did not open".into(),
        };
        c.rollout = Some("r1".into());
        c.given_up = vec![GivenUp {
            release: "1.5.0".into(),
            rollout: "r1".into(),
        }];
        assert_eq!(c.decide(), Step::Nothing);
        c.offer = Some(offer("1.5.0", "r2"));
        assert_eq!(c.decide(), Step::Download);
        // A failure of this very offer, before it was listed as given up on.
        let mut c = Case::new();
        c.state = UpdateState::Failed {
            release: "1.5.0".into(),
            reason: "digest".into(),
        };
        c.rollout = Some("r1".into());
        assert_eq!(c.decide(), Step::Nothing);
    }

    #[test]
    fn another_board_or_a_broken_offer_is_refused() {
        let mut c = Case::new();
        let mut o = offer("1.5.0", "r1");
        o.compatible = "hall-kiosk-arm64".into();
        c.offer = Some(o);
        assert!(matches!(c.decide(), Step::Refuse(r) if r.contains("hall-kiosk-arm64")));
        let mut o = offer("1.5.0", "r1");
        o.sha256 = "zz".into();
        c.offer = Some(o);
        assert!(matches!(c.decide(), Step::Refuse(_)));
    }

    #[test]
    fn a_trial_boot_is_left_to_the_health_check() {
        let mut c = Case::new();
        c.state = UpdateState::Trying {
            release: "1.5.0".into(),
        };
        assert_eq!(c.decide(), Step::Nothing);
    }

    #[test]
    fn a_newer_offer_replaces_an_installed_one() {
        let mut c = Case::new().installed();
        c.offer = Some(offer("1.6.0", "r2"));
        assert_eq!(c.decide(), Step::Download);
    }

    #[test]
    fn night_windows() {
        assert!(NightWindow::parse("02:00-05:00").is_ok());
        for bad in ["", "02:00", "2-5", "25:00-05:00", "02:00-02:00"] {
            assert!(NightWindow::parse(bad).is_err(), "{bad}");
        }
        let w = NightWindow::parse("02:00-05:00").unwrap();
        assert!(w.contains(at(2, 0)) && w.contains(at(4, 59)));
        assert!(!w.contains(at(5, 0)) && !w.contains(at(1, 59)));
    }

    #[test]
    fn the_bucket_keeps_the_average_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        assert_eq!(b.take(1000, t0), Duration::ZERO, "one second's burst");
        let wait = b.take(500, t0);
        assert_eq!(wait, Duration::from_millis(500));
        // Ten seconds of 1000-byte chunks, each sent when the bucket allows: about 10 s.
        let mut now = t0 + wait;
        let mut b = TokenBucket::new(1000, t0);
        let mut sent = 0;
        while sent < 11_000 {
            now += b.take(1000, now);
            sent += 1000;
        }
        let secs = now.duration_since(t0).as_secs_f64();
        assert!((9.4..=10.6).contains(&secs), "{secs}");
        // Time going backwards does not add tokens.
        let mut b = TokenBucket::new(1000, now);
        b.take(1000, now);
        assert!(b.take(1000, t0) > Duration::ZERO);
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(50, 100), 50);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(u64::MAX, u64::MAX - 1), 100);
    }
}
