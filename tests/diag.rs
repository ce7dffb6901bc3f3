//! `hall-kiosk diag …` as a technician runs it: the real binary against simulators on real
//! pseudo-terminals and sockets, and on image files made here.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use kiosk_drivers::image::encode_png_grey;
use kiosk_drivers::printer::Paper;
use kiosk_drivers::printer::receipt::demo;
use kiosk_drivers::sim::camera::{qr_frame, scene_frame};
use kiosk_drivers::sim::serve::{scanner_pty, serve_idcard_pty, serve_printer_tcp};
use kiosk_drivers::sim::{
    PaperState, ReaderFault, SimCard, SimCardKind, SimIdCardReader, SimPrinter,
};
use kiosk_drivers::transport::Transport;
use serde_json::Value;

fn diag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hall-kiosk"))
        .arg("diag")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run hall-kiosk")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// A failure: non-zero exit, exactly one line on stderr, no panic.
fn assert_clean_failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn read_card(card: SimCard) -> Value {
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    reader.lock().unwrap().place(card);
    let server = serve_idcard_pty(reader).unwrap();
    let uri = format!("serial://{}", server.path().unwrap().display());
    let out = diag(&["idcard", "--device", &uri, "--timeout", "10", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    lines.into_iter().next().unwrap()
}

#[test]
fn idcard_reads_a_resident_card_over_a_pty() {
    let v = read_card(SimCard::demo());
    assert_eq!(v["card_type"], "resident");
    assert_eq!(v["name"], "张建国");
    assert_eq!(v["sex"], "男");
    assert_eq!(v["nation"], "汉");
    assert_eq!(v["birth"], "1958-03-12");
    assert_eq!(v["address"], "湖北省襄阳市樊城区人民路18号3栋2单元501室");
    assert_eq!(v["id_number"], "420602195803120011");
    assert_eq!(v["authority"], "襄阳市公安局樊城分局");
    assert_eq!(v["valid_from"], "2018-03-12");
    assert_eq!(v["valid_to"], "长期");
}

/// `--verbose`: every frame as a JSON line before the card, the card's data redacted in them.
#[test]
fn idcard_verbose_shows_the_frames_without_the_card() {
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    reader.lock().unwrap().place(SimCard::demo());
    let server = serve_idcard_pty(reader).unwrap();
    let uri = format!("serial://{}", server.path().unwrap().display());
    let out = diag(&["idcard", "--device", &uri, "--timeout", "10", "--verbose"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let (card, frames) = lines.split_last().unwrap();
    assert_eq!(card["name"], "张建国");
    let hex = |dir: &str| -> Vec<String> {
        frames
            .iter()
            .filter(|f| f["frame"] == dir)
            .map(|f| f["hex"].as_str().unwrap().to_string())
            .collect()
    };
    let sent = hex("sent");
    assert_eq!(sent[0], "AA AA AA 96 69 00 03 11 FF ED");
    assert!(sent.contains(&"AA AA AA 96 69 00 03 30 01 32".to_string()));
    let received = hex("received");
    assert!(
        received.iter().any(|h| h.starts_with(
            "AA AA AA 96 69 05 08 00 00 90 01 00 04 00 ‹text 256 bytes› ‹photo 1024 bytes›"
        )),
        "{received:?}"
    );
    let all = frames.iter().map(|f| f.to_string()).collect::<String>();
    for personal in ["张建国", "420602195803120011", "20 5F", "襄阳"] {
        assert!(!all.contains(personal), "{personal} in the frames");
    }
    assert!(
        frames
            .iter()
            .any(|f| f["meaning"].as_str().unwrap().contains("SW3 9F"))
    );
}

/// `--verbose` with a reader that answers with a bad checksum and with noise: those bytes are
/// shown in hex (they did not parse, so they are no card's data), and the card is still read.
#[test]
fn idcard_verbose_shows_unparsed_bytes_in_hex() {
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    {
        let mut r = reader.lock().unwrap();
        r.place(SimCard::demo());
        r.inject(ReaderFault::BadChecksum);
        r.inject(ReaderFault::Garbage);
    }
    let server = serve_idcard_pty(reader).unwrap();
    let uri = format!("serial://{}", server.path().unwrap().display());
    let out = diag(&["idcard", "--device", &uri, "--timeout", "10", "--verbose"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let (card, frames) = lines.split_last().unwrap();
    assert_eq!(card["name"], "张建国");
    let received: Vec<(String, String)> = frames
        .iter()
        .filter(|f| f["frame"] == "received")
        .map(|f| {
            (
                f["hex"].as_str().unwrap().to_string(),
                f["meaning"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let bad = received
        .iter()
        .find(|(_, m)| m.contains("checksum"))
        .unwrap_or_else(|| panic!("no bad checksum shown: {received:?}"));
    assert!(bad.0.starts_with("AA AA AA 96 69 00 "), "{bad:?}");
    assert!(!bad.0.contains('‹'), "{bad:?}");
    assert!(
        received
            .iter()
            .any(|(h, m)| m == "noise before a frame" && h.starts_with("00 FF")),
        "{received:?}"
    );
    let all = frames.iter().map(|f| f.to_string()).collect::<String>();
    for personal in ["张建国", "420602195803120011", "20 5F"] {
        assert!(!all.contains(personal), "{personal} in the frames");
    }
}

#[test]
fn idcard_reads_permits_and_foreign_cards() {
    let permit = SimCard {
        kind: Some(SimCardKind::HkMoTwPermit),
        name: "陈大文".into(),
        sex: "2".into(),
        birth: "19800101".into(),
        address: "香港特别行政区".into(),
        number: "810000198001010020".into(),
        authority: "公安部出入境管理局".into(),
        valid_from: "20200101".into(),
        valid_to: "20250101".into(),
        travel_permit: "H12345678".into(),
        issue_count: "01".into(),
        photo: vec![0; 1024],
        ..SimCard::default()
    };
    let v = read_card(permit);
    assert_eq!(v["card_type"], "hmt_permit");
    assert_eq!(v["sex"], "女");
    assert_eq!(v["pass_number"], "H12345678");
    assert_eq!(v["issue_count"], "01");
    assert_eq!(v["valid_to"], "2025-01-01");
    assert!(v.get("nation").is_none());

    let foreign = SimCard {
        kind: Some(SimCardKind::Foreign2017),
        name: "史密斯".into(),
        name_en: "SMITH JOHN".into(),
        sex: "1".into(),
        nationality: "USA".into(),
        birth: "19750505".into(),
        number: "USA420075050501".into(),
        authority_code: "1500".into(),
        version: "01".into(),
        valid_from: "20190101".into(),
        valid_to: "20290101".into(),
        photo: vec![0; 1024],
        ..SimCard::default()
    };
    let v = read_card(foreign);
    assert_eq!(v["card_type"], "foreign_permanent");
    assert_eq!(v["english_name"], "SMITH JOHN");
    assert_eq!(v["nationality"], "USA");
    assert_eq!(v["name"], "史密斯");
    assert_eq!(v["id_number"], "USA420075050501");
}

#[test]
fn idcard_failures_are_one_clear_line() {
    // No such device.
    let err = assert_clean_failure(&diag(&[
        "idcard",
        "--device",
        "serial:///dev/ttyNONE0",
        "--timeout",
        "1",
    ]));
    assert!(err.contains("/dev/ttyNONE0"), "{err}");
    // A reader with no card on it.
    let server = serve_idcard_pty(Arc::new(Mutex::new(SimIdCardReader::new()))).unwrap();
    let uri = format!("serial://{}", server.path().unwrap().display());
    let err = assert_clean_failure(&diag(&["idcard", "--device", &uri, "--timeout", "1"]));
    assert!(err.contains("no card"), "{err}");
    // A card the reader cannot read.
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    reader.lock().unwrap().place(SimCard::demo());
    reader.lock().unwrap().set_read_status(Some(0x41));
    let server = serve_idcard_pty(reader).unwrap();
    let uri = format!("serial://{}", server.path().unwrap().display());
    assert_clean_failure(&diag(&["idcard", "--device", &uri, "--timeout", "10"]));
    // A bad address.
    let err = assert_clean_failure(&diag(&["idcard", "--device", "com1:"]));
    assert!(err.contains("com1"), "{err}");
    // The simulator with its demo card.
    let out = diag(&["idcard", "--device", "sim:", "--json"]);
    assert!(out.status.success());
    assert_eq!(json_lines(&out)[0]["name"], "张建国");
}

#[test]
fn decode_qr_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("code.png");
    std::fs::write(
        &good,
        encode_png_grey(&qr_frame("2026110200000118", 640, 480, false)).unwrap(),
    )
    .unwrap();
    let dark = dir.path().join("dark-mode.png");
    std::fs::write(
        &dark,
        encode_png_grey(&qr_frame("https://e.invalid/r/7", 640, 480, true)).unwrap(),
    )
    .unwrap();
    let blank = dir.path().join("blank.png");
    std::fs::write(&blank, encode_png_grey(&scene_frame(320, 240)).unwrap()).unwrap();
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not an image").unwrap();
    let files = [&good, &dark, &blank, &junk].map(|p| p.display().to_string());
    let out = diag(&[
        "decode-qr",
        files[0].as_str(),
        files[1].as_str(),
        files[2].as_str(),
        files[3].as_str(),
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["file"], files[0].as_str());
    assert_eq!(lines[0]["text"], "2026110200000118");
    assert_eq!(lines[1]["text"], "https://e.invalid/r/7");
    assert!(lines[2]["error"].is_string() && lines[2].get("text").is_none());
    assert!(lines[3]["error"].is_string());
    assert_clean_failure(&out);
    // All readable: exit 0.
    let out = diag(&["decode-qr", files[0].as_str()]);
    assert!(out.status.success());
}

#[test]
fn print_sample_and_status_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let paper = SimPrinter::new();
    let _server = serve_printer_tcp(listener, paper.clone()).unwrap();
    let uri = format!("tcp://127.0.0.1:{port}");

    let out = diag(&["printer-status", "--device", &uri]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = &json_lines(&out)[0];
    assert_eq!(st["ready"], true);
    assert_eq!(st["paper_out"], false);

    let out = diag(&[
        "print-sample",
        "--kind",
        "submission",
        "--device",
        &uri,
        "--paper",
        "58",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = demo::submission().render(Paper::Mm58);
    assert_eq!(paper.printed().unwrap(), expected);
    assert_eq!(json_lines(&out)[0]["bytes"], expected.len());

    paper.set_paper(PaperState::Out).unwrap();
    let out = diag(&["printer-status", "--device", &uri]);
    let st = &json_lines(&out)[0];
    assert_eq!(st["ready"], false);
    assert_eq!(st["paper_out"], true);
    let err = assert_clean_failure(&diag(&[
        "print-sample",
        "--kind",
        "payment",
        "--device",
        &uri,
    ]));
    assert!(err.contains("纸"), "{err}");
    assert_eq!(paper.printed().unwrap(), expected, "nothing more printed");

    // A file printer: created, written, no status replies.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.bin");
    let furi = format!("file://{}", file.display());
    let out = diag(&["print-sample", "--kind", "progress", "--device", &furi]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        demo::progress().render(Paper::Mm80)
    );
}

#[test]
fn scan_prints_codes_from_a_serial_scanner() {
    let (mut master, _slave, path) = scanner_pty().unwrap();
    let uri = format!("serial://{}", path.display());
    let child = Command::new(env!("CARGO_BIN_EXE_hall-kiosk"))
        .args([
            "diag",
            "scan",
            "--device",
            &uri,
            "--count",
            "2",
            "--timeout",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Scans keep coming until the diag has the port open and has read two.
    let done = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let codes: [&[u8]; 2] = [b"2026110200000126\r\n", b"4206002611020000183\r\n"];
            for i in 0..100 {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let _ = master.write(codes[i % 2]);
                std::thread::sleep(std::time::Duration::from_millis(400));
            }
        });
        let out = child.wait_with_output().unwrap();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["code"].is_string()));
}

#[test]
fn camera_and_gpio() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.png"),
        encode_png_grey(&qr_frame("2026110200000139", 640, 480, false)).unwrap(),
    )
    .unwrap();
    let uri = format!("file://{}", dir.path().display());
    let out = diag(&["camera", "--device", &uri, "--frames", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["qr"], "2026110200000139");
    assert_eq!(lines[2]["decoded"], 2);
    let err = assert_clean_failure(&diag(&["camera", "--device", "v4l2:///dev/video-none"]));
    assert!(err.contains("/dev/video-none"), "{err}");

    let out = diag(&["gpio", "--board", "x86-kiosk"]);
    assert!(out.status.success());
    assert!(json_lines(&out)[0]["gpio"].is_null());
    // This machine has no GPIO chip: a clear error naming it.
    if !std::path::Path::new("/dev/gpiochip0").exists() {
        let err = assert_clean_failure(&diag(&["gpio", "--board", "rpi4"]));
        assert!(err.contains("gpiochip0"), "{err}");
    }
    let err = assert_clean_failure(&diag(&["gpio", "--board", "no-such-board"]));
    assert!(err.contains("no-such-board"), "{err}");
}
