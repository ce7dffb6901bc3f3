//! The Linux constants the drivers use, checked against the kernel's own UAPI headers on this
//! machine (`linux-libc-dev`, which the C compiler's libc headers pull in): the input key codes
//! of keyboard-wedge scanners and the V4L2 pixel formats. A second, independent source beside
//! the kernel documentation the values were written from.

use std::collections::HashMap;

use kiosk_drivers::v4l2::PixelFormat;
use kiosk_drivers::wedge::key;

fn header(name: &str) -> String {
    let path = format!("/usr/include/linux/{name}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (install linux-libc-dev)"))
}

/// `#define NAME value` lines with a decimal or hex value.
fn defines(text: &str) -> HashMap<String, u32> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "#define").then_some(())?;
            let name = w.next()?;
            let value = w.next()?;
            let n = match value.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => value.parse().ok()?,
            };
            Some((name.to_string(), n))
        })
        .collect()
}

#[test]
fn key_codes_are_the_kernels() {
    let d = defines(&header("input-event-codes.h"));
    let ours = [
        ("KEY_ESC", key::ESC),
        ("KEY_1", key::N1),
        ("KEY_0", key::N0),
        ("KEY_MINUS", key::MINUS),
        ("KEY_EQUAL", key::EQUAL),
        ("KEY_BACKSPACE", key::BACKSPACE),
        ("KEY_TAB", key::TAB),
        ("KEY_Q", key::Q),
        ("KEY_LEFTBRACE", key::LEFTBRACE),
        ("KEY_RIGHTBRACE", key::RIGHTBRACE),
        ("KEY_ENTER", key::ENTER),
        ("KEY_LEFTCTRL", key::LEFTCTRL),
        ("KEY_A", key::A),
        ("KEY_SEMICOLON", key::SEMICOLON),
        ("KEY_APOSTROPHE", key::APOSTROPHE),
        ("KEY_GRAVE", key::GRAVE),
        ("KEY_LEFTSHIFT", key::LEFTSHIFT),
        ("KEY_BACKSLASH", key::BACKSLASH),
        ("KEY_Z", key::Z),
        ("KEY_COMMA", key::COMMA),
        ("KEY_DOT", key::DOT),
        ("KEY_SLASH", key::SLASH),
        ("KEY_RIGHTSHIFT", key::RIGHTSHIFT),
        ("KEY_KPASTERISK", key::KPASTERISK),
        ("KEY_LEFTALT", key::LEFTALT),
        ("KEY_SPACE", key::SPACE),
        ("KEY_CAPSLOCK", key::CAPSLOCK),
        ("KEY_NUMLOCK", key::NUMLOCK),
        ("KEY_KP7", key::KP7),
        ("KEY_KPMINUS", key::KPMINUS),
        ("KEY_KPPLUS", key::KPPLUS),
        ("KEY_KP0", key::KP0),
        ("KEY_KPDOT", key::KPDOT),
        ("KEY_KPENTER", key::KPENTER),
        ("KEY_RIGHTCTRL", key::RIGHTCTRL),
        ("KEY_KPSLASH", key::KPSLASH),
        ("KEY_RIGHTALT", key::RIGHTALT),
    ];
    for (name, value) in ours {
        assert_eq!(d.get(name), Some(&u32::from(value)), "{name}");
    }
    // The letter rows the keymap walks: Q row 16–25, A row 30–38, Z row 44–50.
    for (name, code) in [("KEY_P", 25), ("KEY_L", 38), ("KEY_M", 50), ("KEY_9", 10)] {
        assert_eq!(d.get(name), Some(&code), "{name}");
    }
}

#[test]
fn pixel_formats_are_the_kernels() {
    let text = header("videodev2.h");
    for (name, format) in [
        ("V4L2_PIX_FMT_YUYV", PixelFormat::Yuyv),
        ("V4L2_PIX_FMT_MJPEG", PixelFormat::Mjpeg),
        ("V4L2_PIX_FMT_GREY", PixelFormat::Grey),
    ] {
        // `#define V4L2_PIX_FMT_YUYV v4l2_fourcc('Y', 'U', 'Y', 'V') /* … */`
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not in videodev2.h"));
        let chars: Vec<u8> = line
            .split('\'')
            .skip(1)
            .step_by(2)
            .take(4)
            .map(|c| c.as_bytes()[0])
            .collect();
        assert_eq!(chars, format.fourcc(), "{name}");
    }
    // The packing (a | b << 8 | c << 16 | d << 24): little-endian, as the v4l crate reads it.
    assert!(
        text.contains("((__u32)(a) | ((__u32)(b) << 8) | ((__u32)(c) << 16) | ((__u32)(d) << 24))")
    );
}
