//! The ESC/POS reader used for previews and the simulator.
#![no_main]

use kiosk_drivers::printer::preview::{preview_lines, preview_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = preview_lines(data);
    let _ = preview_text(data, 48);
});
