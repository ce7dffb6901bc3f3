//! PNG and JPEG files (camera simulator, `diag decode-qr`): errors, never panics.
#![no_main]

use kiosk_drivers::image::decode_image;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode_image(data) {
        assert_eq!(
            img.data.len(),
            img.width as usize * img.height as usize * usize::from(img.channels)
        );
        assert!(img.to_grey().is_valid());
    }
});
