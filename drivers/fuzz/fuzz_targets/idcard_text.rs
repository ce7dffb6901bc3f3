//! The 256-byte text block decoder, and the read-reply data parser around it (big-endian
//! lengths, with and without the fingerprint length).
#![no_main]

use kiosk_drivers::idcard::reader::parse_read_data;
use kiosk_drivers::idcard::text::decode_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(card) = decode_text(data) {
        // A decoded card is printable without a panic (masked forms included).
        let _ = format!("{card:?}");
    }
    // Any prefix of lengths: the parser bounds every slice by the declared lengths.
    let mut with_lengths = vec![0x01, 0x00, 0x04, 0x00];
    with_lengths.extend_from_slice(data);
    let _ = parse_read_data(&with_lengths, false);
    let _ = parse_read_data(data, false);
    let _ = parse_read_data(data, true);
});
