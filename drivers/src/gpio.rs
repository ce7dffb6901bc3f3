//! GPIO: the physical help button, the status light and the presence sensor, on the Linux
//! GPIO character device (`gpiocdev`), with pins from the board profile.
//!
//! The logic is pure and timed by the caller: [`Debouncer`] turns sampled levels into stable
//! edges, [`LightPattern::level_at`] says whether the light is on at a moment of a pattern.
//! [`GpioLines`] is what the runner samples and drives: the real chip ([`CdevLines`]) or a
//! simulated one ([`SimLines`]) whose levels tests and the demo set by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::board::{Bias, GpioPins};
use crate::hotplug::{HealthBoard, Stop};
use crate::{DeviceEvent, DeviceKind, Health};

/// Turns sampled levels into stable edges: a new level counts once it has held for `hold`.
#[derive(Debug, Clone)]
pub struct Debouncer {
    hold: Duration,
    stable: bool,
    candidate: Option<(bool, Instant)>,
}

impl Debouncer {
    /// Starts at `initial` (the level read at start, which is no edge).
    pub fn new(hold: Duration, initial: bool) -> Self {
        Self {
            hold,
            stable: initial,
            candidate: None,
        }
    }

    pub fn level(&self) -> bool {
        self.stable
    }

    /// Takes a sample; returns the new stable level when it changed.
    pub fn sample(&mut self, level: bool, now: Instant) -> Option<bool> {
        if level == self.stable {
            self.candidate = None;
            return None;
        }
        match self.candidate {
            Some((l, since)) if l == level => {
                if now.saturating_duration_since(since) >= self.hold {
                    self.stable = level;
                    self.candidate = None;
                    Some(level)
                } else {
                    None
                }
            }
            _ => {
                self.candidate = Some((level, now));
                if self.hold.is_zero() {
                    self.stable = level;
                    self.candidate = None;
                    Some(level)
                } else {
                    None
                }
            }
        }
    }
}

/// What the status light shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LightPattern {
    Off,
    /// Steady on: ready for the next person.
    #[default]
    Idle,
    /// Slow blink (1 Hz): a session is in progress.
    Busy,
    /// Fast blink (4 Hz): a device or the platform is down; staff needed.
    Fault,
    /// Double flash every second: a technician is finding this kiosk (`diag`).
    Identify,
}

impl LightPattern {
    pub const ALL: [LightPattern; 5] = [
        LightPattern::Off,
        LightPattern::Idle,
        LightPattern::Busy,
        LightPattern::Fault,
        LightPattern::Identify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LightPattern::Off => "off",
            LightPattern::Idle => "idle",
            LightPattern::Busy => "busy",
            LightPattern::Fault => "fault",
            LightPattern::Identify => "identify",
        }
    }

    pub fn from_name(name: &str) -> Option<LightPattern> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The on/off segments of one period, in milliseconds, starting with "on".
    fn segments(self) -> &'static [u64] {
        match self {
            LightPattern::Off => &[0, 1000],
            LightPattern::Idle => &[1000, 0],
            LightPattern::Busy => &[500, 500],
            LightPattern::Fault => &[125, 125],
            LightPattern::Identify => &[100, 100, 100, 700],
        }
    }

    /// Whether the light is on `elapsed` after the pattern started.
    pub fn level_at(self, elapsed: Duration) -> bool {
        let seg = self.segments();
        let period: u64 = seg.iter().sum();
        let mut t = (elapsed.as_millis() % u128::from(period.max(1))) as u64;
        for (i, &len) in seg.iter().enumerate() {
            if t < len {
                return i % 2 == 0;
            }
            t -= len;
        }
        false
    }

    /// The next moment after `elapsed` at which the level changes (for sleeping).
    pub fn next_change(self, elapsed: Duration) -> Option<Duration> {
        let seg = self.segments();
        if seg.iter().filter(|&&s| s > 0).count() < 2 {
            return None;
        }
        let period: u64 = seg.iter().sum();
        let ms = elapsed.as_millis() as u64;
        let base = ms - ms % period;
        let mut edge = base;
        for &len in seg.iter().cycle().take(seg.len() * 2) {
            edge += len;
            if edge > ms {
                return Some(Duration::from_millis(edge));
            }
        }
        None
    }
}

/// Which logical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pin {
    HelpButton,
    Presence,
    StatusLight,
}

/// The lines the runner samples and drives; levels are logical (active = true), the
/// active-low inversion is the implementation's job.
pub trait GpioLines: Send {
    fn read(&mut self, pin: Pin) -> std::io::Result<bool>;
    fn write(&mut self, pin: Pin, on: bool) -> std::io::Result<()>;
    fn describe(&self) -> String;
}

