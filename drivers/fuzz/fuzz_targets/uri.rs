//! Device URIs: what parses prints back to the same address.
#![no_main]

use kiosk_drivers::uri::DeviceUri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = s.parse::<DeviceUri>() {
        let again: DeviceUri = uri.to_string().parse().expect("a printed URI parses");
        assert_eq!(again, uri);
    }
});
