//! Golden byte tests of the receipts: the exact ESC/POS bytes for each layout and paper width
//! are kept under tests/golden/ (with a readable preview next to each). Run with
//! `UPDATE_GOLDEN=1` to rewrite them after an intended change, and review the diff of the
//! previews.

use std::path::PathBuf;

use kiosk_drivers::printer::escpos::{Paper, display_width};
use kiosk_drivers::printer::preview::{LineKind, preview_lines, preview_text};
use kiosk_drivers::printer::receipt::{PaymentReceipt, ProgressSlip, SubmissionReceipt};

fn submission() -> SubmissionReceipt {
    SubmissionReceipt {
        hall_name: "襄阳市政务服务中心".into(),
        kiosk_id: "XY-FC-07".into(),
        item_name: "建筑工程施工许可证核发".into(),
        approval_code_grouped: "2026 1122 0000 0017".into(),
        approval_code: "2026112200000017".into(),
        applicant_masked: "张**".into(),
        id_number_masked: "420***********0012".into(),
        project_name: "襄阳市樊城区人民路安置小区二期工程（3#、5#楼及地下车库）".into(),
        submitted_at: "2026-11-22 09:41".into(),
        due_date: "2026-12-01（7个工作日）".into(),
        materials: vec![
            ("建设工程规划许可证".into(), "已拍照".into()),
            ("施工图审查合格书".into(), "已拍照".into()),
            ("建筑工程施工合同（含补充协议）".into(), "已拍照".into()),
        ],
        pending: vec![("工程质量安全承诺书".into(), "2026-11-29".into())],
        note: "请于补交期限前将容缺材料原件送至3号窗口。".into(),
    }
}

fn progress() -> ProgressSlip {
    ProgressSlip {
        approval_code_grouped: "2026 1122 0000 0017".into(),
        item_name: "建筑工程施工许可证核发".into(),
        stage_name: "施工许可".into(),
        status_text: "部门开始办理".into(),
        nodes: vec![
            (
                "市住房和城乡建设局".into(),
                "办理中".into(),
                "2026-12-01".into(),
                None,
            ),
            (
                "市消防救援支队".into(),
                "已办结".into(),
                "2026-11-25".into(),
                Some(0),
            ),
            (
                "市人防办".into(),
                "办理中".into(),
                "2026-11-20".into(),
                Some(3),
            ),
        ],
        printed_at: "2026-11-25 14:05".into(),
    }
}

fn payment() -> PaymentReceipt {
    PaymentReceipt {
        payment_code: "42060026112200001234".into(),
        agency: "襄阳市自然资源和规划局".into(),
        lines: vec![
            ("城市基础设施配套费".into(), 1_200_000),
            ("人防易地建设费".into(), 350_050),
        ],
        total_fen: 1_550_050,
        transaction_id: "4200002611222026112212345678".into(),
        receipt_no: "HB42060020260001234".into(),
        paid_at: "2026-11-22 10:02:31".into(),
        e_receipt_url: "https://pjcy.example.invalid/v?c=HB42060020260001234&k=7Q2X".into(),
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check(name: &str, bytes: &[u8], paper: Paper) {
    let dir = golden_dir();
    let bin = dir.join(format!("{name}.bin"));
    let txt = dir.join(format!("{name}.txt"));
    let preview = preview_text(bytes, paper.columns());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&bin, bytes).unwrap();
        std::fs::write(&txt, &preview).unwrap();
    }
    let expected = std::fs::read(&bin)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", bin.display()));
    let expected_preview = std::fs::read_to_string(&txt).unwrap();
    assert_eq!(preview, expected_preview, "{name}: preview differs");
    assert!(
        bytes == expected,
        "{name}: bytes differ from {}",
        bin.display()
    );
}

fn fits(bytes: &[u8], paper: Paper) {
    for l in preview_lines(bytes)
        .into_iter()
        .filter(|l| l.kind == LineKind::Text)
    {
        assert!(
            l.columns() <= paper.columns(),
            "{paper:?}: `{}` takes {} columns",
            l.text,
            l.columns()
        );
    }
}

#[test]
fn submission_receipts() {
    for (paper, name) in [
        (Paper::Mm58, "submission-58"),
        (Paper::Mm80, "submission-80"),
    ] {
        let bytes = submission().render(paper);
        fits(&bytes, paper);
        let lines = preview_lines(&bytes);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(&"2026 1122 0000 0017"));
        assert!(texts.contains(&"[QR 2026112200000017]"));
        assert!(texts.contains(&"[CODE128 2026112200000017]"));
        assert!(texts.contains(&"申请人：张**"));
        assert!(texts.contains(&"证件号码：420***********0012"));
        assert!(texts.iter().any(|t| t.contains("补交期限：2026-11-29")));
        assert_eq!(texts.last(), Some(&"[CUT]"));
        // The code is large: double height, double width where it fits.
        let code = lines
            .iter()
            .find(|l| l.text == "2026 1122 0000 0017")
            .unwrap();
        assert_eq!(code.width, if paper == Paper::Mm80 { 2 } else { 1 });
        check(name, &bytes, paper);
    }
}

#[test]
fn progress_slips() {
    for (paper, name) in [(Paper::Mm58, "progress-58"), (Paper::Mm80, "progress-80")] {
        let bytes = progress().render(paper);
        fits(&bytes, paper);
        let text = preview_text(&bytes, paper.columns());
        assert!(text.contains("已超期 3 个工作日"));
        assert!(
            !text.contains("已超期 0"),
            "on-time nodes say nothing about lateness"
        );
        check(name, &bytes, paper);
    }
}

#[test]
fn payment_receipts() {
    for (paper, name) in [(Paper::Mm58, "payment-58"), (Paper::Mm80, "payment-80")] {
        let bytes = payment().render(paper);
        fits(&bytes, paper);
        let text = preview_text(&bytes, paper.columns());
        assert!(text.contains("12,000.00"));
        assert!(text.contains("3,500.50"));
        assert!(text.contains("￥15,500.50"));
        assert!(text.contains("大写：壹万伍仟伍佰元零伍角"));
        assert!(text.contains("缴款码：4206 0026 1122 0000 1234"));
        assert!(text.contains("[QR https://pjcy.example.invalid/v?c=HB42060020260001234&k=7Q2X]"));
        check(name, &bytes, paper);
    }
}

#[test]
fn chinese_is_sent_as_gb18030_between_fs_and_fs_dot() {
    let bytes = payment().render(Paper::Mm80);
    // Every FS & has its FS . and no byte >= 0x80 stands outside such a run.
    let mut chinese = false;
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (0x1C, Some(0x26)) => {
                assert!(!chinese);
                chinese = true;
                i += 2;
                continue;
            }
            (0x1C, Some(0x2E)) => {
                assert!(chinese);
                chinese = false;
                i += 2;
                continue;
            }
            (0x1D, Some(0x28)) => {
                // GS ( k: skip its arguments.
                let len = usize::from(bytes[i + 3]) + 256 * usize::from(bytes[i + 4]);
                i += 5 + len;
                continue;
            }
            (b, _) if b >= 0x80 => assert!(chinese, "byte {b:02X} at {i} outside Chinese mode"),
            _ => {}
        }
        i += 1;
    }
    assert!(!chinese);
    // The agency's name in GB18030 is in the job.
    let (agency, _, _) = encoding_rs::GB18030.encode("襄阳市自然资源和规划局");
    assert!(bytes.windows(agency.len()).any(|w| w == &agency[..]));
    assert!(display_width("襄阳市自然资源和规划局") == 22);
}
