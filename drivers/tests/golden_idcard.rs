//! The ID card reader driver against the golden byte vectors in `tests/golden/idcard/`: frames
//! copied from public sources (`published-*.hex`, each naming its source) and frames written from
//! the public layouts by a third implementation (`make.py`). The simulator is tested against the
//! same files in `sims/tests/golden.rs`, separately.

use std::time::{Duration, Instant};

use kiosk_drivers::Health;
use kiosk_drivers::idcard::reader::parse_read_data;
use kiosk_drivers::idcard::text::decode_text;
use kiosk_drivers::idcard::{
    CardKind, Command, FrameParser, IdCard, Reader, ReaderConfig, ReaderOutput, ReaderStatus,
    ValidTo, nation_name,
};
use kiosk_sims::golden::{dir, hex};

fn published(name: &str) -> Vec<u8> {
    hex(&format!("idcard/published-{name}.hex")).unwrap()
}

fn generated(name: &str) -> Vec<u8> {
    hex(&format!("idcard/{name}.hex")).unwrap()
}

fn cards() -> toml::Table {
    toml::from_str(&std::fs::read_to_string(dir().join("idcard/cards.toml")).unwrap()).unwrap()
}

/// What the kiosk must read from a card of `cards.toml`, written from its fields.
fn expected(key: &str) -> IdCard {
    let all = cards();
    let t = all[key].as_table().unwrap();
    let f = |name: &str| {
        t.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let kind = match f("flag").as_str() {
        "" => CardKind::Resident,
        "J" => CardKind::HkMoTwPermit,
        "I" => CardKind::ForeignPermanent2017,
        "Y" => CardKind::ForeignPermanent2023,
        other => panic!("flag {other}"),
    };
    let nation = match kind {
        CardKind::Resident => nation_name(f("nation").parse().unwrap())
            .unwrap()
            .to_string(),
        CardKind::HkMoTwPermit => String::new(),
        _ => f("nationality"),
    };
    IdCard {
        kind,
        name: f("name"),
        name_en: f("name_en"),
        sex_code: f("sex").parse().unwrap(),
        nation,
        birth: f("birth"),
        address: f("address"),
        id_number: f("number"),
        authority: if kind == CardKind::ForeignPermanent2017 {
            f("authority_code")
        } else {
            f("authority")
        },
        valid_from: f("valid_from"),
        valid_to: match f("valid_to").as_str() {
            "长期" => ValidTo::LongTerm,
            d => ValidTo::Date(d.to_string()),
        },
        travel_permit: f("travel_permit"),
        issue_count: f("issue_count"),
        photo: Vec::new(),
    }
}

fn photo() -> Vec<u8> {
    (0..1024u32).map(|i| ((i * 37 + 11) & 0xFF) as u8).collect()
}

fn reply(bytes: &[u8]) -> (u8, Vec<u8>) {
    let mut p = FrameParser::new();
    p.push(bytes);
    let frame = p.pop().unwrap().unwrap();
    assert!(p.pop().is_none());
    let r = frame.as_reply().unwrap();
    (r.sw3, r.data.to_vec())
}

#[test]
fn requests_are_the_published_bytes() {
    for (cmd, name) in [
        (Command::ResetSam, "reset-sam"),
        (Command::SamStatus, "sam-status"),
        (Command::ReadSamId, "sam-id"),
        (Command::FindCard, "find-card"),
        (Command::SelectCard, "select-card"),
        (Command::ReadText, "read"),
        (Command::ReadTextFingerprint, "read-fingerprint"),
    ] {
        assert_eq!(
            cmd.request(),
            published(&format!("request-{name}")),
            "{cmd:?}"
        );
        assert_eq!(
            cmd.request(),
            generated(&format!("request-{name}")),
            "{cmd:?}"
        );
    }
}

#[test]
fn published_replies_mean_what_their_sources_say() {
    for (name, status, data_len) in [
        ("reply-ok", ReaderStatus::Ok, 0),
        ("reply-sam-fault", ReaderStatus::SamSelfTestFailed, 0),
        ("reply-found", ReaderStatus::CardFound, 4),
        ("reply-no-card", ReaderStatus::NoCard, 0),
        ("reply-selected", ReaderStatus::Ok, 8),
        ("reply-select-failed", ReaderStatus::SelectFailed, 0),
        ("reply-read-failed", ReaderStatus::ReadFailed, 0),
        ("reply-card-auth-failed", ReaderStatus::CardAuthFailed, 0),
        ("reply-sam-id", ReaderStatus::Ok, 16),
    ] {
        let (sw3, data) = reply(&published(name));
        assert_eq!(ReaderStatus::from_sw3(sw3), status, "{name}");
        assert_eq!(data.len(), data_len, "{name}");
    }
    let (sw3, _) = reply(&generated("reply-no-content"));
    assert_eq!(ReaderStatus::from_sw3(sw3), ReaderStatus::NoContent);
}

/// The read reply: its head as published, the rest from the public layout.
#[test]
fn the_1295_byte_read_reply_reads_as_the_card() {
    let bytes = generated("reply-read-resident");
    assert_eq!(bytes.len(), 1295);
    assert!(bytes.starts_with(&published("reply-read-head")));
    let (sw3, data) = reply(&bytes);
    assert_eq!(sw3, 0x90);
    let mut want = expected("resident");
    want.photo = photo();
    assert_eq!(parse_read_data(&data, false).unwrap(), want);
}

#[test]
fn the_fingerprint_read_reply_has_three_big_endian_lengths() {
    let bytes = generated("reply-read-fingerprint-resident");
    assert_eq!(bytes.len(), 2321);
    assert!(bytes.starts_with(&published("reply-read-fingerprint-head")));
    let (_, data) = reply(&bytes);
    let mut want = expected("resident");
    want.photo = photo();
    assert_eq!(parse_read_data(&data, true).unwrap(), want);
    // A card without fingerprints: the third length is 00 00 (a 1297-byte reply).
    let mut none = vec![0x01, 0x00, 0x04, 0x00, 0x00, 0x00];
    none.extend_from_slice(&data[6..6 + 256 + 1024]);
    assert_eq!(none.len() + 7 + 3 + 1, 1297);
    assert_eq!(parse_read_data(&none, true).unwrap(), want);
}

#[test]
fn every_card_layout_decodes_as_its_fields() {
    for key in cards().keys() {
        let block = generated(&format!("text-{key}"));
        assert_eq!(decode_text(&block).unwrap(), expected(key), "{key}");
    }
}

/// The whole exchange as a real reader answers it, bytes as published.
#[test]
fn the_state_machine_reads_a_card_from_published_replies() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut r = Reader::new(ReaderConfig::default());
    assert_eq!(r.poll(at(0)), Some(published("request-sam-status")));
    assert_eq!(
        r.on_bytes(&published("reply-ok")),
        vec![ReaderOutput::Health(Health::Ok)]
    );
    assert_eq!(r.poll(at(1)), Some(published("request-find-card")));
    assert!(r.on_bytes(&published("reply-no-card")).is_empty());
    assert_eq!(r.poll(at(300)), Some(published("request-find-card")));
    assert!(r.on_bytes(&published("reply-found")).is_empty());
    assert_eq!(r.poll(at(301)), Some(published("request-select-card")));
    assert!(r.on_bytes(&published("reply-selected")).is_empty());
    assert_eq!(r.poll(at(302)), Some(published("request-read")));
    let out = r.on_bytes(&generated("reply-read-resident"));
    let [ReaderOutput::CardRead(card)] = &out[..] else {
        panic!("expected a card, got {out:?}");
    };
    assert_eq!(card.name, "张建国");
    assert_eq!(card.id_number, "420602195803120011");
    // A SAM that fails its self-test takes the reader out of service.
    let mut r = Reader::new(ReaderConfig::default());
    r.poll(at(0));
    let out = r.on_bytes(&published("reply-sam-fault"));
    assert!(
        matches!(&out[..], [ReaderOutput::Health(Health::Absent(_))]),
        "{out:?}"
    );
}

