//! Barcode scanners on a serial line: one payload per line, ended by CR, LF or CR LF.
//!
//! The framer is sans-IO: push bytes with the time they arrived, get payloads or rejections.
//! It protects the kiosk from what a scanner can send by accident: over-long lines, binary
//! noise, a sheet full of barcodes read in a burst, and the same code read again and again
//! while a receipt is held under the scanner (merged into one payload).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Limits of the framer.
#[derive(Debug, Clone)]
pub struct ScannerConfig {
    /// Longest payload accepted, in bytes.
    pub max_len: usize,
    /// More than this many distinct payloads within `burst_window` is a burst.
    pub burst_lines: usize,
    pub burst_window: Duration,
    /// The same payload again within this time (of its last reading) is merged.
    pub duplicate_window: Duration,
    /// A partial line left this long without its terminator is dropped as noise.
    pub stale_after: Duration,
    /// For scanners set to send no suffix (Zebra's "data as is" default): a code also ends
    /// after this much silence. `None`: a code ends only at CR or LF.
    pub idle_end: Option<Duration>,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            max_len: 128,
            burst_lines: 4,
            burst_window: Duration::from_secs(1),
            duplicate_window: Duration::from_millis(1500),
            stale_after: Duration::from_secs(1),
            idle_end: None,
        }
    }
}

/// What a line turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutput {
    /// Printable ASCII, trimmed, at most `max_len` long.
    Payload(String),
    /// Nothing usable; the reason in Chinese and English.
    Rejected(String),
}

/// Reasons for [`ScanOutput::Rejected`].
pub mod reason {
    pub const TOO_LONG: &str = "扫描内容过长 (the scanned code is too long)";
    pub const BINARY: &str = "扫描内容含有无法识别的字符 (the scanned code is not plain text)";
    pub const BURST: &str =
        "短时间内扫描了太多条码，请一次只扫一个 (too many codes at once: scan one at a time)";
}

/// The line framer.
pub struct LineFramer {
    config: ScannerConfig,
    line: Vec<u8>,
    too_long: bool,
    binary: bool,
    last_byte_at: Option<Instant>,
    /// Times of recent distinct payloads.
    recent: VecDeque<Instant>,
    /// In a burst: lines are dropped until the line goes quiet for a window.
    in_burst: bool,
    last_line_at: Option<Instant>,
    last_payload: Option<(String, Instant)>,
}

impl LineFramer {
    pub fn new(config: ScannerConfig) -> Self {
        Self {
            config,
            line: Vec::new(),
            too_long: false,
            binary: false,
            last_byte_at: None,
            recent: VecDeque::new(),
            in_burst: false,
            last_line_at: None,
            last_payload: None,
        }
    }