/// Simulated lines: set inputs by hand, read back the light.
#[derive(Clone, Default)]
pub struct SimLines {
    levels: Arc<Mutex<HashMap<Pin, bool>>>,
    /// Every change of the light, with when it happened.
    light_log: Arc<Mutex<Vec<(Instant, bool)>>>,
    gone: Arc<Mutex<bool>>,
}

impl SimLines {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self, pin: Pin, level: bool) {
        if let Ok(mut m) = self.levels.lock() {
            m.insert(pin, level);
        }
    }

    pub fn get(&self, pin: Pin) -> bool {
        self.levels
            .lock()
            .map(|m| m.get(&pin).copied().unwrap_or(false))
            .unwrap_or(false)
    }

    /// Every change of the status light so far.
    pub fn light_changes(&self) -> Vec<(Instant, bool)> {
        self.light_log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// As if the chip went away (reads and writes fail) or came back.
    pub fn set_gone(&self, gone: bool) {
        if let Ok(mut g) = self.gone.lock() {
            *g = gone;
        }
    }

    fn check(&self) -> std::io::Result<()> {
        if self.gone.lock().map(|g| *g).unwrap_or(true) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "simulated GPIO chip gone",
            ));
        }
        Ok(())
    }
}

impl GpioLines for SimLines {
    fn read(&mut self, pin: Pin) -> std::io::Result<bool> {
        self.check()?;
        Ok(self.get(pin))
    }
    fn write(&mut self, pin: Pin, on: bool) -> std::io::Result<()> {
        self.check()?;
        let changed = self.get(pin) != on;
        self.set(pin, on);
        if pin == Pin::StatusLight
            && changed
            && let Ok(mut l) = self.light_log.lock()
        {
            l.push((Instant::now(), on));
        }
        Ok(())
    }
    fn describe(&self) -> String {
        "simulated GPIO".into()
    }
}

/// Finds a chip by device name (`gpiochip0`, or a path) or by label (`pinctrl-rp1`).
pub fn find_chip(name: &str) -> std::io::Result<std::path::PathBuf> {
    let direct = if name.starts_with('/') {
        std::path::PathBuf::from(name)
    } else {
        std::path::Path::new("/dev").join(name)
    };
    if direct.exists() {
        return Ok(direct);
    }
    let chips = gpiocdev::chip::chips().unwrap_or_default();
    for path in chips {
        let label = gpiocdev::Chip::from_path(&path)
            .and_then(|c| c.info())
            .map(|i| i.label);
        if label.is_ok_and(|l| l == name) {
            return Ok(path);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("no GPIO chip `{name}` (no /dev/{name}, and no chip has that label)"),
    ))
}

/// The lines of a board on the GPIO character device.
pub struct CdevLines {
    inputs: Option<gpiocdev::Request>,
    output: Option<gpiocdev::Request>,
    pins: GpioPins,
    chip: std::path::PathBuf,
}

