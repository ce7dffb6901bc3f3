//! The 256-byte text block decoder, and the read-reply data parser around it.
#![no_main]

use kiosk_drivers::idcard::reader::parse_read_data;
use kiosk_drivers::idcard::text::{decode_text, encode_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(card) = decode_text(data) {
        // What was decoded encodes again (or is refused with a reason), never a panic.
        let _ = encode_text(&card);
    }
    let _ = parse_read_data(data, false);
    let _ = parse_read_data(data, true);
});
