use super::*;

fn built(f: impl FnOnce(&mut EscPos)) -> Vec<u8> {
    let mut e = EscPos::new();
    f(&mut e);
    e.finish()
}

#[test]
fn simple_commands() {
    assert_eq!(
        built(|e| {
            e.init();
        }),
        [0x1B, 0x40]
    );
    assert_eq!(
        built(|e| {
            e.align(Align::Center)
                .bold(true)
                .bold(false)
                .align(Align::Right);
        }),
        [0x1B, 0x61, 1, 0x1B, 0x45, 1, 0x1B, 0x45, 0, 0x1B, 0x61, 2]
    );
    assert_eq!(
        built(|e| {
            e.double(true).double(false);
        }),
        [
            0x1D, 0x21, 0x11, 0x1C, 0x21, 0x0C, 0x1D, 0x21, 0, 0x1C, 0x21, 0
        ]
    );
    assert_eq!(
        built(|e| {
            e.size(1, 2);
        }),
        [0x1D, 0x21, 0x01, 0x1C, 0x21, 0x08]
    );
    assert_eq!(
        built(|e| {
            e.feed(3).cut();
        }),
        [0x1B, 0x64, 3, 0x1D, 0x56, 0x42, 0x00]
    );
}

#[test]
fn chinese_runs_are_wrapped_in_fs_and_encoded_as_gb18030() {
    let got = built(|e| {
        e.line("审批码: 2026");
    });
    // 审 = C9 F3, 批 = C5 FA, 码 = C2 EB in GB18030.
    let expected = [
        0x1C, 0x26, 0xC9, 0xF3, 0xC5, 0xFA, 0xC2, 0xEB, 0x1C, 0x2E, b':', b' ', b'2', b'0', b'2',
        b'6', 0x0A,
    ];
    assert_eq!(got, expected);
    // Full-width punctuation and the yuan sign are Chinese-mode characters too.
    let got = built(|e| {
        e.text("￥1，");
    });
    assert_eq!(
        got,
        [
            0x1C, 0x26, 0xA3, 0xA4, 0x1C, 0x2E, b'1', 0x1C, 0x26, 0xA3, 0xAC, 0x1C, 0x2E
        ]
    );
}

#[test]
fn control_characters_never_reach_the_printer() {
    let got = built(|e| {
        e.text("a\u{1B}@b\u{1D}V\tc\r");
    });
    assert_eq!(got, b"a@bV c");
    let got = built(|e| {
        e.text("x\ny");
    });
    assert_eq!(got, b"x\ny");
}

#[test]
fn qr_sizes_fit_the_paper() {
    // 16 bytes: version 2 at level M in byte mode (version 1 holds 14), 25 + 8 modules.
    assert_eq!(qr_version(b"2026112200000017"), Some(2));
    assert_eq!(qr_version(&[b'7'; 14]), Some(1));
    assert_eq!(qr_module_to_fit("2026112200000017", 384, 6), Some(6));
    // A version-40 symbol (177 + 8 modules) fits 576 dots at 3 per module, 384 at 2.
    let long = "a".repeat(2331);
    assert_eq!(qr_version(long.as_bytes()), Some(40));
    assert_eq!(qr_module_to_fit(&long, 576, 6), Some(3));
    assert_eq!(qr_module_to_fit(&long, 384, 6), Some(2));
    assert_eq!(qr_module_to_fit(&long, 100, 6), None);
    assert_eq!(qr_version("a".repeat(2332).as_bytes()), None);
    // A printer with a smaller store limit refuses more.
    let mut e = EscPos::new();
    e.set_qr_max_bytes(1020);
    assert_eq!(
        e.qr(&"a".repeat(1021), 2).err(),
        Some(EscPosError::QrTooLong(1021))
    );
    assert!(e.qr(&"a".repeat(1020), 2).is_ok());
}

#[test]
fn qr_follows_the_gs_k_sequence() {
    let got = built(|e| {
        e.qr("2026112200000017", 6).unwrap();
    });
    let mut expected = vec![
        0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, // model 2
        0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06, // module 6
        0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31, // level M
        0x1D, 0x28, 0x6B, 19, 0x00, 0x31, 0x50, 0x30, // store, 16 + 3
    ];
    expected.extend_from_slice(b"2026112200000017");
    expected.extend_from_slice(&[0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]);
    assert_eq!(got, expected);

    let long = "x".repeat(300);
    let got = built(|e| {
        e.qr(&long, 4).unwrap();
    });
    // pL pH = 303 = 0x012F
    assert_eq!(
        &got[25..33],
        &[0x1D, 0x28, 0x6B, 0x2F, 0x01, 0x31, 0x50, 0x30]
    );

    let mut e = EscPos::new();
    assert_eq!(e.qr("", 4).err(), Some(EscPosError::QrEmpty));
    assert_eq!(e.qr("a", 0).err(), Some(EscPosError::QrModule(0)));
    assert_eq!(e.qr("a", 17).err(), Some(EscPosError::QrModule(17)));
    assert_eq!(
        e.qr(&"a".repeat(2332), 4).err(),
        Some(EscPosError::QrTooLong(2332))
    );
    assert!(e.bytes().is_empty(), "nothing written on error");
}

