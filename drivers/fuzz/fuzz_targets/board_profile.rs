//! Board profiles: any text is a profile or an error, never a panic.
#![no_main]

use kiosk_drivers::board::BoardProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = BoardProfile::from_toml("fuzz", text);
    }
});
