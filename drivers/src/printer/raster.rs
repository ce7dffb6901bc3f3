//! Characters the printer's own font lacks, printed as a raster image (`GS v 0`).
//!
//! Receipt printers sold in China carry a GB2312 or GBK font; rare characters in people's and
//! places' names (CJK extensions A and B, encoded in four bytes in GB18030) are not in it, and a
//! printer would print `?` or nothing. A line with such a character is drawn here instead, with
//! a CJK font of the kiosk's (Noto Sans CJK from `fonts-noto-cjk`), on the printer's own grid (12
//! dots per column, 24-dot lines, the size multiplier in force), and sent as one raster line.
//!
//! Pure code: the font is bytes loaded once by the caller ([`GlyphFont::system`] maps the
//! file at start-up).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ab_glyph::{Font, FontArc, FontRef, PxScale, ScaleFont, point};

use super::layout::{Align, char_width};

/// Fonts tried by [`GlyphFont::system`], in order.
pub const SYSTEM_FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("找不到可用于打印生僻字的中文字体 (no CJK font for rare characters; tried {0})")]
    NoFont(String),
    #[error("字体文件无法读取 (font file {path} unreadable): {reason}")]
    Font { path: PathBuf, reason: String },
}

/// The characters a printer's resident Chinese font has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FontCharset {
    /// GB2312 only (6763 characters): common on older and cheaper printers.
    Gb2312,
    /// GBK (21886 characters): most current receipt printers.
    #[default]
    Gbk,
    /// The whole of GB18030: nothing needs a raster image.
    Gb18030,
}

impl FontCharset {
    /// Parses a config value (`gb2312`, `gbk`, `gb18030`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gb2312" => Some(Self::Gb2312),
            "gbk" => Some(Self::Gbk),
            "gb18030" => Some(Self::Gb18030),
            _ => None,
        }
    }

    /// Whether a printer with this font prints `c` from its own font. ASCII always.
    pub fn has(self, c: char) -> bool {
        if c.is_ascii() {
            return true;
        }
        let mut tmp = [0u8; 4];
        let (bytes, _, unmappable) = encoding_rs::GB18030.encode(c.encode_utf8(&mut tmp));
        if unmappable {
            return false;
        }
        match (self, bytes.as_ref()) {
            (Self::Gb18030, _) => true,
            (Self::Gbk, &[b0, b1]) => (0x81..=0xFE).contains(&b0) && !user_defined(b0, b1),
            (Self::Gb2312, &[b0, b1]) => {
                (0xA1..=0xF7).contains(&b0)
                    && !(0xAA..=0xAF).contains(&b0)
                    && (0xA1..=0xFE).contains(&b1)
                    && !user_defined(b0, b1)
            }
            _ => false,
        }
    }
}

/// GBK's user-defined areas, and the codes in them that GB18030 later gave to characters
/// (extension A characters such as 䶮 at FE9F, vertical forms): a printer's GBK font has no
/// glyph there.
fn user_defined(b0: u8, b1: u8) -> bool {
    match b0 {
        0xAA..=0xAF | 0xF8..=0xFD => b1 >= 0xA1,
        0xFE => true,
        0xA1..=0xA7 if (0x40..=0xA0).contains(&b1) => true,
        0xA6 => matches!(b1, 0xD9..=0xDF | 0xEC | 0xED | 0xF3),
        0xA8 => matches!(b1, 0xBC | 0xBF),
        0xA9 => (0x89..=0x95).contains(&b1),
        _ => false,
    }
}

/// A font to draw characters the printer cannot. Cheap to clone.
#[derive(Clone)]
pub struct GlyphFont {
    font: FontArc,
}

impl std::fmt::Debug for GlyphFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlyphFont")
            .field("glyphs", &self.font.glyph_count())
            .finish()
    }
}

