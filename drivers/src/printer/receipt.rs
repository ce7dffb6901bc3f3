//! The kiosk's receipts, laid out by pure code from plain structs for 58 mm and 80 mm paper.
//!
//! Every receipt that carries an approval code prints it three ways: as text grouped by four
//! (large, to read aloud or type), as a QR code (for the kiosk camera and phones) and as a
//! Code128 barcode (for the hall's barcode scanners). Personal data arrives masked.

use hall_domain::codes::group_by_four;
use hall_domain::money::{capitals, yuan};

use super::escpos::{
    Align, EscPos, Paper, code128_dots, code128_symbols, display_width, qr_module_to_fit,
    two_columns, wrap,
};
use super::raster::RasterFallback;

/// Receipt for a submitted application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionReceipt {
    pub hall_name: String,
    pub kiosk_id: String,
    pub item_name: String,
    /// `2026 1122 0000 0017`
    pub approval_code_grouped: String,
    /// `2026112200000017`
    pub approval_code: String,
    /// Already masked (张**).
    pub applicant_masked: String,
    /// Already masked (420***********0012).
    pub id_number_masked: String,
    pub project_name: String,
    pub submitted_at: String,
    pub due_date: String,
    /// (material name, status text)
    pub materials: Vec<(String, String)>,
    /// 容缺 materials still to bring: (material name, deadline)
    pub pending: Vec<(String, String)>,
    pub note: String,
}

/// Progress of a case, printed on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressSlip {
    pub approval_code_grouped: String,
    pub item_name: String,
    pub stage_name: String,
    pub status_text: String,
    /// (department, status, due date, working days late)
    pub nodes: Vec<(String, String, String, Option<u32>)>,
    pub printed_at: String,
}

/// Receipt of a paid fee notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReceipt {
    /// The 20-digit 缴款码.
    pub payment_code: String,
    pub agency: String,
    /// (item, amount in fen)
    pub lines: Vec<(String, i64)>,
    pub total_fen: i64,
    pub transaction_id: String,
    pub receipt_no: String,
    pub paid_at: String,
    /// Link to the electronic receipt (电子票据); printed as a QR code when present.
    pub e_receipt_url: String,
}

/// `label：value`, the value wrapped with a hanging indent under itself.
fn kv(e: &mut EscPos, label: &str, value: &str, columns: usize) {
    let head = format!("{label}：");
    let indent = display_width(&head);
    if indent + 8 > columns {
        e.wrapped(&format!("{head}{value}"), columns);
        return;
    }
    let lines = wrap(value, columns - indent);
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            e.line(&format!("{head}{l}"));
        } else {
            e.line(&format!("{}{l}", " ".repeat(indent)));
        }
    }
}

fn two(e: &mut EscPos, left: &str, right: &str, columns: usize) {
    for l in two_columns(left, right, columns) {
        e.line(&l);
    }
}

/// The approval code as large text, QR code and Code128.
fn approval_code_block(e: &mut EscPos, grouped: &str, code: &str, paper: Paper) {
    let cols = paper.columns();
    e.align(Align::Center).line("审批码");
    // Double width where it fits, else tall only.
    let wide = display_width(grouped) * 2 <= cols;
    e.bold(true)
        .size(if wide { 2 } else { 1 }, 2)
        .line(grouped)
        .size(1, 1)
        .bold(false);
    match qr_module_to_fit(code, paper.dots(), paper.qr_module()) {
        Some(module) => {
            if e.qr(code, module).is_err() {
                tracing::warn!("approval code too long for this printer's QR code");
            }
        }
        None => tracing::warn!("approval code's QR code would not fit the paper"),
    }
    e.newline();
    let module = paper.barcode_module();
    if code128_dots(code128_symbols(code), module) > paper.dots() {
        tracing::warn!("approval code's Code128 would not fit the paper");
    } else if e.code128(code, module, 64).is_err() {
        tracing::warn!("approval code cannot be printed as Code128");
    } else {
        e.newline();
    }
    e.align(Align::Left);
}

