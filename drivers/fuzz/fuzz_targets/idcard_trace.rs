//! What a technician sees of a reader link (`diag idcard --verbose`), and how a USB reader's
//! split replies are followed: arbitrary bytes either way, never a panic.
#![no_main]

use kiosk_drivers::idcard::Command;
use kiosk_drivers::idcard::trace::FrameTrace;
use kiosk_drivers::usb_split::{SplitReader, split_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut trace = FrameTrace::new();
    let mut split = SplitReader::new();
    // Each piece: a selector byte, a length byte, then the bytes.
    let mut rest = data;
    while let [sel, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let piece = &tail[..n];
        match sel % 4 {
            0 => {
                let cmd = Command::ALL[usize::from(*len) % Command::ALL.len()];
                let _ = trace.sent(&cmd.request());
            }
            1 => {
                let _ = trace.received(piece);
            }
            2 => split.on_header(piece),
            _ => {
                split.on_body(piece);
                let _ = split_request(piece);
            }
        }
        let _ = split.next();
        rest = &tail[n..];
    }
});