/// A reply frame written here from the published layout (preamble, big-endian LEN, SW1 SW2 SW3,
/// data, XOR checksum), with the given SW1 SW2.
fn reply_with(sw1: u8, sw2: u8, sw3: u8, data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(3 + data.len() + 1).unwrap().to_be_bytes();
    let mut f = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, len[0], len[1], sw1, sw2, sw3];
    f.extend_from_slice(data);
    let chk = f[5..].iter().fold(0u8, |x, b| x ^ b);
    f.push(chk);
    f
}

/// SW1 SW2 are `00 00` on success and vendor-defined otherwise (SAM-PDF table 10 `XX XX`): the
/// driver decides on SW3 alone, whatever SW1 SW2 say.
#[test]
fn sw1_sw2_are_vendor_defined_and_only_sw3_decides() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut r = Reader::new(ReaderConfig::default());
    assert_eq!(r.poll(at(0)), Some(Command::SamStatus.request()));
    assert_eq!(
        r.on_bytes(&reply_with(0x12, 0x34, 0x90, &[])),
        vec![ReaderOutput::Health(Health::Ok)]
    );
    assert_eq!(r.poll(at(1)), Some(Command::FindCard.request()));
    // No card, whatever SW1 SW2: asked again later, nothing selected.
    assert!(r.on_bytes(&reply_with(0xAB, 0xCD, 0x80, &[])).is_empty());
    assert_eq!(r.poll(at(2)), None);
    let again = r.next_wakeup().unwrap();
    assert_eq!(r.poll(again), Some(Command::FindCard.request()));
    // Found and selected with vendor SW1 SW2: the card is read next.
    assert!(
        r.on_bytes(&reply_with(0x6A, 0x82, 0x9F, &[0, 0, 0, 0]))
            .is_empty()
    );
    assert_eq!(r.poll(again), Some(Command::SelectCard.request()));
    assert!(
        r.on_bytes(&reply_with(0xFF, 0xFF, 0x90, &[0; 8]))
            .is_empty()
    );
    assert_eq!(r.poll(again), Some(Command::ReadText.request()));
    let mut p = FrameParser::new();
    p.push(&reply_with(0x12, 0x34, 0x41, &[]));
    let frame = p.pop().unwrap().unwrap();
    assert_eq!(frame.as_reply().unwrap().status(), ReaderStatus::ReadFailed);
}

/// The reader's USB id, 0400:c35a (SAM-PDF; openiDR200; Synjones; two libusb programs): the
/// boards' profiles and the udev rule name it, and it reads as vendor 0x0400, product 0xc35a.
#[test]
fn the_readers_usb_id_is_the_published_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for profile in ["board/rpi5.toml", "board/x86-kiosk.toml"] {
        let text = std::fs::read_to_string(root.join(profile)).unwrap();
        assert!(text.contains("idcard = \"usb://0400:c35a\""), "{profile}");
    }
    let rules = std::fs::read_to_string(root.join("board/udev/70-hall-kiosk.rules")).unwrap();
    assert!(
        rules.contains(r#"ATTR{idVendor}=="0400", ATTR{idProduct}=="c35a""#),
        "the udev rule"
    );
    let uri: kiosk_drivers::uri::DeviceUri = "usb://0400:c35a".parse().unwrap();
    assert_eq!(
        uri,
        kiosk_drivers::uri::DeviceUri::Usb {
            vendor: 0x0400,
            product: 0xc35a,
            frames: kiosk_drivers::usb_split::Framing::Auto,
        }
    );
}
