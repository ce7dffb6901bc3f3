//! A pure ESC/POS byte builder for Chinese receipt printers.
//!
//! Text is split into runs: ASCII goes as is; every other run is sent in Chinese mode
//! (`FS &` … `FS .`) as GB18030. Control characters in text are dropped so that text from
//! elsewhere can never become a printer command.
//!
//! Widths follow the printer's fonts: an ASCII character takes one column (12 dots), every
//! character printed in Chinese mode two (24 dots), on 58 mm paper 32 columns and on 80 mm 48.

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;
const LF: u8 = 0x0A;

pub use super::layout::{Align, char_width, display_width};
use super::raster::{FontCharset, LineStyle, RasterFallback, draw_line};

/// Paper widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paper {
    Mm58,
    Mm80,
}

impl Paper {
    /// Columns of normal-size ASCII text.
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }

    /// Printable dots across.
    pub fn dots(self) -> usize {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// Narrow-bar width (GS w, 2–6 dots on Epson-compatible printers) for Code128, so that a
    /// 16-digit code (code set C) fits with its quiet zones.
    pub fn barcode_module(self) -> u8 {
        match self {
            Paper::Mm58 => 2,
            Paper::Mm80 => 3,
        }
    }

    /// QR module size (GS ( k fn 67) in dots.
    pub fn qr_module(self) -> u8 {
        match self {
            Paper::Mm58 => 5,
            Paper::Mm80 => 6,
        }
    }

    pub fn from_mm(mm: u32) -> Option<Paper> {
        match mm {
            58 => Some(Paper::Mm58),
            80 => Some(Paper::Mm80),
            _ => None,
        }
    }
}

/// QR error correction levels (`GS ( k` fn 69: 48–51).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum QrLevel {
    L = 48,
    M = 49,
    Q = 50,
    H = 51,
}

/// What the builder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscPosError {
    #[error("QR data of {0} bytes is more than a QR code at level M holds")]
    QrTooLong(usize),
    #[error("QR data is empty")]
    QrEmpty,
    #[error("QR module size {0} (1 to 16)")]
    QrModule(u8),
    #[error("barcode data must be 1 to 250 printable ASCII characters")]
    BarcodeData,
}

/// Byte capacity of a version-40 QR code at error level M (ISO/IEC 18004). Printers may take
/// less in one store command (one model stops at 1020 bytes): [`EscPos::set_qr_max_bytes`].
pub const QR_MAX_BYTES_M: usize = 2331;

/// The smallest QR version (1–40) whose byte mode holds `data` at error level M, as the
/// printer encodes a store command's data.
pub fn qr_version(data: &[u8]) -> Option<i16> {
    use qrcode::bits::Bits;
    (1..=40).find(|&v| {
        let mut bits = Bits::new(qrcode::Version::Normal(v));
        bits.push_byte_data(data).is_ok() && bits.push_terminator(qrcode::EcLevel::M).is_ok()
    })
}

/// The largest module size up to `preferred` at which the QR code of `data` fits `width_dots`
/// with its 4-module quiet zones; `None` when it does not fit even at one dot per module (a
/// symbol wider than the paper is not printed at all).
pub fn qr_module_to_fit(data: &str, width_dots: usize, preferred: u8) -> Option<u8> {
    let version = usize::try_from(qr_version(data.as_bytes())?).ok()?;
    let modules = 17 + 4 * version + 8;
    (1..=preferred.min(16))
        .rev()
        .find(|m| modules * usize::from(*m) <= width_dots)
}

fn is_closing_punct(c: char) -> bool {
    "，。、；：！？）」』》〉”’・…%,.;:!?)".contains(c)
}

