//! Keyboard-wedge key events into the scanner framer: only clean, bounded payloads come out.
#![no_main]

use std::time::{Duration, Instant};

use kiosk_drivers::scanner::{LineFramer, ScanOutput, ScannerConfig};
use kiosk_drivers::wedge::WedgeDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = ScannerConfig::default();
    let max = config.max_len;
    let mut framer = LineFramer::new(config);
    let mut decoder = WedgeDecoder::new();
    let mut now = Instant::now();
    for ev in data.chunks_exact(3) {
        let mut bytes = Vec::new();
        decoder.key(u16::from(ev[0]), i32::from(ev[1] % 3), &mut bytes);
        now += Duration::from_millis(u64::from(ev[2] % 32));
        for out in framer.push(&bytes, now) {
            if let ScanOutput::Payload(p) = out {
                assert!(!p.is_empty() && p.len() <= max);
                assert!(p.bytes().all(|b| (0x20..=0x7E).contains(&b)));
            }
        }
    }
});
