//! Cameras: the document camera that photographs paper materials, and the same camera (or a
//! second one) used to read QR codes shown on phones or receipts.
//!
//! This module holds the frame types, the [`Camera`] trait that device drivers and the
//! simulator implement, QR decoding and JPEG encoding. Both are pure Rust: `rqrr` for QR
//! (a later change may add a stronger decoder) and `jpeg-encoder` for stills.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// A greyscale frame for QR scanning (one byte per pixel, rows top to bottom).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub grey: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width, self.height)
    }
}

impl Frame {
    /// Whether the buffer holds exactly `width × height` pixels.
    pub fn is_valid(&self) -> bool {
        self.width > 0
            && self.height > 0
            && (self.width as usize).checked_mul(self.height as usize) == Some(self.grey.len())
    }
}

/// A photograph of a page: RGB (three bytes per pixel) and the same image as JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct Still {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub jpeg: Vec<u8>,
}

impl std::fmt::Debug for Still {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Still({}x{}, {} JPEG bytes)",
            self.width,
            self.height,
            self.jpeg.len()
        )
    }
}

/// Why a camera gave no picture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error("未找到摄像头 (camera not found): {0}")]
    NotFound(String),
    #[error("摄像头被占用 (camera busy): {0}")]
    Busy(String),
    #[error("摄像头读取失败 (camera read failed): {0}")]
    Io(String),
    #[error("摄像头画面无效 (bad frame): {0}")]
    BadFrame(String),
    #[error("图像编码失败 (image encoding failed): {0}")]
    Encode(String),
}

/// A camera.
pub trait Camera: Send {
    /// A greyscale preview frame (for QR scanning), as fast as the device gives one.
    fn grab(&mut self) -> Result<Frame, CameraError>;
    /// A full-resolution colour photograph of a page.
    fn capture_still(&mut self) -> Result<Still, CameraError>;
}

fn decode_once(width: usize, height: usize, grey: &[u8]) -> Option<String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
        img.detect_grids()
            .into_iter()
            .find_map(|g| g.decode().ok().map(|(_, content)| content))
    }));
    // The decoder is third-party code fed with camera data: a panic in it must not take the
    // kiosk down. It is treated as "no code seen".
    result.unwrap_or_else(|_| {
        tracing::warn!("QR decoder failed on a frame");
        None
    })
}

/// Otsu's threshold of a greyscale buffer.
pub fn otsu_threshold(grey: &[u8]) -> u8 {
    let mut hist = [0u64; 256];
    for &v in grey {
        hist[usize::from(v)] += 1;
    }
    let total = grey.len() as f64;
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut sum_b, mut w_b, mut best, mut best_t) = (0.0, 0.0, -1.0, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c as f64;
        if w_b == 0.0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let m_b = sum_b / w_b;
        let m_f = (sum - sum_b) / w_f;
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// rqrr alone (the baseline): the frame as it is, then binarised (Otsu), then inverted.
pub fn decode_qr_rqrr(frame: &Frame) -> Option<String> {
    if !frame.is_valid() {
        return None;
    }
    let (w, h) = (frame.width as usize, frame.height as usize);
    if let Some(s) = decode_once(w, h, &frame.grey) {
        return Some(s);
    }
    let t = otsu_threshold(&frame.grey);
    let binary: Vec<u8> = frame
        .grey
        .iter()
        .map(|&v| if v > t { 255 } else { 0 })
        .collect();
    if let Some(s) = decode_once(w, h, &binary) {
        return Some(s);
    }
    let inverted: Vec<u8> = binary.iter().map(|&v| 255 - v).collect();
    decode_once(w, h, &inverted)
}

/// What one zxing-cpp pass found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ZxingPass {
    /// The decoded text.
    pub text: Option<String>,
    /// A QR code was located but could not be decoded (worth more effort).
    pub located: bool,
}

