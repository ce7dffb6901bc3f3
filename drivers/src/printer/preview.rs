//! Reads ESC/POS bytes back into lines of text, as the paper would show them: for tests, for
//! reviewing golden files, and for the simulator's on-screen receipt.
//!
//! It understands the commands [`super::escpos::EscPos`] emits; other `ESC`/`GS`/`FS`
//! sequences are skipped by their usual length. It never fails: unknown bytes are dropped.

use super::escpos::{Align, display_width};

/// What a printed line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Text,
    /// `text` is `[QR data]`.
    Qr,
    /// `text` is `[CODE128 data]`.
    Barcode,
    /// `text` is `[CUT]`.
    Cut,
    /// A raster line (`GS v 0`): `text` is `[IMAGE width×height]` in dots.
    Image,
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    pub kind: LineKind,
    pub text: String,
    pub align: Align,
    pub bold: bool,
    /// Width multiplier in force (1 normal, 2 double…).
    pub width: u8,
}

impl PreviewLine {
    /// Columns the line's text takes on paper (character widths times the size multiplier);
    /// 0 for codes and cuts.
    pub fn columns(&self) -> usize {
        match self.kind {
            LineKind::Text => display_width(&self.text) * usize::from(self.width),
            _ => 0,
        }
    }
}

#[derive(Default)]
struct State {
    lines: Vec<PreviewLine>,
    text: String,
    gb: Vec<u8>,
    chinese: bool,
    align: Option<Align>,
    bold: bool,
    width: u8,
    qr: Vec<u8>,
}

impl State {
    fn flush_gb(&mut self) {
        if !self.gb.is_empty() {
            let (s, _) = encoding_rs::GB18030.decode_without_bom_handling(&self.gb);
            self.text.push_str(&s);
            self.gb.clear();
        }
    }

    fn end_line(&mut self) {
        self.end_line_as(LineKind::Text);
    }

    fn end_line_as(&mut self, kind: LineKind) {
        self.flush_gb();
        let text = std::mem::take(&mut self.text);
        self.lines.push(PreviewLine {
            kind,
            text,
            align: self.align.unwrap_or(Align::Left),
            bold: self.bold,
            width: self.width.max(1),
        });
    }

    fn marker(&mut self, kind: LineKind, text: String) {
        if !self.text.is_empty() || !self.gb.is_empty() {
            self.end_line();
        }
        self.text = text;
        self.end_line_as(kind);
    }
}