/// Large centred lines: double size where they fit, else double height only (so that a
/// long hall name is not broken in the middle of a word).
fn title(e: &mut EscPos, lines: &[&str], paper: Paper) {
    let cols = paper.columns();
    e.align(Align::Center).bold(true);
    for l in lines {
        if display_width(l) * 2 <= cols {
            e.size(2, 2).line(l);
        } else {
            e.size(1, 2).wrapped(l, cols);
        }
    }
    e.size(1, 1).bold(false);
}

fn end(e: &mut EscPos) -> Vec<u8> {
    e.feed(4).cut();
    e.finish()
}

impl SubmissionReceipt {
    pub fn render(&self, paper: Paper) -> Vec<u8> {
        self.render_with(paper, None)
    }

    /// As `render`, drawing characters outside the printer's font with the fallback.
    pub fn render_with(&self, paper: Paper, fallback: Option<&RasterFallback>) -> Vec<u8> {
        let cols = paper.columns();
        let mut e = EscPos::with_fallback(paper, fallback.cloned());
        e.init();
        title(&mut e, &[&self.hall_name], paper);
        e.bold(true).line("工程建设项目审批 申请回执").bold(false);
        e.align(Align::Left).rule(cols);
        approval_code_block(
            &mut e,
            &self.approval_code_grouped,
            &self.approval_code,
            paper,
        );
        e.rule(cols);
        kv(&mut e, "办理事项", &self.item_name, cols);
        kv(&mut e, "项目名称", &self.project_name, cols);
        kv(&mut e, "申请人", &self.applicant_masked, cols);
        kv(&mut e, "证件号码", &self.id_number_masked, cols);
        kv(&mut e, "提交时间", &self.submitted_at, cols);
        kv(&mut e, "承诺办结", &self.due_date, cols);
        if !self.materials.is_empty() {
            e.rule(cols).bold(true).line("已提交材料").bold(false);
            for (i, (name, status)) in self.materials.iter().enumerate() {
                two(&mut e, &format!("{}. {name}", i + 1), status, cols);
            }
        }
        if !self.pending.is_empty() {
            e.rule(cols)
                .bold(true)
                .wrapped("容缺材料（请在期限前补交）", cols)
                .bold(false);
            for (i, (name, deadline)) in self.pending.iter().enumerate() {
                e.wrapped(&format!("{}. {name}", i + 1), cols);
                two(&mut e, "", &format!("补交期限：{deadline}"), cols);
            }
        }
        e.rule(cols);
        if !self.note.trim().is_empty() {
            e.wrapped(self.note.trim(), cols);
        }
        e.wrapped(
            "凭审批码可在自助机或网上查询办理进度，请妥善保管本回执。",
            cols,
        );
        kv(&mut e, "终端编号", &self.kiosk_id, cols);
        end(&mut e)
    }
}

impl ProgressSlip {
    /// The approval code without the grouping spaces.
    pub fn approval_code(&self) -> String {
        self.approval_code_grouped
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    pub fn render(&self, paper: Paper) -> Vec<u8> {
        self.render_with(paper, None)
    }

    /// As `render`, drawing characters outside the printer's font with the fallback.
    pub fn render_with(&self, paper: Paper, fallback: Option<&RasterFallback>) -> Vec<u8> {
        let cols = paper.columns();
        let mut e = EscPos::with_fallback(paper, fallback.cloned());
        e.init();
        title(&mut e, &["办理进度查询单"], paper);
        e.align(Align::Left).rule(cols);
        approval_code_block(
            &mut e,
            &self.approval_code_grouped,
            &self.approval_code(),
            paper,
        );
        e.rule(cols);
        kv(&mut e, "办理事项", &self.item_name, cols);
        kv(&mut e, "所处阶段", &self.stage_name, cols);
        e.bold(true);
        kv(&mut e, "办理状态", &self.status_text, cols);
        e.bold(false);
        if !self.nodes.is_empty() {
            e.rule(cols).bold(true).line("各部门办理情况").bold(false);
            for (i, (dept, status, due, late)) in self.nodes.iter().enumerate() {
                e.wrapped(&format!("{}. {dept}", i + 1), cols);
                two(
                    &mut e,
                    &format!("   {status}"),
                    &format!("时限 {due}"),
                    cols,
                );
                if let Some(days) = late.filter(|d| *d > 0) {
                    e.bold(true)
                        .line(&format!("   已超期 {days} 个工作日"))
                        .bold(false);
                }
            }
        }
        e.rule(cols);
        kv(&mut e, "打印时间", &self.printed_at, cols);
        e.wrapped("本单仅供参考，办理结果以审批部门正式文书为准。", cols);
        end(&mut e)
    }
}

impl PaymentReceipt {
    pub fn render(&self, paper: Paper) -> Vec<u8> {
        self.render_with(paper, None)
    }

