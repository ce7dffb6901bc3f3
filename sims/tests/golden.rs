//! The simulators against the golden byte vectors in `drivers/tests/golden/` (written from the
//! public sources by a third implementation): the same bytes the drivers are tested against.

use kiosk_sims::golden::hex;
use kiosk_sims::{SimCard, SimCardKind, SimIdCardReader};

fn cards() -> toml::Table {
    let path = kiosk_sims::golden::dir().join("idcard/cards.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A card of `cards.toml` as the simulator holds it.
fn card(key: &str) -> SimCard {
    let all = cards();
    let t = all[key].as_table().unwrap();
    let f = |name: &str| {
        t.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let kind = match f("flag").as_str() {
        "" => SimCardKind::Resident,
        "J" => SimCardKind::HkMoTwPermit,
        "I" => SimCardKind::Foreign2017,
        "Y" => SimCardKind::Foreign2023,
        other => panic!("flag {other}"),
    };
    SimCard {
        kind: Some(kind),
        name: f("name"),
        name_en: f("name_en"),
        sex: f("sex"),
        nation: f("nation"),
        nationality: f("nationality"),
        birth: f("birth"),
        address: f("address"),
        number: f("number"),
        authority: f("authority"),
        valid_from: f("valid_from"),
        valid_to: f("valid_to"),
        travel_permit: f("travel_permit"),
        issue_count: f("issue_count"),
        version: f("version"),
        authority_code: f("authority_code"),
        previous_link: f("previous_link"),
        photo: (0..1024u32).map(|i| ((i * 37 + 11) & 0xFF) as u8).collect(),
    }
}

#[test]
fn text_blocks_are_the_golden_bytes() {
    for key in cards().keys() {
        let golden = hex(&format!("idcard/text-{key}.hex")).unwrap();
        assert_eq!(card(key).text_block().unwrap().to_vec(), golden, "{key}");
    }
}

#[test]
fn replies_are_the_golden_bytes() {
    let req = |name: &str| hex(&format!("idcard/request-{name}.hex")).unwrap();
    let reply = |name: &str| hex(&format!("idcard/reply-{name}.hex")).unwrap();
    let mut sim = SimIdCardReader::new();
    assert_eq!(sim.handle(&req("sam-status")), reply("ok"));
    assert_eq!(sim.handle(&req("reset-sam")), reply("ok"));
    assert_eq!(sim.handle(&req("find-card")), reply("no-card"));
    assert_eq!(sim.handle(&req("select-card")), reply("select-failed"));
    sim.place(card("resident"));
    assert_eq!(sim.handle(&req("read")), reply("read-failed"));
    assert_eq!(sim.handle(&req("find-card")), reply("found"));
    assert_eq!(sim.handle(&req("select-card")), reply("selected"));
    assert_eq!(sim.handle(&req("read")), reply("read-resident"));
    sim.remove();
    sim.place(card("resident"));
    sim.handle(&req("find-card"));
    sim.handle(&req("select-card"));
    assert_eq!(
        sim.handle(&req("read-fingerprint")),
        reply("read-fingerprint-resident")
    );
}

/// What the simulator answers is what real readers answer, as published.
#[test]
fn replies_are_the_published_bytes() {
    let published = |name: &str| hex(&format!("idcard/published-{name}.hex")).unwrap();
    let mut sim = SimIdCardReader::new();
    assert_eq!(
        sim.handle(&published("request-sam-status")),
        published("reply-ok")
    );
    assert_eq!(
        sim.handle(&published("request-reset-sam")),
        published("reply-ok")
    );
    assert_eq!(
        sim.handle(&published("request-sam-id")),
        published("reply-sam-id")
    );
    assert_eq!(
        sim.handle(&published("request-find-card")),
        published("reply-no-card")
    );
    assert_eq!(
        sim.handle(&published("request-select-card")),
        published("reply-select-failed")
    );
    sim.place(card("resident"));
    assert_eq!(
        sim.handle(&published("request-read")),
        published("reply-read-failed")
    );
    assert_eq!(
        sim.handle(&published("request-find-card")),
        published("reply-found")
    );
    assert_eq!(
        sim.handle(&published("request-select-card")),
        published("reply-selected")
    );
    let read = sim.handle(&published("request-read"));
    assert_eq!(read.len(), 1295);
    assert!(read.starts_with(&published("reply-read-head")));
    sim.remove();
    sim.place(card("resident"));
    sim.handle(&published("request-find-card"));
    sim.handle(&published("request-select-card"));
    let read = sim.handle(&published("request-read-fingerprint"));
    assert_eq!(read.len(), 2321);
    assert!(read.starts_with(&published("reply-read-fingerprint-head")));
    sim.set_fault(Some(kiosk_sims::ReaderFault::Status(0x60)));
    assert_eq!(
        sim.handle(&published("request-sam-status")),
        published("reply-sam-fault")
    );
}

/// The printer simulator answers the published status requests with bytes of the published
/// shapes (python-escpos's masks: 0x12 ready, 0x1E near end, 0x72 out; GS r bits 0–3).
#[test]
fn the_printer_answers_the_published_status_requests() {
    use kiosk_sims::{PaperState, SimPrinter};
    use std::time::Duration;
    let requests = hex("escpos/status-requests.hex").unwrap();
    let answers = |p: &SimPrinter| {
        p.receive(&requests).unwrap();
        let mut buf = [0u8; 8];
        let n = p.send(&mut buf, Duration::ZERO).unwrap();
        buf[..n].to_vec()
    };
    let p = SimPrinter::new();
    assert_eq!(answers(&p), [0x12, 0x12, 0x12, 0x12, 0x00]);
    p.set_paper(PaperState::NearEnd).unwrap();
    let a = answers(&p);
    assert_eq!(a[3] & 0x1E, 0x1E);
    assert_eq!(a[4], 0x03);
    p.set_paper(PaperState::Out).unwrap();
    let a = answers(&p);
    assert_eq!(a[3] & 0x72, 0x72);
    assert_eq!(a[0] & 0x1A, 0x1A, "offline while out of paper");
    assert_eq!(a[4] & 0x0C, 0x0C);
    assert!(p.printed().unwrap().is_empty());
}
