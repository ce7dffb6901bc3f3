//! Property tests mirroring the fuzz targets of the device layer (so CI exercises them without
//! a nightly toolchain): camera frame headers, image files, keyboard-wedge key events, board
//! profiles and the udev rules.

use std::time::{Duration, Instant};

use kiosk_drivers::board::BoardProfile;
use kiosk_drivers::camera::Frame;
use kiosk_drivers::image::{decode_image, encode_png_grey};
use kiosk_drivers::scanner::{LineFramer, ScanOutput, ScannerConfig};
use kiosk_drivers::v4l2::RawFrame;
use kiosk_drivers::wedge::{WedgeDecoder, keymap};
use proptest::prelude::*;

fn fourcc() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        Just(*b"YUYV"),
        Just(*b"GREY"),
        Just(*b"MJPG"),
        any::<[u8; 4]>(),
    ]
}

proptest! {
    #[test]
    fn camera_frames_are_checked_before_conversion(
        fourcc in fourcc(),
        width in 0u32..64,
        height in 0u32..64,
        stride in 0u32..200,
        data in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let raw = RawFrame { fourcc, width, height, stride, data: &data };
        if let Ok(f) = raw.to_grey() {
            prop_assert!(f.is_valid());
            if &fourcc != b"MJPG" {
                prop_assert_eq!((f.width, f.height), (width, height));
            }
        }
        if let Ok((w, h, rgb)) = raw.to_rgb() {
            prop_assert_eq!(rgb.len(), w as usize * h as usize * 3);
        }
    }

    #[test]
    fn image_files_decode_or_fail(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(img) = decode_image(&data) {
            prop_assert!(img.to_grey().is_valid());
        }
    }

    #[test]
    fn damaged_pngs_fail_cleanly(
        w in 1u32..40, h in 1u32..40, seed in any::<u8>(),
        cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(),
    ) {
        let frame = Frame {
            width: w,
            height: h,
            grey: (0..w * h).map(|i| (i as u8).wrapping_mul(seed)).collect(),
        };
        let png = encode_png_grey(&frame).unwrap();
        prop_assert_eq!(decode_image(&png).unwrap().to_grey(), frame);
        let mut bad = png.clone();
        let i = flip.index(bad.len());
        bad[i] ^= 0x5A;
        let _ = decode_image(&bad);
        let _ = decode_image(&png[..cut.index(png.len())]);
    }

    #[test]
    fn wedge_key_events_give_only_clean_payloads(
        events in prop::collection::vec((0u16..120, 0i32..3, 0u64..40), 0..400),
    ) {
        let config = ScannerConfig::default();
        let max = config.max_len;
        let mut framer = LineFramer::new(config);
        let mut decoder = WedgeDecoder::new();
        let mut now = Instant::now();
        for (code, value, gap) in events {
            let mut bytes = Vec::new();
            decoder.key(code, value, &mut bytes);
            now += Duration::from_millis(gap);
            for out in framer.push(&bytes, now) {
                if let ScanOutput::Payload(p) = out {
                    prop_assert!(!p.is_empty() && p.len() <= max);
                    prop_assert!(p.bytes().all(|b| (0x20..=0x7E).contains(&b)));
                }
            }
        }
    }

    #[test]
    fn typed_text_comes_back(text in "[ -~]{1,60}") {
        let mut decoder = WedgeDecoder::new();
        let mut bytes = Vec::new();
        for c in text.chars() {
            let (code, shift) = (1u16..=100)
                .find_map(|k| {
                    if keymap(k, false, false) == Some(c) {
                        Some((k, false))
                    } else if keymap(k, true, false) == Some(c) {
                        Some((k, true))
                    } else {
                        None
                    }
                })
                .unwrap();
            if shift {
                decoder.key(42, 1, &mut bytes);
            }
            decoder.key(code, 1, &mut bytes);
            decoder.key(code, 0, &mut bytes);
            if shift {
                decoder.key(42, 0, &mut bytes);
            }
        }
        prop_assert_eq!(String::from_utf8(bytes).unwrap(), text);
    }

    #[test]
    fn board_profiles_parse_or_fail(text in "\\PC{0,400}") {
        let _ = BoardProfile::from_toml("prop", &text);
    }
}

/// Tokens of one udev rule line: `KEY{attr}=="value"`, `KEY+="value"`, …
fn rule_tokens(line: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    for part in line.split(", ") {
        let part = part.trim();
        let op_at = part
            .find(['=', '!', '+', ':'])
            .ok_or_else(|| format!("no operator in {part:?}"))?;
        let key = &part[..op_at];
        let rest = &part[op_at..];
        let op = ["==", "!=", "+=", ":=", "="]
            .into_iter()
            .find(|o| rest.starts_with(o))
            .ok_or_else(|| format!("bad operator in {part:?}"))?;
        let value = &rest[op.len()..];
        if !(value.len() >= 2 && value.starts_with('"') && value.ends_with('"')) {
            return Err(format!("unquoted value in {part:?}"));
        }
        let key_ok = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "{}_".contains(c));
        if key.is_empty() || !key_ok {
            return Err(format!("bad key in {part:?}"));
        }
        out.push((
            key.to_string(),
            op.to_string(),
            value[1..value.len() - 1].to_string(),
        ));
    }
    Ok(out)
}

#[test]
fn udev_rules_are_well_formed_and_name_every_device() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../board/udev/70-hall-kiosk.rules"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut links = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let tokens = rule_tokens(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        // Every rule matches something and gives the kiosk's group access.
        assert!(tokens.iter().any(|(_, op, _)| op == "=="), "line {}", n + 1);
        assert!(
            tokens
                .iter()
                .any(|(k, op, v)| k == "GROUP" && op == "=" && v == "hall"),
            "line {}: no GROUP=\"hall\"",
            n + 1
        );
        assert!(
            tokens.iter().any(|(k, _, v)| k == "MODE" && v == "0660"),
            "line {}",
            n + 1
        );
        for (k, op, v) in &tokens {
            if k == "SYMLINK" {
                assert_eq!(op, "+=", "line {}", n + 1);
                links.push(v.clone());
            }
        }
    }
    for name in ["hall/idcard", "hall/printer", "hall/scanner", "hall/camera"] {
        assert!(links.iter().any(|l| l == name), "no rule makes /dev/{name}");
    }
    // The stable names the shipped profiles use all come from these rules.
    for (name, _) in kiosk_drivers::board::BUILTIN {
        let p = BoardProfile::builtin(name).unwrap();
        for uri in [
            &p.devices.idcard,
            &p.devices.scanner,
            &p.devices.printer,
            &p.devices.camera,
        ] {
            let s = uri.to_string();
            if let Some(i) = s.find("/dev/hall/") {
                let dev = s[i + 5..].split('?').next().unwrap();
                assert!(
                    links.iter().any(|l| l == dev),
                    "{name}: {s} has no udev rule"
                );
            }
        }
    }
}