#[test]
fn code128_uses_set_b() {
    let got = built(|e| {
        e.code128("2026{1", 2, 80).unwrap();
    });
    let mut expected = vec![
        0x1D, 0x68, 80, 0x1D, 0x77, 2, 0x1D, 0x48, 0, 0x1D, 0x6B, 73, 9, b'{', b'B',
    ];
    expected.extend_from_slice(b"2026{{1");
    assert_eq!(got, expected);
    let mut e = EscPos::new();
    assert_eq!(e.code128("", 2, 80).err(), Some(EscPosError::BarcodeData));
    assert_eq!(e.code128("码", 2, 80).err(), Some(EscPosError::BarcodeData));
    assert_eq!(
        e.code128(&"1".repeat(255), 2, 80).err(),
        Some(EscPosError::BarcodeData)
    );
    assert!(
        e.code128(&"1".repeat(254), 2, 80).is_ok(),
        "127 digit pairs"
    );
}

#[test]
fn widths_count_chinese_double() {
    assert_eq!(display_width("abc"), 3);
    assert_eq!(display_width("审批码"), 6);
    assert_eq!(display_width("审批码：A1"), 10);
}

#[test]
fn wraps_within_the_columns() {
    let text = "建筑工程施工许可证核发（含消防设计审查意见书、施工图审查合格书）";
    for cols in [32, 48, 16] {
        let lines = wrap(text, cols);
        assert!(lines.iter().all(|l| display_width(l) <= cols), "{lines:?}");
        assert_eq!(lines.concat(), text);
    }
    let lines = wrap("please bring the original documents to window 3", 16);
    assert_eq!(
        lines,
        vec!["please bring the", "original", "documents to", "window 3"]
    );
    // A word longer than a line is split.
    let url = "https://example.invalid/e-receipt/0123456789abcdef0123456789";
    let lines = wrap(url, 32);
    assert_eq!(lines.concat(), url);
    assert!(lines.iter().all(|l| display_width(l) <= 32));
    // Newlines start lines; mixed text keeps every character.
    assert_eq!(wrap("第一行\n第二行", 32), vec!["第一行", "第二行"]);
    assert_eq!(wrap("", 32), vec![""]);
    // A paragraph's indent is kept, a continuation line starts at the margin.
    assert_eq!(wrap("   ab cd", 5), vec!["   ab", "cd"]);
}

#[test]
fn a_line_does_not_start_with_closing_punctuation() {
    // 15 CJK characters fill 30 of 32 columns; the 16th and the 。 do not both fit.
    let text = "一二三四五六七八九十一二三四五六。后";
    let lines = wrap(text, 32);
    assert!(lines.iter().all(|l| !l.starts_with('。')), "{lines:?}");
    assert_eq!(lines.concat(), text);
    assert!(lines.iter().all(|l| display_width(l) <= 32));
}

#[test]
fn two_columns_right_aligns() {
    assert_eq!(
        two_columns("城市基础设施配套费", "1,200.00", 32),
        vec![format!(
            "城市基础设施配套费{}1,200.00",
            " ".repeat(32 - 18 - 8)
        )]
    );
    let lines = two_columns(&"长".repeat(15), "99.00", 32);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], format!("{}99.00", " ".repeat(27)));
    // A wrapped left column takes the right one on its last line when it fits.
    let lines = two_columns(&format!("3. {}", "长".repeat(16)), "已拍照", 32);
    assert_eq!(
        lines,
        vec![
            format!("3. {}", "长".repeat(14)),
            format!("长长{}已拍照", " ".repeat(32 - 4 - 6))
        ]
    );
    assert_eq!(two_columns("", "R", 4), vec!["   R"]);
}

#[test]
fn a_sixteen_digit_code_fits_across_the_paper() {
    let code = "2026112200000017";
    assert_eq!(code128_symbols(code), 8, "code set C");
    for paper in [Paper::Mm58, Paper::Mm80] {
        assert!(
            code128_dots(code128_symbols(code), paper.barcode_module()) <= paper.dots(),
            "{paper:?}"
        );
    }
    assert!(
        code128_dots(16, 2) > Paper::Mm58.dots(),
        "code set B would not fit 58 mm at 2-dot bars"
    );
}