fn cdev_err(e: gpiocdev::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl CdevLines {
    pub fn open(pins: &GpioPins) -> std::io::Result<Self> {
        let chip = find_chip(&pins.chip)?;
        let mut inputs = None;
        let ins: Vec<_> = [pins.help_button, pins.presence]
            .into_iter()
            .flatten()
            .collect();
        if !ins.is_empty() {
            let mut b = gpiocdev::Request::builder();
            b.on_chip(&chip).with_consumer("hall-kiosk");
            for p in &ins {
                b.with_line(p.line).as_input();
                if p.active_low {
                    b.as_active_low();
                }
                let bias = match p.bias {
                    Bias::AsIs => None,
                    Bias::PullUp => Some(gpiocdev::line::Bias::PullUp),
                    Bias::PullDown => Some(gpiocdev::line::Bias::PullDown),
                    Bias::Disabled => Some(gpiocdev::line::Bias::Disabled),
                };
                b.with_bias(bias);
            }
            inputs = Some(b.request().map_err(cdev_err)?);
        }
        let output = match pins.status_light {
            Some(p) => {
                let mut b = gpiocdev::Request::builder();
                b.on_chip(&chip)
                    .with_consumer("hall-kiosk")
                    .with_line(p.line)
                    .as_output(gpiocdev::line::Value::Inactive);
                if p.active_low {
                    b.as_active_low();
                }
                Some(b.request().map_err(cdev_err)?)
            }
            None => None,
        };
        Ok(Self {
            inputs,
            output,
            pins: pins.clone(),
            chip,
        })
    }

    fn line(&self, pin: Pin) -> Option<u32> {
        match pin {
            Pin::HelpButton => self.pins.help_button.map(|p| p.line),
            Pin::Presence => self.pins.presence.map(|p| p.line),
            Pin::StatusLight => self.pins.status_light.map(|p| p.line),
        }
    }
}

impl GpioLines for CdevLines {
    fn read(&mut self, pin: Pin) -> std::io::Result<bool> {
        let (Some(line), Some(req)) = (self.line(pin), self.inputs.as_ref()) else {
            return Ok(false);
        };
        let v = req.value(line).map_err(cdev_err)?;
        Ok(v == gpiocdev::line::Value::Active)
    }
    fn write(&mut self, pin: Pin, on: bool) -> std::io::Result<()> {
        let (Some(line), Some(req)) = (self.line(pin), self.output.as_ref()) else {
            return Ok(());
        };
        let v = if on {
            gpiocdev::line::Value::Active
        } else {
            gpiocdev::line::Value::Inactive
        };
        req.set_value(line, v).map_err(cdev_err)
    }
    fn describe(&self) -> String {
        format!("GPIO {}", self.chip.display())
    }
}

/// Sampling period of the inputs.
pub const SAMPLE: Duration = Duration::from_millis(5);
/// A second press within this time is the same request for help.
pub const HELP_REPEAT: Duration = Duration::from_secs(2);

/// Drives the lines until `stop`: samples the button and the sensor, debounces them into
/// [`DeviceEvent::HelpButton`] and [`DeviceEvent::Presence`], and shows `light`'s pattern.
/// Returns the error that ended it (the chip went away).
pub fn run_lines(
    lines: &mut dyn GpioLines,
    pins: &GpioPins,
    light: &Mutex<LightPattern>,
    stop: &Stop,
    board: &HealthBoard,
) -> std::io::Result<()> {
    let start = Instant::now();
    let hold =
        |p: Option<crate::board::InputPin>| Duration::from_millis(p.map_or(30, |p| p.debounce_ms));
    let mut help = Debouncer::new(hold(pins.help_button), lines.read(Pin::HelpButton)?);
    let mut presence = Debouncer::new(hold(pins.presence), lines.read(Pin::Presence)?);
    board.set(DeviceKind::Gpio, Health::Ok);
    let mut last_help: Option<Instant> = None;
    let mut shown: Option<(LightPattern, bool)> = None;
    let mut pattern_since = start;
    while !stop.is_set() {
        let now = Instant::now();
        if pins.help_button.is_some()
            && help.sample(lines.read(Pin::HelpButton)?, now) == Some(true)
        {
            if last_help.is_none_or(|t| now.saturating_duration_since(t) >= HELP_REPEAT) {
                board.emit(DeviceEvent::HelpButton);
            }
            last_help = Some(now);
        }
        if pins.presence.is_some()
            && let Some(level) = presence.sample(lines.read(Pin::Presence)?, now)
        {
            board.emit(DeviceEvent::Presence(level));
        }
        if pins.status_light.is_some() {
            let pattern = light.lock().map(|p| *p).unwrap_or(LightPattern::Fault);
            if shown.is_none_or(|(p, _)| p != pattern) {
                pattern_since = now;
            }
            let on = pattern.level_at(now - pattern_since);
            if shown != Some((pattern, on)) {
                lines.write(Pin::StatusLight, on)?;
                shown = Some((pattern, on));
            }
        }
        stop.sleep(SAMPLE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventSink;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn debouncer_ignores_bounces_and_takes_held_levels() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        // Contact bounce: on/off every 5 ms for 20 ms, then held.
        let mut edges = Vec::new();
        for i in 0..4 {
            edges.extend(d.sample(i % 2 == 0, t0 + ms(i * 5)));
        }
        assert!(edges.is_empty());
        assert_eq!(d.sample(true, t0 + ms(20)), None);
        assert_eq!(d.sample(true, t0 + ms(45)), None);
        assert_eq!(d.sample(true, t0 + ms(50)), Some(true));
        assert!(d.level());
        assert_eq!(d.sample(true, t0 + ms(500)), None);
        // A 10 ms glitch low is not a release.
        assert_eq!(d.sample(false, t0 + ms(600)), None);
        assert_eq!(d.sample(true, t0 + ms(610)), None);
        assert_eq!(d.sample(false, t0 + ms(620)), None);
        assert_eq!(d.sample(false, t0 + ms(660)), Some(false));
        let mut instant = Debouncer::new(Duration::ZERO, false);
        assert_eq!(instant.sample(true, t0), Some(true));
    }

    #[test]
    fn light_patterns_are_timed() {
        use LightPattern::*;
        let on = |p: LightPattern, t: u64| p.level_at(ms(t));
        assert!((0..3000).step_by(37).all(|t| on(Idle, t)));
        assert!((0..3000).step_by(37).all(|t| !on(Off, t)));
        assert!(on(Busy, 0) && on(Busy, 499) && !on(Busy, 500) && !on(Busy, 999) && on(Busy, 1000));
        assert!(on(Fault, 0) && !on(Fault, 125) && on(Fault, 250) && !on(Fault, 375));
        let identify: Vec<bool> = [0, 99, 100, 199, 200, 299, 300, 999, 1000]
            .into_iter()
            .map(|t| on(Identify, t))
            .collect();
        assert_eq!(
            identify,
            [true, true, false, false, true, true, false, false, true]
        );
        assert_eq!(Busy.next_change(ms(10)), Some(ms(500)));
        assert_eq!(Busy.next_change(ms(500)), Some(ms(1000)));
        assert_eq!(Identify.next_change(ms(250)), Some(ms(300)));
        assert_eq!(Identify.next_change(ms(300)), Some(ms(1000)));
        assert_eq!(Idle.next_change(ms(10)), None);
        for p in LightPattern::ALL {
            assert_eq!(LightPattern::from_name(p.name()), Some(p));
        }
    }

    fn pins() -> GpioPins {
        use crate::board::{InputPin, OutputPin};
        let input = |line| InputPin {
            line,
            active_low: false,
            bias: Bias::AsIs,
            debounce_ms: 20,
        };
        GpioPins {
            chip: "sim".into(),
            help_button: Some(input(17)),
            presence: Some(input(22)),
            status_light: Some(OutputPin {
                line: 27,
                active_low: false,
            }),
        }
    }

    #[test]
    fn simulated_lines_give_help_and_presence_events_and_blink_the_light() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = events.clone();
        let sink: EventSink = Arc::new(move |ev| e.lock().unwrap().push(ev));
        let board = Arc::new(HealthBoard::new(sink));
        let stop = Arc::new(Stop::new());
        let light = Arc::new(Mutex::new(LightPattern::Fault));
        let sim = SimLines::new();
        let t = {
            let (board, stop, light, mut lines) =
                (board.clone(), stop.clone(), light.clone(), sim.clone());
            std::thread::spawn(move || run_lines(&mut lines, &pins(), &light, &stop, &board))
        };
        // The runner has read the initial levels once it reports the lines ok.
        let deadline = Instant::now() + Duration::from_secs(5);
        while events.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "the runner did not start");
            std::thread::sleep(ms(2));
        }
        // A bouncing press: only one help request.
        for i in 0..6 {
            sim.set(Pin::HelpButton, i % 2 == 0);
            std::thread::sleep(ms(3));
        }
        sim.set(Pin::HelpButton, true);
        std::thread::sleep(ms(80));
        sim.set(Pin::HelpButton, false);
        std::thread::sleep(ms(60));
        // Someone steps up, then leaves.
        sim.set(Pin::Presence, true);
        std::thread::sleep(ms(80));
        sim.set(Pin::Presence, false);
        std::thread::sleep(ms(300));
        stop.set();
        t.join().unwrap().unwrap();
        let got = events.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                DeviceEvent::Health(DeviceKind::Gpio, Health::Ok),
                DeviceEvent::HelpButton,
                DeviceEvent::Presence(true),
                DeviceEvent::Presence(false),
            ]
        );
        // Fault: 4 Hz, so about 4 changes in the ~500 ms the runner ran.
        let changes = sim.light_changes();
        assert!(changes.len() >= 3, "{}", changes.len());
        for w in changes.windows(2) {
            assert_ne!(w[0].1, w[1].1);
            let gap = w[1].0 - w[0].0;
            assert!(gap >= ms(100) && gap <= ms(200), "{gap:?}");
        }
    }

    #[test]
    fn a_gone_chip_ends_the_runner_with_an_error() {
        let sink: EventSink = Arc::new(|_| {});
        let board = HealthBoard::new(sink);
        let sim = SimLines::new();
        sim.set_gone(true);
        let mut lines = sim.clone();
        let light = Mutex::new(LightPattern::Idle);
        let e = run_lines(&mut lines, &pins(), &light, &Stop::new(), &board).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn a_missing_chip_is_a_clear_error() {
        let e = find_chip("gpiochip-none").unwrap_err();
        assert!(e.to_string().contains("gpiochip-none"), "{e}");
        let mut p = pins();
        p.chip = "gpiochip-none".into();
        assert!(CdevLines::open(&p).is_err());
    }
}
