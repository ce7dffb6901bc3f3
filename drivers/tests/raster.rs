//! Characters outside the printer's font: drawn as a raster line with the kiosk's CJK font
//! (fonts-noto-cjk), never sent as `?` or as bytes the printer cannot print.

use std::sync::Arc;

use kiosk_drivers::printer::escpos::{Align, EscPos, Paper};
use kiosk_drivers::printer::preview::{LineKind, preview_lines};
use kiosk_drivers::printer::raster::{Bitmap, LineStyle, draw_line};
use kiosk_drivers::printer::receipt::demo;
use kiosk_drivers::printer::{FontCharset, GlyphFont, RasterFallback};

fn font() -> Arc<GlyphFont> {
    match GlyphFont::system() {
        Ok(f) => Arc::new(f),
        Err(e) => panic!("the receipt font is part of the kiosk (fonts-noto-cjk): {e}"),
    }
}

fn fallback(charset: FontCharset) -> RasterFallback {
    RasterFallback {
        charset,
        font: font(),
    }
}

/// The `GS v 0` images in a job: (width in bytes, height, data).
fn images(bytes: &[u8]) -> Vec<Bitmap> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if bytes[i..i + 4] == [0x1D, b'v', b'0', 0] {
            let w = usize::from(bytes[i + 4]) + 256 * usize::from(bytes[i + 5]);
            let h = usize::from(bytes[i + 6]) + 256 * usize::from(bytes[i + 7]);
            let data = bytes[i + 8..i + 8 + w * h].to_vec();
            out.push(Bitmap {
                width_bytes: w,
                height: h,
                data,
            });
            i += 8 + w * h;
        } else {
            i += 1;
        }
    }
    out
}

/// The job without the data of its images (which may hold any byte).
fn without_images(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(&[0x1D, b'v', b'0', 0]) && i + 8 <= bytes.len() {
            let w = usize::from(bytes[i + 4]) + 256 * usize::from(bytes[i + 5]);
            let h = usize::from(bytes[i + 6]) + 256 * usize::from(bytes[i + 7]);
            i += 8 + w * h;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Whether a GB18030 four-byte sequence (a character outside GBK) was sent as text.
fn has_four_byte_text(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| {
        (0x81..=0xFE).contains(&w[0])
            && (0x30..=0x39).contains(&w[1])
            && (0x81..=0xFE).contains(&w[2])
            && (0x30..=0x39).contains(&w[3])
    })
}

#[test]
fn a_rare_name_character_prints_as_an_image_not_a_question_mark() {
    let fb = fallback(FontCharset::Gbk);
    assert!(fb.font.has_glyph('䶮'), "the font draws extension A");
    let mut e = EscPos::with_fallback(Paper::Mm58, Some(fb));
    e.init().line("申请人：刘䶮").line("办理事项：施工许可");
    let bytes = e.finish();

    let text = without_images(&bytes);
    assert!(!text.contains(&b'?'), "no question marks");
    assert!(!has_four_byte_text(&text), "no four-byte text");
    assert!(
        !text.windows(2).any(|w| w == [0xFE, 0x9F]),
        "䶮 not sent as text"
    );
    let lines = preview_lines(&bytes);
    assert_eq!(lines[0].kind, LineKind::Image, "{lines:?}");
    assert_eq!(lines[0].text, "[IMAGE 384×30]");
    assert_eq!(lines[1].kind, LineKind::Text);
    assert_eq!(lines[1].text, "办理事项：施工许可");

    // The image has ink where each of the six characters stands (24 dots each, from the left)
    // and none beyond them.
    let img = &images(&bytes)[0];
    assert_eq!((img.width_bytes, img.height), (48, 30));
    if std::env::var_os("SHOW_RASTER").is_some() {
        for y in 0..img.height {
            let row: String = (0..150)
                .map(|x| if img.get(x, y) { '#' } else { '.' })
                .collect();
            println!("{row}");
        }
    }
    for (k, c) in "申请人：刘䶮".chars().enumerate() {
        if c != '：' {
            assert!(img.ink(k * 24, k * 24 + 24) > 20, "no ink for {c}");
        }
    }
    assert_eq!(img.ink(6 * 24, 384), 0);
}

#[test]
fn the_printers_charset_decides_what_is_drawn() {
    // 镕 is in GBK: a GBK printer prints it from its font, a GB2312 printer gets an image.
    let job = |charset| {
        let mut e = EscPos::with_fallback(Paper::Mm80, Some(fallback(charset)));
        e.line("朱镕基路");
        e.finish()
    };
    let gbk = job(FontCharset::Gbk);
    assert!(images(&gbk).is_empty());
    assert_eq!(preview_lines(&gbk)[0].text, "朱镕基路");
    let gb2312 = job(FontCharset::Gb2312);
    assert_eq!(images(&gb2312).len(), 1);
    assert_eq!(
        images(&gb2312)[0].width_bytes,
        72,
        "80 mm paper is 576 dots"
    );
    // A printer with all of GB18030 prints even extension B as text.
    let mut e = EscPos::with_fallback(Paper::Mm80, Some(fallback(FontCharset::Gb18030)));
    e.line("𠈌");
    assert!(images(&e.finish()).is_empty());
}

#[test]
fn without_a_font_the_character_is_a_visible_box() {
    let mut e = EscPos::with_fallback(Paper::Mm58, None);
    e.line("刘䶮");
    let bytes = e.finish();
    assert!(!bytes.contains(&b'?'));
    assert_eq!(preview_lines(&bytes)[0].text, "刘□");
}

#[test]
fn alignment_and_size_are_drawn_into_the_image() {
    let font = font();
    let style = |align, width| LineStyle {
        width,
        height: width,
        bold: false,
        align,
    };
    let left = draw_line(&font, "䶮", style(Align::Left, 1), 384);
    let centre = draw_line(&font, "䶮", style(Align::Center, 1), 384);
    let double = draw_line(&font, "䶮", style(Align::Center, 2), 384);
    assert!(left.ink(0, 24) > 20 && left.ink(24, 384) == 0);
    assert!(centre.ink(180, 204) > 20 && centre.ink(0, 180) == 0 && centre.ink(204, 384) == 0);
    assert_eq!(double.height, 60);
    assert!(double.ink(168, 216) > 2 * centre.ink(180, 204));
}

#[test]
fn receipts_with_a_rare_character_draw_only_that_line() {
    let mut r = demo::submission();
    r.applicant_masked = "䶮**".into();
    let fb = fallback(FontCharset::Gbk);
    for paper in [Paper::Mm58, Paper::Mm80] {
        let plain = demo::submission().render_with(paper, Some(&fb));
        let bytes = r.render_with(paper, Some(&fb));
        assert_eq!(images(&bytes).len(), 1);
        let kinds = |b: &[u8]| {
            preview_lines(b)
                .into_iter()
                .map(|l| l.kind)
                .collect::<Vec<_>>()
        };
        // The same number of lines: the image replaced exactly one text line.
        assert_eq!(kinds(&bytes).len(), kinds(&plain).len());
        assert!(!has_four_byte_text(&without_images(&bytes)));
    }
}

#[test]
fn a_character_no_font_has_is_a_box_in_the_image() {
    // A private-use code point: in no font, and outside any printer's font.
    let mut e = EscPos::with_fallback(Paper::Mm58, Some(fallback(FontCharset::Gbk)));
    e.line("\u{E000}");
    let bytes = e.finish();
    let img = &images(&bytes)[0];
    // A box: ink along the edges of the first cell, nothing in the middle.
    assert!(img.ink(0, 24) > 40);
    assert!(!img.get(12, 12));
}
