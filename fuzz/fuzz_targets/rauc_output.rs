//! What `rauc status --output-format=json` and `rauc install` print (src/update/rauc_parse.rs):
//! no input makes the parsers panic, and a slot found is one of the slots read.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/update/rauc_parse.rs"]
#[allow(dead_code)]
mod rauc_parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(status) = rauc_parse::parse_status(&text) {
        for slot in [status.booted_slot(), status.other_slot()].into_iter().flatten() {
            assert!(status.slots.contains(slot));
        }
        if let Some(b) = status.booted.as_deref() {
            let _ = status.slot_by_bootname(b);
        }
        for s in &status.slots {
            assert!(s.sha256.as_ref().is_none_or(|h| h.len() == 64));
        }
    }
    for line in text.split('\n') {
        if let rauc_parse::InstallLine::Progress { percent, .. } =
            rauc_parse::parse_install_line(line)
        {
            assert!(percent <= 100);
        }
    }
});