impl GlyphFont {
    /// A font from the bytes of a TrueType/OpenType file or the first face of a collection.
    pub fn from_bytes(path: &Path, data: Vec<u8>) -> Result<Self, RasterError> {
        let font = FontArc::try_from_vec(data).map_err(|e| RasterError::Font {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Self { font })
    }

    /// A font file mapped into memory rather than read: only the pages of the tables and glyphs
    /// drawn become resident (Noto Sans CJK is 19 MiB; a receipt touches a few KiB of it). Each
    /// file is mapped once per process and stays mapped.
    pub fn load(path: &Path) -> Result<Self, RasterError> {
        let data = mapped(path).map_err(|e| RasterError::Font {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let font = FontRef::try_from_slice(data).map_err(|e| RasterError::Font {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            font: FontArc::new(font),
        })
    }

    /// The first of [`SYSTEM_FONTS`] that loads.
    pub fn system() -> Result<Self, RasterError> {
        for p in SYSTEM_FONTS {
            let path = Path::new(p);
            if path.exists() {
                match Self::load(path) {
                    Ok(f) => return Ok(f),
                    Err(e) => tracing::warn!(error = %e, "font skipped"),
                }
            }
        }
        Err(RasterError::NoFont(SYSTEM_FONTS.join(", ")))
    }

    /// Whether the font has a glyph for `c`.
    pub fn has_glyph(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }
}

/// The bytes of a file mapped read-only for the rest of the process, once per path.
fn mapped(path: &Path) -> std::io::Result<&'static [u8]> {
    static MAPS: Mutex<Vec<(PathBuf, &'static [u8])>> = Mutex::new(Vec::new());
    let mut maps = MAPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, data)) = maps.iter().find(|(p, _)| p == path) {
        return Ok(data);
    }
    let file = std::fs::File::open(path)?;
    // SAFETY: the fonts are files of the read-only root file system (`SYSTEM_FONTS`), not
    // changed while the kiosk runs; a file truncated under the mapping would fault on access,
    // which is why only installed fonts are mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    let data: &'static [u8] = Box::leak(Box::new(map));
    maps.push((path.to_path_buf(), data));
    Ok(data)
}

/// How a printer without a character in its font gets it: the font's charset and a font to
/// draw with.
#[derive(Debug, Clone)]
pub struct RasterFallback {
    pub charset: FontCharset,
    pub font: Arc<GlyphFont>,
}

/// A 1-bit image, rows of `width_bytes` bytes, most significant bit leftmost; 1 is a dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width_bytes: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Bitmap {
    pub fn new(width_dots: usize, height: usize) -> Self {
        let width_bytes = width_dots.div_ceil(8);
        Self {
            width_bytes,
            height,
            data: vec![0; width_bytes * height],
        }
    }

    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width_bytes * 8 && y < self.height {
            self.data[y * self.width_bytes + x / 8] |= 0x80 >> (x % 8);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width_bytes * 8
            && y < self.height
            && self.data[y * self.width_bytes + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Dots set in columns `x0..x1`.
    pub fn ink(&self, x0: usize, x1: usize) -> usize {
        (0..self.height)
            .map(|y| (x0..x1).filter(|&x| self.get(x, y)).count())
            .sum()
    }

    /// `GS v 0 0 xL xH yL yH d1…dk`. Printers execute real-time commands (`DLE EOT`, `DLE ENQ`,
    /// `DLE DC4`) even inside image data, so a byte pair that would read as one has a dot
    /// added instead (invisible at 203 dpi).
    pub fn to_escpos(&self) -> Vec<u8> {
        let mut data = self.data.clone();
        for i in 0..data.len().saturating_sub(1) {
            if data[i] == 0x10 && matches!(data[i + 1], 0x04 | 0x05 | 0x14) {
                data[i] = 0x18;
            }
        }
        let w = self.width_bytes.min(0xFFFF);
        let h = self.height.min(0xFFFF);
        let mut out = Vec::with_capacity(8 + data.len());
        out.extend_from_slice(&[
            0x1D,
            b'v',
            b'0',
            0,
            (w & 0xFF) as u8,
            (w >> 8) as u8,
            (h & 0xFF) as u8,
            (h >> 8) as u8,
        ]);
        out.extend_from_slice(&data);
        out
    }
}

/// How a line is drawn: the printer's size multipliers, emphasis and alignment in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStyle {
    pub width: u8,
    pub height: u8,
    pub bold: bool,
    pub align: Align,
}

/// Draws one line of text as the printer would lay it out (12 dots per column, 24-dot lines,
/// times the size multipliers), across `paper_dots`, aligned as the style says. A character the
/// font has no glyph for either is drawn as an empty box.
pub fn draw_line(font: &GlyphFont, text: &str, style: LineStyle, paper_dots: usize) -> Bitmap {
    let sw = usize::from(style.width.clamp(1, 8));
    let sh = usize::from(style.height.clamp(1, 8));
    let cell_w = 12 * sw;
    let line_h = 24 * sh;
    // The printer's line spacing is 30 dots for a 24-dot font: keep the gap below the glyphs.
    let gap = 6 * sh;
    let mut bmp = Bitmap::new(paper_dots, line_h + gap);
    let text_w: usize = text.chars().map(|c| char_width(c) * cell_w).sum();
    let mut x = match style.align {
        Align::Left => 0,
        Align::Center => paper_dots.saturating_sub(text_w) / 2,
        Align::Right => paper_dots.saturating_sub(text_w),
    };
    // A printer's 24-dot font draws ideographs about 23 dots tall. ab_glyph scales by the
    // ascent-to-descent height, so convert from the em size; ideographs sit in the em box from
    // 0.88 em above the baseline to 0.12 em below, centred in the line here.
    let em_to_px = font
        .font
        .units_per_em()
        .map_or(1.0, |upem| font.font.height_unscaled() / upem);
    let (em_x, em_y) = ((23 * sw) as f32, (23 * sh) as f32);
    let scale = PxScale {
        x: em_x * em_to_px,
        y: em_y * em_to_px,
    };
    let scaled = font.font.as_scaled(scale);
    let baseline = (line_h as f32 - em_y) / 2.0 + 0.88 * em_y;
    for c in text.chars() {
        let w = char_width(c) * cell_w;
        if c != ' ' {
            let id = font.font.glyph_id(c);
            if id.0 == 0 {
                draw_box(&mut bmp, x, w, line_h);
            } else {
                let advance = scaled.h_advance(id);
                let left = x as f32 + (w as f32 - advance).max(0.0) / 2.0;
                let glyph = id.with_scale_and_position(scale, point(left, baseline));
                if let Some(outline) = font.font.outline_glyph(glyph) {
                    let b = outline.px_bounds();
                    outline.draw(|gx, gy, coverage| {
                        if coverage >= 0.5 {
                            let px = b.min.x as i64 + i64::from(gx);
                            let py = b.min.y as i64 + i64::from(gy);
                            if px >= 0 && py >= 0 {
                                bmp.set(px as usize, py as usize);
                                if style.bold {
                                    bmp.set(px as usize + 1, py as usize);
                                }
                            }
                        }
                    });
                }
            }
        }
        x += w;
    }
    bmp
}

fn draw_box(bmp: &mut Bitmap, x: usize, w: usize, h: usize) {
    let (x0, x1) = (x + 2, (x + w).saturating_sub(3));
    let (y0, y1) = (2, h.saturating_sub(3));
    for px in x0..=x1 {
        bmp.set(px, y0);
        bmp.set(px, y1);
    }
    for py in y0..=y1 {
        bmp.set(x0, py);
        bmp.set(x1, py);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_know_their_characters() {
        // 张 is in GB2312; 镕 is in GBK but not GB2312; 䶮 (extension A) and 𠈌 (extension B)
        // are four-byte GB18030 only.
        for (c, gb2312, gbk) in [
            ('张', true, true),
            ('镕', false, true),
            ('䶮', false, false),
            ('𠈌', false, false),
            ('A', true, true),
        ] {
            assert_eq!(FontCharset::Gb2312.has(c), gb2312, "{c}");
            assert_eq!(FontCharset::Gbk.has(c), gbk, "{c}");
            assert!(FontCharset::Gb18030.has(c), "{c}");
        }
        assert_eq!(FontCharset::parse(" GBK "), Some(FontCharset::Gbk));
        assert_eq!(FontCharset::parse("latin1"), None);
    }

    #[test]
    fn image_data_never_reads_as_a_real_time_command() {
        let mut b = Bitmap::new(16, 2);
        // Row 0: bytes 0x10 0x04 — "DLE EOT" if sent as is.
        b.set(3, 0);
        b.set(13, 0);
        let bytes = b.to_escpos();
        assert_eq!(&bytes[..8], &[0x1D, b'v', b'0', 0, 2, 0, 2, 0]);
        let data = &bytes[8..];
        assert!(!data.windows(2).any(|w| w == [0x10, 0x04]), "{data:02X?}");
        assert_eq!(data.len(), 4);
    }

    #[test]
    fn a_font_that_cannot_be_parsed_is_a_clear_error() {
        let e = GlyphFont::from_bytes(Path::new("/x.ttf"), b"not a font".to_vec())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/x.ttf"), "{e}");
    }
}
