//! Hot-plug supervision: every real device runs in a thread that opens its link, publishes its
//! health, and when the link fails (unplugged, switched off, network down) reports the device
//! absent and tries again with exponential backoff, until it comes back by itself.
//!
//! The pieces are small and testable: [`Backoff`] is pure, [`Stop`] is an interruptible sleep,
//! [`HealthBoard`] publishes a device's health only when it changes, and [`supervise`] is the
//! open → run → back off loop every device thread shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{DeviceEvent, DeviceKind, EventSink, Health};

/// Exponential backoff between reconnection attempts: `min`, doubling up to `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    /// 0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s…
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(8))
    }
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_millis(1));
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt; each call doubles the one after, up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        d
    }

    /// Back to the shortest delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.next = self.min;
    }

    pub fn min(&self) -> Duration {
        self.min
    }

    pub fn max(&self) -> Duration {
        self.max
    }
}

/// A stop flag whose waits end as soon as it is set.
#[derive(Default)]
pub struct Stop {
    flag: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.cv.notify_all();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for loops that take an `AtomicBool` (e.g. [`crate::idcard::run`]).
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// Sleeps for `d` or until stopped; returns true when stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let Ok(mut guard) = self.lock.lock() else {
            std::thread::sleep(d);
            return self.is_set();
        };
        loop {
            if self.is_set() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match self.cv.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => guard = g,
                Err(_) => return self.is_set(),
            }
        }
    }
}

/// The last health of every device; publishes a change as a [`DeviceEvent::Health`].
pub struct HealthBoard {
    sink: EventSink,
    last: Mutex<HashMap<DeviceKind, Health>>,
}

