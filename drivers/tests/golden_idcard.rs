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
