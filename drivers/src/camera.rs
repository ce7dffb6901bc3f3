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

/// Finds a QR code in a frame: as it is, then binarised (low contrast), then inverted (light
/// modules on a dark screen). `None` when there is none or the frame is malformed.
pub fn decode_qr(frame: &Frame) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::camera::{qr_frame, scene_frame};

    #[test]
    fn decodes_a_rendered_qr() {
        let f = qr_frame("2026112200000017", 640, 480, false);
        assert!(f.is_valid());
        assert_eq!(decode_qr(&f).as_deref(), Some("2026112200000017"));
    }

    #[test]
    fn decodes_an_inverted_qr() {
        let f = qr_frame("https://e.invalid/r/42", 640, 480, true);
        assert_eq!(decode_qr(&f).as_deref(), Some("https://e.invalid/r/42"));
    }

    #[test]
    fn decodes_a_low_contrast_qr() {
        let mut f = qr_frame("2026112200000017", 640, 480, false);
        for v in &mut f.grey {
            *v = 110 + *v / 16; // everything squeezed into 110..126
        }
        assert_eq!(decode_qr(&f).as_deref(), Some("2026112200000017"));
    }

    #[test]
    fn nothing_in_an_empty_scene_or_a_malformed_frame() {
        assert_eq!(decode_qr(&scene_frame(640, 480)), None);
        let bad = Frame {
            width: 10,
            height: 10,
            grey: vec![0; 99],
        };
        assert_eq!(decode_qr(&bad), None);
        let zero = Frame {
            width: 0,
            height: 0,
            grey: vec![],
        };
        assert_eq!(decode_qr(&zero), None);
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