    /// As `render`, drawing characters outside the printer's font with the fallback.
    pub fn render_with(&self, paper: Paper, fallback: Option<&RasterFallback>) -> Vec<u8> {
        let cols = paper.columns();
        let sum: i64 = self.lines.iter().map(|(_, f)| *f).sum();
        if sum != self.total_fen {
            tracing::warn!(
                sum,
                total = self.total_fen,
                "payment lines do not add up to the total"
            );
        }
        let mut e = EscPos::with_fallback(paper, fallback.cloned());
        e.init();
        title(&mut e, &["缴费回执"], paper);
        e.line("非税收入缴款").align(Align::Left).rule(cols);
        kv(&mut e, "缴款码", &group_by_four(&self.payment_code), cols);
        kv(&mut e, "执收单位", &self.agency, cols);
        e.rule(cols);
        two(&mut e, "缴费项目", "金额（元）", cols);
        for (name, fen) in &self.lines {
            two(&mut e, name, &yuan(*fen), cols);
        }
        e.rule(cols).bold(true);
        two(&mut e, "合计", &format!("￥{}", yuan(self.total_fen)), cols);
        e.bold(false);
        kv(&mut e, "大写", &capitals(self.total_fen), cols);
        e.rule(cols);
        kv(&mut e, "交易流水号", &self.transaction_id, cols);
        kv(&mut e, "票据号码", &self.receipt_no, cols);
        kv(&mut e, "缴费时间", &self.paid_at, cols);
        if !self.e_receipt_url.is_empty() {
            e.rule(cols).align(Align::Center).line("扫码查看电子票据");
            if let Some(module) =
                qr_module_to_fit(&self.e_receipt_url, paper.dots(), paper.qr_module())
                && e.qr(&self.e_receipt_url, module).is_ok()
            {
                e.newline();
            } else {
                e.align(Align::Left).wrapped(&self.e_receipt_url, cols);
            }
            e.align(Align::Left);
        }
        end(&mut e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::preview::preview_lines;

    fn slip() -> ProgressSlip {
        ProgressSlip {
            approval_code_grouped: "2026 1122 0000 0017".into(),
            item_name: "建筑工程施工许可证核发".into(),
            stage_name: "施工许可".into(),
            status_text: "部门开始办理".into(),
            nodes: vec![
                ("住建局".into(), "办理中".into(), "2026-12-01".into(), None),
                ("消防".into(), "已超期".into(), "2026-11-20".into(), Some(2)),
            ],
            printed_at: "2026-11-25 10:30".into(),
        }
    }

    #[test]
    fn progress_slip_carries_the_code_three_ways() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let lines = preview_lines(&slip().render(paper));
            let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            assert!(texts.contains(&"2026 1122 0000 0017"));
            assert!(texts.contains(&"[QR 2026112200000017]"));
            assert!(texts.contains(&"[CODE128 2026112200000017]"));
            assert!(texts.contains(&"   已超期 2 个工作日"));
            assert_eq!(texts.last(), Some(&"[CUT]"));
            for l in &lines {
                assert!(l.columns() <= paper.columns(), "{paper:?}: {l:?}");
            }
        }
    }

