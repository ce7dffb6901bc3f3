//! Property tests: every parser takes arbitrary bytes without panicking and within bounded
//! memory, and the independent simulators' encodings read back as written.

use std::time::{Duration, Instant};

use kiosk_drivers::camera::{Frame, decode_qr};
use kiosk_drivers::idcard::frame::{self, Command, FrameParser, MAX_BUFFER};
use kiosk_drivers::idcard::text::{TEXT_LEN, decode_text};
use kiosk_drivers::idcard::{CardKind, IdCard, Reader, ReaderConfig, ValidTo};
use kiosk_drivers::printer::FontCharset;
use kiosk_drivers::printer::escpos::{EscPos, display_width, wrap};
use kiosk_drivers::printer::preview::preview_lines;
use kiosk_drivers::printer::status::{PrinterStatus, StatusQuery, is_status_byte};
use kiosk_drivers::scanner::{LineFramer, ScanOutput, ScannerConfig};
use kiosk_drivers::uri::DeviceUri;
use kiosk_sims::idcard::reply_frame;
use kiosk_sims::{SimCard, SimCardKind};
use proptest::prelude::*;

fn chunks() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)
}

/// Bytes that cannot contain a preamble.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("no AA", |b| *b != 0xAA), 0..64)
}

proptest! {
    #[test]
    fn frame_parser_takes_anything(chunks in chunks()) {
        let mut p = FrameParser::new();
        for c in &chunks {
            p.push(c);
            while let Some(item) = p.pop() {
                if let Ok(f) = item {
                    prop_assert!(f.body.len() < frame::MAX_LEN);
                }
            }
            prop_assert!(p.pending() <= MAX_BUFFER);
            prop_assert!(p.pending() < frame::MAX_LEN + 7 + 300);
        }
    }

    #[test]
    fn frame_parser_finds_frames_between_noise(
        a in noise(),
        sw3 in any::<u8>(),
        data in prop::collection::vec(any::<u8>(), 0..100),
        b in noise(),
        split in 0usize..200,
    ) {
        let reply = reply_frame(sw3, &data);
        let mut bytes = a.clone();
        bytes.extend(&reply);
        bytes.extend(&b);
        bytes.extend(Command::FindCard.request());
        let split = split.min(bytes.len());
        let mut p = FrameParser::new();
        let mut frames = Vec::new();
        for part in [&bytes[..split], &bytes[split..]] {
            p.push(part);
            while let Some(item) = p.pop() {
                if let Ok(f) = item {
                    frames.push(f.body.clone());
                }
            }
        }
        let mut expected = vec![0x00, 0x00, sw3];
        expected.extend(&data);
        prop_assert_eq!(frames.first(), Some(&expected));
        prop_assert_eq!(frames.last(), Some(&vec![0x20, 0x01]));
    }

    #[test]
    fn text_decoder_takes_any_block(block in prop::collection::vec(any::<u8>(), TEXT_LEN)) {
        let _ = decode_text(&block);
    }

    #[test]
    fn text_decoder_refuses_wrong_sizes(block in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assume!(block.len() != TEXT_LEN);
        prop_assert!(decode_text(&block).is_err());
    }

    #[test]
    fn resident_cards_written_by_the_simulator_read_back(
        name in "[\u{4e00}-\u{9fa5}]{2,15}",
        sex in prop::sample::select(vec![0u8, 1, 2, 9]),
        nation in 1u8..=56,
        address in "[\u{4e00}-\u{9fa5}0-9]{0,35}",
        id in "[0-9]{17}[0-9X]",
        long_term in any::<bool>(),
    ) {
        let card = IdCard {
            kind: CardKind::Resident,
            name,
            name_en: String::new(),
            sex_code: sex,
            nation: kiosk_drivers::idcard::nation_name(nation).unwrap().to_string(),
            birth: "19580312".into(),
            address,
            id_number: id,
            authority: "襄阳市公安局".into(),
            valid_from: "20180312".into(),
            valid_to: if long_term { ValidTo::LongTerm } else { ValidTo::Date("20380312".into()) },
            travel_permit: String::new(),
            issue_count: String::new(),
            photo: Vec::new(),
        };
        // The card as the independent simulator writes it, read by the driver.
        let sim = SimCard {
            kind: Some(SimCardKind::Resident),
            name: card.name.clone(),
            sex: sex.to_string(),
            nation: format!("{nation:02}"),
            birth: card.birth.clone(),
            address: card.address.clone(),
            number: card.id_number.clone(),
            authority: card.authority.clone(),
            valid_from: card.valid_from.clone(),
            valid_to: if long_term { "长期".into() } else { "20380312".into() },
            ..SimCard::default()
        };
        let block = sim.text_block().unwrap();
        prop_assert!(decode_text(&block).unwrap() == card);
    }

    #[test]
    fn reader_takes_any_bytes(chunks in chunks(), steps in prop::collection::vec(0u64..2000, 0..20)) {
        let t0 = Instant::now();
        let mut r = Reader::new(ReaderConfig::default());
        let mut now = t0;
        for (i, c) in chunks.iter().enumerate() {
            now += Duration::from_millis(steps.get(i).copied().unwrap_or(10));
            let _ = r.poll(now);
            let _ = r.take_outputs();
            let out = r.on_bytes(c);
            prop_assert!(out.len() <= 8);
        }
    }

    #[test]
    fn scanner_outputs_only_clean_payloads(
        chunks in chunks(),
        gaps in prop::collection::vec(0u64..3000, 0..20),
    ) {
        let cfg = ScannerConfig::default();
        let max = cfg.max_len;
        let mut f = LineFramer::new(cfg);
        let mut now = Instant::now();
        for (i, c) in chunks.iter().enumerate() {
            now += Duration::from_millis(gaps.get(i).copied().unwrap_or(1));
            for out in f.push(c, now) {
                if let ScanOutput::Payload(p) = out {
                    prop_assert!(!p.is_empty() && p.len() <= max);
                    prop_assert!(p.bytes().all(|b| (0x20..=0x7E).contains(&b)));
                    prop_assert_eq!(p.trim(), p.as_str());
                }
            }
        }
    }

    #[test]
    fn printer_status_parser_takes_any_byte(b in any::<u8>(), q in 1u8..=4) {
        let q = StatusQuery::from_n(q).unwrap();
        let mut s = PrinterStatus::default();
        prop_assert_eq!(s.apply(q, b).is_ok(), is_status_byte(b));
        prop_assert_eq!(
            PrinterStatus::from_replies(b, 0x12, 0x12).is_ok(),
            is_status_byte(b)
        );
        let _ = s.blocking_reason();
        let _ = s.health();
    }

    #[test]
    fn uri_parser_takes_anything(s in ".{0,80}") {
        if let Ok(u) = s.parse::<DeviceUri>() {
            prop_assert_eq!(u.to_string().parse::<DeviceUri>().unwrap(), u);
        }
    }

    #[test]
    fn uri_file_paths_round_trip(path in "/[a-zA-Z0-9 _.%#?&=\u{4e00}-\u{4e10}/-]{1,40}") {
        prop_assume!(path.len() > 1);
        let u = DeviceUri::File { path: path.clone().into() };
        prop_assert_eq!(u.to_string().parse::<DeviceUri>().unwrap(), u);
    }

    #[test]
    fn preview_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = preview_lines(&bytes);
    }

    #[test]
    fn text_never_becomes_a_command_and_reads_back(s in "\\PC{0,60}") {
        // Private-use characters have no stable GB18030 round trip.
        prop_assume!(!s.chars().any(|c| matches!(u32::from(c), 0xE000..=0xF8FF | 0xF0000..)));
        let mut e = EscPos::new();
        e.text(&s);
        let bytes = e.finish();
        // Only FS & and FS . may appear as command bytes.
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == 0x1C {
                prop_assert!(matches!(bytes.get(i + 1), Some(0x26 | 0x2E)));
                i += 2;
                continue;
            }
            prop_assert!(b >= 0x20, "control byte {:02X}", b);
            i += 1;
        }
        let back: String = preview_lines(&bytes).iter().map(|l| l.text.as_str()).collect();
        // Without a font to draw them, characters outside the printer's GBK font are boxes.
        let expected: String = s
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if FontCharset::Gbk.has(c) { c } else { '□' })
            .collect();
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn wrapped_lines_fit(s in "[a-z \u{4e00}-\u{4e20}，。]{0,120}", cols in 2usize..60) {
        let lines = wrap(&s, cols);
        for l in &lines {
            prop_assert!(display_width(l) <= cols, "{:?} > {}", l, cols);
        }
        let squash = |x: &str| x.chars().filter(|c| *c != ' ').collect::<String>();
        prop_assert_eq!(squash(&lines.concat()), squash(&s));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn qr_decoder_takes_any_frame(
        w in 1u32..64,
        h in 1u32..64,
        seed in any::<u64>(),
        short in any::<bool>(),
    ) {
        let mut x = seed | 1;
        let n = (w * h) as usize - usize::from(short);
        let grey: Vec<u8> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x & 0xFF) as u8
            })
            .collect();
        let _ = decode_qr(&Frame { width: w, height: h, grey });
    }
}
