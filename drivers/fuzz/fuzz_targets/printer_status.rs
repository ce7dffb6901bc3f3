//! Printer status replies (DLE EOT and GS r) in any order.
#![no_main]

use kiosk_drivers::printer::status::{PrinterStatus, StatusQuery, is_status_byte};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut status = PrinterStatus::default();
    for pair in data.chunks(2) {
        let query = StatusQuery::from_n(pair[0] % 5);
        let byte = pair.get(1).copied().unwrap_or(0);
        match query {
            Some(q) => assert_eq!(status.apply(q, byte).is_ok(), is_status_byte(byte)),
            None => status.apply_sensor(byte),
        }
        let _ = status.blocking_reason();
        let _ = status.health();
    }
});
