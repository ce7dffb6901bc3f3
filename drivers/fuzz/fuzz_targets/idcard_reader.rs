//! The reader state machine fed arbitrary replies at arbitrary times.
#![no_main]

use std::time::{Duration, Instant};

use kiosk_drivers::idcard::{Reader, ReaderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(ReaderConfig::default());
    let mut now = Instant::now();
    // Each piece: one byte of elapsed time (×10 ms), one byte of length, then the bytes.
    let mut rest = data;
    while let [dt, len, tail @ ..] = rest {
        now += Duration::from_millis(u64::from(*dt) * 10);
        let _ = reader.poll(now);
        let _ = reader.take_outputs();
        let n = usize::from(*len).min(tail.len());
        let _ = reader.on_bytes(&tail[..n]);
        rest = &tail[n..];
    }
});
