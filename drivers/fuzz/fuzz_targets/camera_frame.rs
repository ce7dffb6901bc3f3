//! Camera frame headers and bytes as a V4L2 driver hands them over: checked before any pixel is
//! touched; conversion never panics and gives exactly width × height pixels.
#![no_main]

use kiosk_drivers::v4l2::RawFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let fourcc = match data[0] % 4 {
        0 => *b"YUYV",
        1 => *b"GREY",
        2 => *b"MJPG",
        _ => [data[1], data[2], data[3], data[4]],
    };
    let width = u32::from(u16::from_le_bytes([data[5], data[6]])) % 2048;
    let height = u32::from(u16::from_le_bytes([data[7], data[8]])) % 2048;
    let stride = u32::from(u16::from_le_bytes([data[9], data[10]]));
    let raw = RawFrame { fourcc, width, height, stride, data: &data[11..] };
    if let Ok(f) = raw.to_grey() {
        assert!(f.is_valid());
    }
    let _ = raw.to_rgb();
});