impl HealthBoard {
    pub fn new(sink: EventSink) -> Self {
        Self {
            sink,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Records `h` for `kind` and publishes it if it differs from the last one.
    pub fn set(&self, kind: DeviceKind, h: Health) {
        let changed = match self.last.lock() {
            Ok(mut m) => {
                if m.get(&kind) == Some(&h) {
                    false
                } else {
                    m.insert(kind, h.clone());
                    true
                }
            }
            Err(_) => true,
        };
        if changed {
            match &h {
                Health::Ok => tracing::info!(device = %kind, "device ok"),
                Health::Degraded(why) => tracing::warn!(device = %kind, %why, "device degraded"),
                Health::Absent(why) => tracing::warn!(device = %kind, %why, "device absent"),
            }
            (self.sink)(DeviceEvent::Health(kind, h));
        }
    }

    pub fn get(&self, kind: DeviceKind) -> Option<Health> {
        self.last.lock().ok().and_then(|m| m.get(&kind).cloned())
    }

    /// Sends any other event on to the kiosk.
    pub fn emit(&self, e: DeviceEvent) {
        if let DeviceEvent::Health(kind, h) = e {
            self.set(kind, h);
        } else {
            (self.sink)(e);
        }
    }
}

/// Runs a device for as long as `stop` is not set: `open` makes a link (its error, in words,
/// becomes the absent reason), `run` uses it until it fails (its error becomes the absent
/// reason) or returns `Ok` because `stop` was set. Between failures it waits as `backoff`
/// says; a link that worked for a while starts the backoff again from the shortest delay.
pub fn supervise<L>(
    kind: DeviceKind,
    stop: &Stop,
    health: &HealthBoard,
    mut backoff: Backoff,
    mut open: impl FnMut() -> Result<L, String>,
    mut run: impl FnMut(L) -> Result<(), String>,
) {
    // A link must stay up this long for the next failure to be treated as a fresh one.
    let stable = backoff.max();
    while !stop.is_set() {
        match open() {
            Err(why) => {
                health.set(kind, Health::Absent(why));
            }
            Ok(link) => {
                let opened = Instant::now();
                let result = run(link);
                if stop.is_set() {
                    break;
                }
                if opened.elapsed() >= stable {
                    backoff.reset();
                }
                let why = match result {
                    Ok(()) => "设备已断开 (the device went away)".to_string(),
                    Err(why) => why,
                };
                health.set(kind, Health::Absent(why));
            }
        }
        let delay = backoff.next_delay();
        tracing::debug!(device = %kind, ?delay, "retrying after a delay");
        if stop.sleep(delay) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let got: Vec<u64> = (0..7).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(got, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
        let mut odd = Backoff::new(Duration::from_millis(300), Duration::from_millis(1000));
        let got: Vec<u64> = (0..4)
            .map(|_| odd.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(got, [300, 600, 1000, 1000]);
        // A maximum below the minimum is the minimum.
        let mut flat = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(flat.next_delay(), Duration::from_secs(2));
        assert_eq!(flat.next_delay(), Duration::from_secs(2));
    }

    #[test]
    fn stop_interrupts_a_sleep() {
        let stop = Arc::new(Stop::new());
        let s = stop.clone();
        let t = std::thread::spawn(move || {
            let started = Instant::now();
            let stopped = s.sleep(Duration::from_secs(30));
            (stopped, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        stop.set();
        let (stopped, took) = t.join().unwrap();
        assert!(stopped);
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(!Stop::new().sleep(Duration::from_millis(5)));
    }

    fn collecting() -> (EventSink, Arc<Mutex<Vec<DeviceEvent>>>) {
        let list = Arc::new(Mutex::new(Vec::new()));
        let l = list.clone();
        (Arc::new(move |e| l.lock().unwrap().push(e)), list)
    }

    #[test]
    fn health_is_published_only_when_it_changes() {
        let (sink, list) = collecting();
        let board = HealthBoard::new(sink);
        board.set(DeviceKind::Printer, Health::Ok);
        board.set(DeviceKind::Printer, Health::Ok);
        board.set(DeviceKind::Camera, Health::Ok);
        board.set(DeviceKind::Printer, Health::Absent("gone".into()));
        board.emit(DeviceEvent::HelpButton);
        let got = list.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                DeviceEvent::Health(DeviceKind::Printer, Health::Ok),
                DeviceEvent::Health(DeviceKind::Camera, Health::Ok),
                DeviceEvent::Health(DeviceKind::Printer, Health::Absent("gone".into())),
                DeviceEvent::HelpButton,
            ]
        );
        assert_eq!(
            board.get(DeviceKind::Printer),
            Some(Health::Absent("gone".into()))
        );
        assert_eq!(board.get(DeviceKind::Scanner), None);
    }

    #[test]
    fn supervise_retries_with_backoff_until_the_device_opens() {
        let (sink, list) = collecting();
        let board = HealthBoard::new(sink);
        let stop = Stop::new();
        let mut attempts = Vec::new();
        let started = Instant::now();
        let mut runs = 0;
        supervise(
            DeviceKind::Scanner,
            &stop,
            &board,
            Backoff::new(Duration::from_millis(10), Duration::from_millis(40)),
            || {
                attempts.push(started.elapsed());
                if attempts.len() < 4 {
                    Err("not plugged in".to_string())
                } else {
                    Ok(())
                }
            },
            |()| {
                runs += 1;
                board.set(DeviceKind::Scanner, Health::Ok);
                if runs == 2 {
                    stop.set();
                    return Ok(());
                }
                Err("unplugged".to_string())
            },
        );
        assert_eq!(runs, 2);
        assert_eq!(attempts.len(), 5);
        // 10, 20, 40 ms between the failed attempts, then 40 after the run failed.
        let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
        for (gap, want) in gaps.iter().zip([10u64, 20, 40, 40]) {
            assert!(*gap >= Duration::from_millis(want), "{gaps:?}");
        }
        let got = list.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                DeviceEvent::Health(DeviceKind::Scanner, Health::Absent("not plugged in".into())),
                DeviceEvent::Health(DeviceKind::Scanner, Health::Ok),
                DeviceEvent::Health(DeviceKind::Scanner, Health::Absent("unplugged".into())),
                DeviceEvent::Health(DeviceKind::Scanner, Health::Ok),
            ]
        );
    }
}
