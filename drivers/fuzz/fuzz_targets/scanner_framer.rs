//! The scanner line framer: only clean, bounded payloads come out.
#![no_main]

use std::time::{Duration, Instant};

use kiosk_drivers::scanner::{LineFramer, ScanOutput, ScannerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = ScannerConfig::default();
    let max = config.max_len;
    let mut framer = LineFramer::new(config);
    let mut now = Instant::now();
    for chunk in data.chunks(7) {
        now += Duration::from_millis(u64::from(chunk[0] % 64) * 10);
        for out in framer.push(chunk, now) {
            if let ScanOutput::Payload(p) = out {
                assert!(!p.is_empty() && p.len() <= max);
                assert!(p.bytes().all(|b| (0x20..=0x7E).contains(&b)));
            }
        }
    }
});