/// Wraps text to `columns` (ASCII words are kept whole when they fit on a line; CJK breaks
/// anywhere, without starting a line with closing punctuation when it can be helped).
/// Newlines in the text start new lines.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let first_line = lines.len();
        let mut line = String::new();
        let mut width = 0usize;
        let chars: Vec<char> = para
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii() && c != ' ' {
                // An ASCII word.
                let end = chars[i..]
                    .iter()
                    .position(|c| !c.is_ascii() || *c == ' ')
                    .map_or(chars.len(), |p| i + p);
                let word: String = chars[i..end].iter().collect();
                let ww = end - i;
                if width + ww <= columns {
                    line.push_str(&word);
                    width += ww;
                } else if ww <= columns {
                    lines.push(line.trim_end().to_string());
                    line = word;
                    width = ww;
                } else {
                    for ch in word.chars() {
                        if width + 1 > columns {
                            lines.push(std::mem::take(&mut line));
                            width = 0;
                        }
                        line.push(ch);
                        width += 1;
                    }
                }
                i = end;
                continue;
            }
            let w = char_width(c);
            if c == ' ' {
                // Spaces are kept inside a line and at the start of a paragraph (indent), not
                // at the start of a continuation line.
                if (width > 0 || lines.len() == first_line) && width < columns {
                    line.push(' ');
                    width += 1;
                }
                i += 1;
                continue;
            }
            if width + w > columns {
                let mut carry = String::new();
                if is_closing_punct(c) {
                    // Take the previous character along so the line does not start with 。
                    if let Some(prev) = line.chars().last()
                        && !prev.is_ascii()
                        && !is_closing_punct(prev)
                        && line.chars().count() > 1
                        && char_width(prev) + w <= columns
                    {
                        line.pop();
                        carry.push(prev);
                    }
                }
                lines.push(line.trim_end().to_string());
                width = display_width(&carry);
                line = carry;
            }
            line.push(c);
            width += w;
            i += 1;
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Pads or truncates nothing: puts `left` and `right` on one line of `columns`, right-aligned,
/// or on two lines when they do not fit together.
pub fn two_columns(left: &str, right: &str, columns: usize) -> Vec<String> {
    let mut out = wrap(left, columns);
    let rw = display_width(right);
    let last = out.pop().unwrap_or_default();
    let lw = display_width(&last);
    if lw + 1 + rw <= columns || (lw == 0 && rw <= columns) {
        out.push(format!("{last}{}{right}", " ".repeat(columns - lw - rw)));
    } else {
        if !last.is_empty() {
            out.push(last);
        }
        for r in wrap(right, columns) {
            let pad = columns.saturating_sub(display_width(&r));
            out.push(format!("{}{r}", " ".repeat(pad)));
        }
    }
    out
}

/// Whether Code128 carries `data` in code set C (digit pairs): all digits, an even number.
fn code128_set_c(data: &str) -> bool {
    !data.is_empty() && data.len().is_multiple_of(2) && data.bytes().all(|b| b.is_ascii_digit())
}

/// The Code128 symbol characters `data` takes (code set C for digit pairs, B otherwise).
pub fn code128_symbols(data: &str) -> usize {
    if code128_set_c(data) {
        data.len() / 2
    } else {
        data.len()
    }
}

/// Dots a Code128 symbol of `chars` symbol characters takes with `module`-dot bars, including
/// the 10-module quiet zones.
pub fn code128_dots(chars: usize, module: u8) -> usize {
    // start 11 + 11 per character + check 11 + stop 13, quiet zones 2 × 10
    (11 * (chars + 2) + 13 + 20) * usize::from(module)
}

/// The byte builder. Methods chain; [`EscPos::finish`] gives the job.
#[derive(Debug, Clone)]
pub struct EscPos {
    buf: Vec<u8>,
    /// How characters outside the printer's font are printed (none: as a box character).
    fallback: Option<RasterFallback>,
    paper_dots: usize,
    style: LineStyle,
    /// Where the last raster line ended in `buf`: a line end right there is already done (an
    /// image ends its line by itself).
    image_end: Option<usize>,
    /// The most data one QR store command takes on this printer.
    qr_max_bytes: usize,
}

impl Default for EscPos {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            fallback: None,
            paper_dots: Paper::Mm80.dots(),
            style: DEFAULT_STYLE,
            image_end: None,
            qr_max_bytes: QR_MAX_BYTES_M,
        }
    }
}

const DEFAULT_STYLE: LineStyle = LineStyle {
    width: 1,
    height: 1,
    bold: false,
    align: Align::Left,
};

/// Printed in place of a character outside the printer's font when no font to draw it with
/// was given: a visible box (in GB2312), never `?`.
const MISSING: char = '□';

impl EscPos {
    pub fn new() -> Self {
        Self::default()
    }

    /// A printer whose QR store command takes at most `bytes` (never more than the standard's
    /// [`QR_MAX_BYTES_M`]).
    pub fn set_qr_max_bytes(&mut self, bytes: usize) -> &mut Self {
        self.qr_max_bytes = bytes.min(QR_MAX_BYTES_M);
        self
    }