/// zxing-cpp on a grey buffer: QR codes only, trying harder, both polarities; reports a code
/// it located but could not decode.
#[cfg(feature = "zxing")]
pub fn zxing_pass(w: usize, h: usize, grey: &[u8]) -> ZxingPass {
    thread_local! {
        static READER: zxingcpp::BarcodeReader = zxingcpp::read()
            .formats([zxingcpp::BarcodeFormat::QRCode])
            .try_harder(true)
            .try_invert(true)
            .try_rotate(false)
            .try_downscale(true)
            .return_errors(true)
            .max_number_of_symbols(2);
    }
    let mut pass = ZxingPass::default();
    if w == 0 || h == 0 || grey.len() != w * h {
        return pass;
    }
    let Ok(view) = zxingcpp::ImageView::from_slice(grey, w, h, zxingcpp::ImageFormat::Lum) else {
        return pass;
    };
    let found = READER.with(|r| r.from(view).unwrap_or_default());
    for b in found {
        if b.is_valid() && !b.text().is_empty() {
            pass.text = Some(b.text());
            return pass;
        }
        pass.located = true;
    }
    pass
}

/// Without the zxing feature: no zxing pass.
#[cfg(not(feature = "zxing"))]
pub fn zxing_pass(_w: usize, _h: usize, _grey: &[u8]) -> ZxingPass {
    ZxingPass::default()
}

/// zxing-cpp alone, one pass.
pub fn decode_qr_zxing(w: usize, h: usize, grey: &[u8]) -> Option<String> {
    zxing_pass(w, h, grey).text
}

/// Bilinear 2× enlargement (modules under ~2.5 px become readable).
pub fn upscale2(grey: &[u8], w: usize, h: usize) -> Vec<u8> {
    let (w2, h2) = (w * 2, h * 2);
    let mut out = vec![0u8; w2 * h2];
    for y2 in 0..h2 {
        // Source coordinate of the output pixel centre, in 1/4 steps.
        let sy4 = (y2 * 2).saturating_sub(1) as i64;
        let (y0, fy) = ((sy4 / 4) as usize, (sy4 % 4) as u32);
        let y1 = (y0 + 1).min(h - 1);
        for x2 in 0..w2 {
            let sx4 = (x2 * 2).saturating_sub(1) as i64;
            let (x0, fx) = ((sx4 / 4) as usize, (sx4 % 4) as u32);
            let x1 = (x0 + 1).min(w - 1);
            let p = |x: usize, y: usize| u32::from(grey[y * w + x]);
            let top = p(x0, y0) * (4 - fx) + p(x1, y0) * fx;
            let bot = p(x0, y1) * (4 - fx) + p(x1, y1) * fx;
            out[y2 * w2 + x2] = ((top * (4 - fy) + bot * fy + 8) / 16) as u8;
        }
    }
    out
}

/// Local-mean threshold: a pixel is dark when below the mean of its `(2r+1)²` window by more
/// than `c` (reads through glare, shading and faded paper).
pub fn adaptive_threshold(grey: &[u8], w: usize, h: usize, r: usize, c: i32) -> Vec<u8> {
    let mut integral = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += u32::from(grey[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
                - integral[y0 * (w + 1) + x1]
                - integral[y1 * (w + 1) + x0];
            let n = ((y1 - y0) * (x1 - x0)) as i64;
            let v = i64::from(grey[y * w + x]) * n;
            out[y * w + x] = if v < sum as i64 - i64::from(c) * n {
                0
            } else {
                255
            };
        }
    }
    out
}

/// Unsharp mask over a 3×3 box (restores edges softened by blur).
pub fn sharpen(grey: &[u8], w: usize, h: usize, amount: i32) -> Vec<u8> {
    let mut out = grey.to_vec();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let mut sum = 0i32;
            for dy in 0..3 {
                for dx in 0..3 {
                    sum += i32::from(grey[(y + dy - 1) * w + x + dx - 1]);
                }
            }
            let v = i32::from(grey[y * w + x]);
            let sharp = v + amount * (9 * v - sum) / 9;
            out[y * w + x] = sharp.clamp(0, 255) as u8;
        }
    }
    out
}