    #[test]
    fn payment_total_in_figures_and_capitals() {
        let r = PaymentReceipt {
            payment_code: "42000026112200001234".into(),
            agency: "襄阳市自然资源和规划局".into(),
            lines: vec![("城市基础设施配套费".into(), 12_000)],
            total_fen: 12_000,
            transaction_id: "T1".into(),
            receipt_no: "R1".into(),
            paid_at: "2026-11-25 10:31".into(),
            e_receipt_url: String::new(),
        };
        let lines = preview_lines(&r.render(Paper::Mm58));
        let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
        assert!(texts.contains(&"缴款码：4200 0026 1122 0000 1234".to_string()));
        assert!(texts.contains(&"大写：壹佰贰拾元整".to_string()));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("合计") && t.ends_with("￥120.00"))
        );
        assert!(
            !texts.iter().any(|t| t.starts_with("[QR")),
            "no link, no QR"
        );
    }

    #[test]
    fn long_values_wrap_under_themselves() {
        let mut e = EscPos::new();
        kv(&mut e, "项目名称", &"长".repeat(20), 32);
        let lines = preview_lines(&e.finish());
        assert_eq!(lines[0].text, format!("项目名称：{}", "长".repeat(11)));
        assert_eq!(
            lines[1].text,
            format!("{}{}", " ".repeat(10), "长".repeat(9))
        );
    }
}

/// Sample receipts with demo data (`hall-kiosk diag print-sample`, bench rigs). No real
/// person: the names and numbers are the demo hall's.
pub mod demo {
    use super::{PaymentReceipt, ProgressSlip, SubmissionReceipt};

    pub fn submission() -> SubmissionReceipt {
        SubmissionReceipt {
            hall_name: "襄阳市政务服务中心".into(),
            kiosk_id: "DIAG".into(),
            item_name: "建筑工程施工许可证核发".into(),
            approval_code_grouped: "2026 1102 0000 0118".into(),
            approval_code: "2026110200000118".into(),
            applicant_masked: "张**".into(),
            id_number_masked: "420***********0011".into(),
            project_name: "襄阳市樊城区人民路安置小区二期工程".into(),
            submitted_at: "2026-11-02 09:41".into(),
            due_date: "2026-11-11（7个工作日）".into(),
            materials: vec![
                ("建设工程规划许可证".into(), "已拍照".into()),
                ("施工图审查合格书".into(), "已拍照".into()),
            ],
            pending: vec![("工程质量安全承诺书".into(), "2026-11-09".into())],
            note: "诊断打印样张 (diagnostic sample)".into(),
        }
    }

    pub fn progress() -> ProgressSlip {
        ProgressSlip {
            approval_code_grouped: "2026 1102 0000 0118".into(),
            item_name: "建筑工程施工许可证核发".into(),
            stage_name: "施工许可".into(),
            status_text: "部门开始办理".into(),
            nodes: vec![
                (
                    "市住房和城乡建设局".into(),
                    "办理中".into(),
                    "2026-11-11".into(),
                    None,
                ),
                (
                    "市人防办".into(),
                    "办理中".into(),
                    "2026-11-06".into(),
                    Some(2),
                ),
            ],
            printed_at: "2026-11-10 14:05".into(),
        }
    }

    pub fn payment() -> PaymentReceipt {
        PaymentReceipt {
            payment_code: "42060026110200000183".into(),
            agency: "襄阳市自然资源和规划局".into(),
            lines: vec![("城市基础设施配套费".into(), 1_200_000)],
            total_fen: 1_200_000,
            transaction_id: "4200002611022026110212345678".into(),
            receipt_no: "HB42060020260000183".into(),
            paid_at: "2026-11-02 10:02:31".into(),
            e_receipt_url: "https://pjcy.example.invalid/v?c=HB42060020260000183".into(),
        }
    }

    #[cfg(test)]
    mod tests {
        use crate::printer::Paper;
        use crate::printer::preview::preview_text;

        #[test]
        fn samples_render_on_both_papers() {
            for paper in [Paper::Mm58, Paper::Mm80] {
                for bytes in [
                    super::submission().render(paper),
                    super::progress().render(paper),
                    super::payment().render(paper),
                ] {
                    let text = preview_text(&bytes, paper.columns());
                    assert!(text.contains("审批") || text.contains("缴款"), "{text}");
                }
            }
        }
    }
}