    /// A builder for `paper` that prints lines holding characters outside the printer's font
    /// as raster images drawn with the fallback's font.
    pub fn with_fallback(paper: Paper, fallback: Option<RasterFallback>) -> Self {
        Self {
            fallback,
            paper_dots: paper.dots(),
            ..Self::default()
        }
    }

    /// `ESC @`: resets modes (alignment, bold, size) to the printer's defaults.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'@']);
        self.style = DEFAULT_STYLE;
        self
    }

    /// `ESC a n`.
    pub fn align(&mut self, a: Align) -> &mut Self {
        let n = match a {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        self.buf.extend_from_slice(&[ESC, b'a', n]);
        self.style.align = a;
        self
    }

    /// `ESC E n`.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self.style.bold = on;
        self
    }

    /// Double width and height (see [`EscPos::size`]).
    pub fn double(&mut self, on: bool) -> &mut Self {
        if on { self.size(2, 2) } else { self.size(1, 1) }
    }

    /// Character size: `width` and `height` multipliers 1–8 as `GS ! n` for ASCII, and
    /// `FS ! n` (double width bit 2, double height bit 3) for Chinese mode, since some printers
    /// size Chinese characters only by the latter.
    pub fn size(&mut self, width: u8, height: u8) -> &mut Self {
        let w = width.clamp(1, 8) - 1;
        let h = height.clamp(1, 8) - 1;
        let fs = if w > 0 { 0x04 } else { 0 } | if h > 0 { 0x08 } else { 0 };
        self.buf
            .extend_from_slice(&[GS, b'!', (w << 4) | h, FS, b'!', fs]);
        self.style.width = w + 1;
        self.style.height = h + 1;
        self
    }

    /// Text without a line end. `\n` ends a line; other control characters are dropped.
    ///
    /// A segment (up to a line end) holding a character outside the printer's font is printed
    /// as one raster image when the builder has a fallback font; the image ends its line.
    pub fn text(&mut self, s: &str) -> &mut Self {
        let mut segments = s.split('\n').peekable();
        while let Some(segment) = segments.next() {
            self.segment(segment);
            if segments.peek().is_some() {
                self.end_line();
            }
        }
        self
    }

    fn end_line(&mut self) {
        if self.image_end.take() != Some(self.buf.len()) {
            self.buf.push(LF);
        }
    }

    fn segment(&mut self, s: &str) {
        let clean: String = s
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        if clean.is_empty() {
            return;
        }
        let charset = self
            .fallback
            .as_ref()
            .map_or(FontCharset::Gbk, |f| f.charset);
        if clean.chars().all(|c| charset.has(c)) {
            self.runs(&clean);
            return;
        }
        match &self.fallback {
            Some(fb) => {
                let image = draw_line(&fb.font, &clean, self.style, self.paper_dots);
                // The image spans the paper with the alignment drawn in: print it left-aligned.
                self.buf.extend_from_slice(&[ESC, b'a', 0]);
                self.buf.extend_from_slice(&image.to_escpos());
                let n = match self.style.align {
                    Align::Left => 0,
                    Align::Center => 1,
                    Align::Right => 2,
                };
                self.buf.extend_from_slice(&[ESC, b'a', n]);
                self.image_end = Some(self.buf.len());
            }
            None => {
                let missing = clean.chars().filter(|c| !charset.has(*c)).count();
                tracing::warn!(
                    missing,
                    "characters outside the printer's font and no font to draw them"
                );
                let shown: String = clean
                    .chars()
                    .map(|c| if charset.has(c) { c } else { MISSING })
                    .collect();
                self.runs(&shown);
            }
        }
    }

    /// ASCII as is, everything else in Chinese mode.
    fn runs(&mut self, s: &str) {
        let mut ascii = String::new();
        let mut other = String::new();
        for c in s.chars() {
            if c.is_ascii() {
                if !other.is_empty() {
                    self.chinese(&other);
                    other.clear();
                }
                ascii.push(c);
            } else {
                if !ascii.is_empty() {
                    self.buf.extend_from_slice(ascii.as_bytes());
                    ascii.clear();
                }
                other.push(c);
            }
        }
        if !ascii.is_empty() {
            self.buf.extend_from_slice(ascii.as_bytes());
        }
        if !other.is_empty() {
            self.chinese(&other);
        }
    }

    /// One run of non-ASCII text in Chinese mode, GB18030-encoded.
    fn chinese(&mut self, run: &str) {
        self.buf.extend_from_slice(&[FS, b'&']);
        let mut tmp = [0u8; 4];
        for c in run.chars() {
            let (bytes, _, _) = encoding_rs::GB18030.encode(c.encode_utf8(&mut tmp));
            self.buf.extend_from_slice(&bytes);
        }
        self.buf.extend_from_slice(&[FS, b'.']);
    }

    /// Text and a line feed.
    pub fn line(&mut self, s: &str) -> &mut Self {
        self.text(s);
        self.end_line();
        self
    }

    /// Each line of [`wrap`]ped text.
    pub fn wrapped(&mut self, s: &str, columns: usize) -> &mut Self {
        for l in wrap(s, columns) {
            self.line(&l);
        }
        self
    }

    /// A ruler of `-` across the paper.
    pub fn rule(&mut self, columns: usize) -> &mut Self {
        self.line(&"-".repeat(columns))
    }

    pub fn newline(&mut self) -> &mut Self {
        self.buf.push(LF);
        self
    }

    /// `ESC d n`: prints and feeds `n` lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// A QR code: model 2, `module` dots per module, error level M, then store and print.
    pub fn qr(&mut self, data: &str, module: u8) -> Result<&mut Self, EscPosError> {
        self.qr_at(data, module, QrLevel::M)
    }

    /// A QR code at an error correction level (`GS ( k` fn 65, 67, 69, 80, 81).
    pub fn qr_at(
        &mut self,
        data: &str,
        module: u8,
        level: QrLevel,
    ) -> Result<&mut Self, EscPosError> {
        if data.is_empty() {
            return Err(EscPosError::QrEmpty);
        }
        if data.len() > self.qr_max_bytes.min(QR_MAX_BYTES_M) {
            return Err(EscPosError::QrTooLong(data.len()));
        }
        if !(1..=16).contains(&module) {
            return Err(EscPosError::QrModule(module));
        }
        let k = |b: &mut Vec<u8>, args: &[u8]| {
            let len = args.len() + 1; // cn included
            b.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 49]);
            b.extend_from_slice(args);
        };
        k(&mut self.buf, &[65, 50, 0]); // fn 65: model 2
        k(&mut self.buf, &[67, module]); // fn 67: module size
        k(&mut self.buf, &[69, level as u8]); // fn 69: error level
        let mut store = Vec::with_capacity(data.len() + 2);
        store.extend_from_slice(&[80, 48]); // fn 80: store, m = 48
        store.extend_from_slice(data.as_bytes());
        k(&mut self.buf, &store);
        k(&mut self.buf, &[81, 48]); // fn 81: print
        Ok(self)
    }

    /// A Code128 barcode (`GS k 73 n {C pairs` for an even number of digits, else
    /// `GS k 73 n {B data` with `{` doubled), no human-readable line (the receipt prints the text
    /// itself). `module` is the narrow-bar width in dots (2–6), `height` the bar height in dots.
    pub fn code128(
        &mut self,
        data: &str,
        module: u8,
        height: u8,
    ) -> Result<&mut Self, EscPosError> {
        if data.is_empty() || !data.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            return Err(EscPosError::BarcodeData);
        }
        let mut payload = Vec::with_capacity(data.len() + 2);
        if code128_set_c(data) {
            payload.extend_from_slice(b"{C");
            for pair in data.as_bytes().chunks_exact(2) {
                payload.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
            }
        } else {
            payload.extend_from_slice(b"{B");
            for b in data.bytes() {
                if b == b'{' {
                    payload.push(b'{');
                }
                payload.push(b);
            }
        }
        let n = u8::try_from(payload.len()).map_err(|_| EscPosError::BarcodeData)?;
        self.buf.extend_from_slice(&[GS, b'h', height.max(1)]);
        self.buf.extend_from_slice(&[GS, b'w', module.clamp(2, 6)]);
        self.buf.extend_from_slice(&[GS, b'H', 0]);
        self.buf.extend_from_slice(&[GS, b'k', 73, n]);
        self.buf.extend_from_slice(&payload);
        Ok(self)
    }

    /// `GS V 66 0`: feeds to the cutter and cuts (partial cut).
    pub fn cut(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'V', 66, 0]);
        self
    }

    /// Bytes as they are (for commands this builder does not know).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests;