/// Finds a QR code in a frame. zxing-cpp reads the frame first (with the `zxing` feature);
/// what it misses goes through preprocessing, cheapest first: a local threshold (glare,
/// shading, faded paper), sharpening (blur), 2× enlargement (modules under ~2.5 px), and
/// enlargement with sharpening (motion blur). rqrr, slower, gets the frame only when zxing
/// located a code it could not read. A clear frame costs one zxing pass (~0.5 ms at
/// 640×480); a frame with no code about 6 ms. `None` when there is no code or the frame is
/// malformed.
pub fn decode_qr(frame: &Frame) -> Option<String> {
    if !frame.is_valid() {
        return None;
    }
    let (w, h) = (frame.width as usize, frame.height as usize);
    let g = &frame.grey;
    let first = zxing_pass(w, h, g);
    if first.text.is_some() {
        return first.text;
    }
    let mut located = first.located;
    let mut attempt = |w: usize, h: usize, img: &[u8]| {
        let p = zxing_pass(w, h, img);
        located |= p.located;
        p.text
    };
    if let Some(s) = attempt(w, h, &adaptive_threshold(g, w, h, 12, 4)) {
        return Some(s);
    }
    if let Some(s) = attempt(w, h, &sharpen(g, w, h, 2)) {
        return Some(s);
    }
    let big = upscale2(g, w, h);
    if let Some(s) = attempt(w * 2, h * 2, &big) {
        return Some(s);
    }
    if let Some(s) = attempt(w * 2, h * 2, &sharpen(&big, w * 2, h * 2, 2)) {
        return Some(s);
    }
    if located || !cfg!(feature = "zxing") {
        return decode_qr_rqrr(frame);
    }
    None
}

/// Encodes RGB pixels as a baseline JPEG.
pub fn encode_jpeg(
    width: u32,
    height: u32,
    rgb: &[u8],
    quality: u8,
) -> Result<Vec<u8>, CameraError> {
    let w = u16::try_from(width).map_err(|_| CameraError::Encode("image too wide".into()))?;
    let h = u16::try_from(height).map_err(|_| CameraError::Encode("image too tall".into()))?;
    if usize::from(w) * usize::from(h) * 3 != rgb.len() || w == 0 || h == 0 {
        return Err(CameraError::Encode(format!(
            "{} bytes for {width}x{height} RGB",
            rgb.len()
        )));
    }
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    enc.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| CameraError::Encode(e.to_string()))?;
    Ok(out)
}

/// Width and height from a JPEG's start-of-frame segment (a check of what was encoded).
pub fn jpeg_dimensions(jpeg: &[u8]) -> Option<(u32, u32)> {
    if jpeg.get(..2) != Some(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if matches!(marker, 0xC0..=0xC3) {
            let seg = jpeg.get(i + 4..i + 2 + len)?;
            let h = u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]);
            let w = u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + len;
    }
    None
}

// Decoding is tested against the simulators' frames next to them (`sim::camera`, `sim::corpus`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocessing_keeps_sizes_and_levels() {
        let g: Vec<u8> = (0..64u32 * 48).map(|i| (i % 64 * 4) as u8).collect();
        let big = upscale2(&g, 64, 48);
        assert_eq!(big.len(), 128 * 96);
        assert_eq!(big[0], g[0]);
        assert_eq!(big[127], g[63]);
        let flat = vec![100u8; 30 * 20];
        assert!(
            adaptive_threshold(&flat, 30, 20, 4, 4)
                .iter()
                .all(|&v| v == 255)
        );
        let mut spot = flat.clone();
        spot[10 * 30 + 15] = 20;
        let t = adaptive_threshold(&spot, 30, 20, 4, 4);
        assert_eq!(t[10 * 30 + 15], 0);
        assert_eq!(t.iter().filter(|&&v| v == 0).count(), 1);
        assert_eq!(sharpen(&flat, 30, 20, 3), flat);
    }

    #[test]
    fn otsu_splits_two_levels() {
        let mut g = vec![40u8; 100];
        g.extend(vec![200u8; 100]);
        let t = otsu_threshold(&g);
        assert!((40..200).contains(&t), "{t}");
    }

    #[test]
    fn jpeg_encodes_with_the_right_size() {
        let (w, h) = (64u32, 48u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        let jpeg = encode_jpeg(w, h, &rgb, 85).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
        assert_eq!(jpeg_dimensions(&jpeg), Some((64, 48)));
        assert!(encode_jpeg(w, h, &rgb[1..], 85).is_err());
        assert!(encode_jpeg(70_000, 1, &[], 85).is_err());
    }
}