    /// Takes bytes that arrived at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<ScanOutput> {
        let mut out = Vec::new();
        let quiet_for = |t: Option<Instant>, d: Duration| {
            t.is_some_and(|t| now.saturating_duration_since(t) >= d)
        };
        if let Some(d) = self.config.idle_end
            && (!self.line.is_empty() || self.too_long || self.binary)
            && quiet_for(self.last_byte_at, d)
        {
            // The scanner sends no suffix: silence ends the code.
            if let Some(o) = self.end_line(now) {
                out.push(o);
            }
        }
        if !self.line.is_empty() || self.too_long || self.binary {
            let stale = self
                .last_byte_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.config.stale_after);
            if stale {
                tracing::debug!(len = self.line.len(), "scanner: stale partial line dropped");
                self.clear_line();
            }
        }
        if !bytes.is_empty() {
            self.last_byte_at = Some(now);
        }
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    if let Some(o) = self.end_line(now) {
                        out.push(o);
                    }
                }
                0x20..=0x7E => {
                    if self.line.len() < self.config.max_len + 1 {
                        self.line.push(b);
                    } else {
                        self.too_long = true;
                    }
                }
                _ => self.binary = true,
            }
        }
        out
    }

    fn clear_line(&mut self) {
        self.line.clear();
        self.too_long = false;
        self.binary = false;
    }

    fn end_line(&mut self, now: Instant) -> Option<ScanOutput> {
        let too_long = self.too_long;
        let binary = self.binary;
        let text: String = String::from_utf8_lossy(&self.line).trim().to_string();
        self.clear_line();
        if text.is_empty() && !too_long && !binary {
            // The LF of a CR LF, or an empty line.
            return None;
        }
        let quiet = self
            .last_line_at
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.burst_window);
        self.last_line_at = Some(now);
        if self.in_burst {
            if quiet {
                self.in_burst = false;
                self.recent.clear();
            } else {
                tracing::debug!("scanner: line dropped during a burst");
                return None;
            }
        }
        if binary {
            return Some(ScanOutput::Rejected(reason::BINARY.to_string()));
        }
        if too_long || text.len() > self.config.max_len {
            return Some(ScanOutput::Rejected(reason::TOO_LONG.to_string()));
        }
        if let Some((last, at)) = &mut self.last_payload
            && *last == text
            && now.saturating_duration_since(*at) < self.config.duplicate_window
        {
            // Held under the scanner: merged, and the window keeps running from now.
            *at = now;
            return None;
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.config.burst_window)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        if self.recent.len() > self.config.burst_lines {
            tracing::info!("scanner: burst of codes rejected");
            self.in_burst = true;
            self.recent.clear();
            self.last_payload = None;
            return Some(ScanOutput::Rejected(reason::BURST.to_string()));
        }
        self.last_payload = Some((text.clone(), now));
        Some(ScanOutput::Payload(text))
    }
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(ScannerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn payload(s: &str) -> ScanOutput {
        ScanOutput::Payload(s.to_string())
    }

    #[test]
    fn splits_on_every_terminator() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        let out = f.push(b"2026112200000017\r\nA-1\rB 2\n", t);
        assert_eq!(
            out,
            vec![payload("2026112200000017"), payload("A-1"), payload("B 2")]
        );
        // A line in pieces.
        assert!(f.push(b"  12345", ms(t, 10)).is_empty());
        assert_eq!(f.push(b"678  \r\n", ms(t, 20)), vec![payload("12345678")]);
    }

    #[test]
    fn rejects_over_long_lines_then_recovers() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        let mut long = vec![b'7'; 129];
        long.extend(b"\r\n");
        assert_eq!(
            f.push(&long, t),
            vec![ScanOutput::Rejected(reason::TOO_LONG.into())]
        );
        let mut exact = vec![b'7'; 128];
        exact.push(b'\n');
        assert_eq!(f.push(&exact, ms(t, 2000)), vec![payload(&"7".repeat(128))]);
        // Memory stays bounded whatever arrives.
        for _ in 0..100 {
            f.push(&[b'x'; 1000], ms(t, 2100));
        }
        assert!(f.line.len() <= 129);
    }

    #[test]
    fn rejects_binary() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        assert_eq!(
            f.push(b"12\x0034\r\n", t),
            vec![ScanOutput::Rejected(reason::BINARY.into())]
        );
        assert_eq!(
            f.push("审批码\n".as_bytes(), ms(t, 1100)),
            vec![ScanOutput::Rejected(reason::BINARY.into())]
        );
        assert_eq!(f.push(b"\t9\n", ms(t, 2200)).len(), 1);
        assert_eq!(f.push(b"OK\n", ms(t, 3300)), vec![payload("OK")]);
    }

    #[test]
    fn merges_a_code_held_under_the_scanner() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        let mut got = Vec::new();
        // Read every 200 ms for 5 s: one payload.
        for i in 0..25 {
            got.extend(f.push(b"2026112200000017\r\n", ms(t, i * 200)));
        }
        assert_eq!(got, vec![payload("2026112200000017")]);
        // Taken away for 2 s, shown again: a new payload.
        assert_eq!(
            f.push(b"2026112200000017\r\n", ms(t, 7000)),
            vec![payload("2026112200000017")]
        );
        // A different code at once is not merged.
        assert_eq!(f.push(b"99\r\n", ms(t, 7100)), vec![payload("99")]);
    }

    #[test]
    fn rejects_a_burst_once_then_recovers() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        let mut got = Vec::new();
        for i in 0..10u64 {
            got.extend(f.push(format!("CODE{i}\r\n").as_bytes(), ms(t, i * 50)));
        }
        assert_eq!(
            got,
            vec![
                payload("CODE0"),
                payload("CODE1"),
                payload("CODE2"),
                payload("CODE3"),
                ScanOutput::Rejected(reason::BURST.into()),
            ]
        );
        // Quiet for a window: scanning works again.
        assert_eq!(f.push(b"CODE0\r\n", ms(t, 1500)), vec![payload("CODE0")]);
        // Four distinct codes spread over time are fine.
        let mut got = Vec::new();
        for i in 0..8u64 {
            got.extend(f.push(format!("N{i}\n").as_bytes(), ms(t, 3000 + i * 300)));
        }
        assert_eq!(got.len(), 8);
        assert!(got.iter().all(|o| matches!(o, ScanOutput::Payload(_))));
    }

    #[test]
    fn drops_a_stale_partial_line() {
        let t = Instant::now();
        let mut f = LineFramer::default();
        assert!(f.push(b"garb", t).is_empty());
        assert_eq!(f.push(b"42\r\n", ms(t, 5000)), vec![payload("42")]);
        assert!(f.push(b"\x01\x02", ms(t, 6000)).is_empty());
        assert_eq!(f.push(b"43\r\n", ms(t, 8000)), vec![payload("43")]);
    }

    #[test]
    fn silence_ends_a_code_from_a_scanner_without_suffix() {
        let t = Instant::now();
        let mut f = LineFramer::new(ScannerConfig {
            idle_end: Some(Duration::from_millis(100)),
            ..ScannerConfig::default()
        });
        // "Data as is": no CR or LF at all.
        assert!(f.push(b"20261122", t).is_empty());
        assert!(f.push(b"00000017", ms(t, 20)).is_empty(), "still arriving");
        assert!(f.push(b"", ms(t, 80)).is_empty());
        assert_eq!(f.push(b"", ms(t, 120)), vec![payload("2026112200000017")]);
        // The next code after a pause; a suffix still ends a code at once.
        assert!(f.push(b"A-1", ms(t, 3000)).is_empty());
        assert_eq!(f.push(b"", ms(t, 3200)), vec![payload("A-1")]);
        assert_eq!(f.push(b"B-2\r", ms(t, 6000)), vec![payload("B-2")]);
        // Without the setting the same silence drops nothing and emits nothing early.
        let mut f = LineFramer::default();
        assert!(f.push(b"1234", t).is_empty());
        assert!(f.push(b"", ms(t, 500)).is_empty());
    }
}