/// The lines the bytes print. QR codes show as `[QR data]`, barcodes as `[CODE128 data]`, a
/// cut as `[CUT]`.
pub fn preview_lines(bytes: &[u8]) -> Vec<PreviewLine> {
    let mut st = State {
        width: 1,
        ..State::default()
    };
    let at = |i: usize| bytes.get(i).copied();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0A => {
                st.end_line();
                i += 1;
            }
            0x10 if at(i + 1) == Some(0x04) => i += 3,
            0x1B => match at(i + 1) {
                Some(b'@') => {
                    st.flush_gb();
                    st.align = None;
                    st.bold = false;
                    st.width = 1;
                    st.chinese = false;
                    i += 2;
                }
                Some(b'a') => {
                    st.align = Some(match at(i + 2) {
                        Some(1 | b'1') => Align::Center,
                        Some(2 | b'2') => Align::Right,
                        _ => Align::Left,
                    });
                    i += 3;
                }
                Some(b'E') => {
                    st.bold = at(i + 2).is_some_and(|n| n & 1 == 1);
                    i += 3;
                }
                Some(b'd') => {
                    if !st.text.is_empty() || !st.gb.is_empty() {
                        st.end_line();
                    }
                    for _ in 0..at(i + 2).unwrap_or(0) {
                        st.end_line();
                    }
                    i += 3;
                }
                _ => i += 3,
            },
            0x1D => match at(i + 1) {
                Some(b'!') => {
                    st.width = (at(i + 2).unwrap_or(0) >> 4) + 1;
                    i += 3;
                }
                Some(b'V') => {
                    st.marker(LineKind::Cut, "[CUT]".to_string());
                    i += if matches!(at(i + 2), Some(65 | 66 | 97 | 98)) {
                        4
                    } else {
                        3
                    };
                }
                Some(b'(') => {
                    let pl = usize::from(at(i + 3).unwrap_or(0));
                    let ph = usize::from(at(i + 4).unwrap_or(0));
                    let len = pl + ph * 256;
                    let start = i + 5;
                    let end = (start + len).min(bytes.len());
                    let args = &bytes[start.min(end)..end];
                    if at(i + 2) == Some(b'k') && args.first() == Some(&49) {
                        match args.get(1) {
                            Some(80) => st.qr = args.get(3..).unwrap_or(&[]).to_vec(),
                            Some(81) => {
                                let data = String::from_utf8_lossy(&st.qr).into_owned();
                                st.marker(LineKind::Qr, format!("[QR {data}]"));
                            }
                            _ => {}
                        }
                    }
                    i = end;
                }
                Some(b'v') if at(i + 2) == Some(b'0') => {
                    let w = usize::from(at(i + 4).unwrap_or(0))
                        + usize::from(at(i + 5).unwrap_or(0)) * 256;
                    let h = usize::from(at(i + 6).unwrap_or(0))
                        + usize::from(at(i + 7).unwrap_or(0)) * 256;
                    st.marker(LineKind::Image, format!("[IMAGE {}×{h}]", w * 8));
                    i = (i + 8).saturating_add(w * h).min(bytes.len());
                }
                Some(b'k') => {
                    let m = at(i + 2).unwrap_or(0);
                    if m >= 65 {
                        let n = usize::from(at(i + 3).unwrap_or(0));
                        let start = (i + 4).min(bytes.len());
                        let end = (start + n).min(bytes.len());
                        let raw = &bytes[start..end];
                        let mut data = Vec::new();
                        let mut j = 0;
                        let mut set_c = false;
                        while j < raw.len() {
                            if set_c && raw[j] != b'{' {
                                // Code set C: one byte per digit pair.
                                data.extend(format!("{:02}", raw[j]).bytes());
                                j += 1;
                            } else if raw[j] == b'{' {
                                set_c = raw.get(j + 1) == Some(&b'C');
                                if raw.get(j + 1) == Some(&b'{') {
                                    data.push(b'{');
                                }
                                j += 2;
                            } else {
                                data.push(raw[j]);
                                j += 1;
                            }
                        }
                        let name = if m == 73 { "CODE128" } else { "BARCODE" };
                        st.marker(
                            LineKind::Barcode,
                            format!("[{name} {}]", String::from_utf8_lossy(&data)),
                        );
                        i = end;
                    } else {
                        // NUL-terminated forms.
                        let end = bytes[(i + 3).min(bytes.len())..]
                            .iter()
                            .position(|&x| x == 0)
                            .map_or(bytes.len(), |p| i + 3 + p + 1);
                        i = end;
                    }
                }
                _ => i += 3,
            },
            0x1C => match at(i + 1) {
                Some(b'&') => {
                    st.chinese = true;
                    i += 2;
                }
                Some(b'.') => {
                    st.flush_gb();
                    st.chinese = false;
                    i += 2;
                }
                _ => i += 3,
            },
            0x20..=0x7E if !st.chinese || st.gb.is_empty() => {
                st.text.push(char::from(b));
                i += 1;
            }
            0x20..=0xFF if st.chinese => {
                st.gb.push(b);
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !st.text.is_empty() || !st.gb.is_empty() {
        st.end_line();
    }
    st.lines
}

/// The printed text, one line per line (alignment shown by leading spaces for `columns`).
pub fn preview_text(bytes: &[u8], columns: usize) -> String {
    let mut out = String::new();
    for l in preview_lines(bytes) {
        if l.text.is_empty() {
            out.push('\n');
            continue;
        }
        let w = match l.kind {
            LineKind::Text => l.columns(),
            _ => display_width(&l.text),
        };
        let pad = match l.align {
            Align::Left => 0,
            Align::Center => columns.saturating_sub(w) / 2,
            Align::Right => columns.saturating_sub(w),
        };
        out.push_str(&" ".repeat(pad));
        out.push_str(&l.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::escpos::EscPos;

    #[test]
    fn reads_back_what_the_builder_wrote() {
        let mut e = EscPos::new();
        e.init()
            .align(Align::Center)
            .double(true)
            .line("审批码")
            .double(false)
            .line("2026 1122")
            .align(Align::Left)
            .bold(true)
            .text("金额：")
            .text("12.00元")
            .newline();
        e.qr("https://e.invalid/r/1", 6).unwrap();
        e.code128("AB{C", 2, 60).unwrap();
        e.feed(1).cut();
        let lines = preview_lines(&e.finish());
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "审批码",
                "2026 1122",
                "金额：12.00元",
                "[QR https://e.invalid/r/1]",
                "[CODE128 AB{C]",
                "",
                "[CUT]"
            ]
        );
        assert_eq!(lines[0].width, 2);
        assert_eq!(lines[0].align, Align::Center);
        assert_eq!(lines[0].columns(), 12);
        assert!(lines[2].bold);
    }

    #[test]
    fn never_fails_on_truncated_commands() {
        for bytes in [
            &[0x1D, 0x28, 0x6B, 0xFF, 0xFF][..],
            &[0x1B],
            &[0x1D, 0x6B, 73, 200, b'{'],
            &[0x1C, 0x26, 0xC9],
            &[0x1D, 0x6B, 4, b'1'],
        ] {
            let _ = preview_lines(bytes);
        }
    }
}
