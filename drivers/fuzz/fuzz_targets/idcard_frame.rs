//! The SAM frame parser: arbitrary bytes in arbitrary pieces.
#![no_main]

use kiosk_drivers::idcard::frame::{FrameParser, MAX_BUFFER};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parser = FrameParser::new();
    // The first byte chooses the piece size, so frames straddle pushes.
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1);
    for chunk in data.chunks(piece) {
        parser.push(chunk);
        while let Some(item) = parser.pop() {
            if let Ok(frame) = item {
                let _ = frame.as_reply().map(|r| r.status());
                let _ = frame.as_request();
            }
        }
        assert!(parser.pending() <= MAX_BUFFER);
    }
    parser.discard_partial();
    while parser.pop().is_some() {}
});
