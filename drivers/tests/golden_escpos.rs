//! The ESC/POS builder against byte strings published by independent printer libraries
//! (python-escpos, escpos-php, escpos-rs, receiptline): `tests/golden/escpos/*.hex`, each naming
//! its source. The printer simulator is tested against the status requests separately
//! (`sims/tests/golden.rs`).

use kiosk_drivers::printer::escpos::{EscPos, QrLevel};
use kiosk_drivers::printer::raster::Bitmap;
use kiosk_drivers::printer::status::{PAPER_SENSOR_REQUEST, StatusQuery};
use kiosk_sims::golden::hex;

fn golden(name: &str) -> Vec<u8> {
    hex(&format!("escpos/{name}.hex")).unwrap()
}

fn built(f: impl FnOnce(&mut EscPos)) -> Vec<u8> {
    let mut e = EscPos::new();
    f(&mut e);
    e.bytes().to_vec()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn qr_codes() {
    let got = built(|e| {
        e.qr_at("1234", 3, QrLevel::L).unwrap();
    });
    assert_eq!(got, golden("qr-1234-L-size3"));
    let got = built(|e| {
        e.qr_at("Testing 123", 3, QrLevel::L).unwrap();
    });
    assert_eq!(got, golden("qr-testing-123-L-size3"));
}

#[test]
fn raster_images() {
    let mut one = Bitmap::new(1, 1);
    one.set(0, 0);
    assert_eq!(one.to_escpos(), golden("raster-1x1-black"));
    let mut two = Bitmap::new(2, 2);
    two.set(0, 0);
    two.set(1, 0);
    assert_eq!(two.to_escpos(), golden("raster-2x2-top-black"));
    let mut cross = Bitmap::new(16, 16);
    for i in 0..16 {
        for j in 7..9 {
            cross.set(j, i);
            cross.set(i, j);
        }
    }
    assert_eq!(cross.to_escpos(), golden("raster-16x16-cross"));
}

#[test]
fn cut_barcodes_and_chinese_text() {
    assert!(
        built(|e| {
            e.cut();
        })
        .ends_with(&golden("cut-feed-partial"))
    );
    let b = built(|e| {
        e.code128("012ABCDabcd", 2, 64).unwrap();
    });
    assert!(b.ends_with(&golden("code128-set-b")), "{b:02X?}");
    let c = built(|e| {
        e.code128("213243", 2, 64).unwrap();
    });
    assert!(c.ends_with(&golden("code128-set-c")), "{c:02X?}");
    let zh = built(|e| {
        e.text("示例文本打印机");
    });
    let mut expected = golden("chinese-gbk");
    expected.extend_from_slice(&[0x1C, 0x2E]);
    assert!(contains(&zh, &expected), "{zh:02X?}");
}

#[test]
fn status_requests() {
    let mut got = Vec::new();
    for q in [
        StatusQuery::Printer,
        StatusQuery::OfflineCause,
        StatusQuery::ErrorCause,
        StatusQuery::PaperSensor,
    ] {
        got.extend_from_slice(&q.request());
    }
    got.extend_from_slice(&PAPER_SENSOR_REQUEST);
    assert_eq!(got, golden("status-requests"));
}

#[test]
fn text_sizes() {
    let got = built(|e| {
        for n in 1..=8u8 {
            e.size(n, n);
        }
    });
    // The GS ! n the builder sends (it also sends FS ! for Chinese mode), as published.
    let ours: Vec<u8> = got
        .windows(3)
        .filter(|w| w[0] == 0x1D && w[1] == b'!')
        .map(|w| w[2])
        .collect();
    let published: Vec<u8> = golden("text-size-1-to-8")
        .chunks(4)
        .map(|c| {
            assert_eq!(&c[..2], &[0x1D, b'!']);
            c[2]
        })
        .collect();
    assert_eq!(ours, published);
}
