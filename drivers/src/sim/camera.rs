//! The simulated camera: preview frames show a rendered QR code of whatever is "shown", stills
//! are generated paper pages.

use qrcode::{Color, EcLevel, QrCode};

use crate::camera::{Camera, CameraError, Frame, Still, encode_jpeg};

/// Preview size.
pub const FRAME_WIDTH: u32 = 640;
pub const FRAME_HEIGHT: u32 = 480;
/// Still size.
pub const STILL_WIDTH: u32 = 1280;
pub const STILL_HEIGHT: u32 = 960;

/// An empty scene: a soft gradient with some texture, no code.
pub fn scene_frame(width: u32, height: u32) -> Frame {
    let (w, h) = (width as usize, height as usize);
    let mut grey = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let base = 70 + (x * 60 / w.max(1)) + (y * 40 / h.max(1));
            let texture = ((x / 24 + y / 32) % 3) * 6;
            grey.push((base + texture).min(255) as u8);
        }
    }
    Frame {
        width,
        height,
        grey,
    }
}

/// A scene with `text` as a QR code (level M) on a bright panel, as a phone screen or receipt
/// held up to the camera; `inverted` draws light modules on a dark panel. Text too long for a
/// QR code gives the empty scene.
pub fn qr_frame(text: &str, width: u32, height: u32, inverted: bool) -> Frame {
    let mut frame = scene_frame(width, height);
    let Ok(code) = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) else {
        tracing::warn!("simulated camera: text too long for a QR code");
        return frame;
    };
    let n = code.width();
    let colors = code.to_colors();
    let (w, h) = (width as usize, height as usize);
    let quiet = 4;
    let side_modules = n + 2 * quiet;
    let scale = ((w.min(h) * 3 / 4) / side_modules).clamp(1, 6);
    let side = side_modules * scale;
    if side > w || side > h {
        return frame;
    }
    let (x0, y0) = ((w - side) / 2, (h - side) / 2);
    let (light, dark) = if inverted {
        (25u8, 225u8)
    } else {
        (235u8, 20u8)
    };
    for y in 0..side {
        for x in 0..side {
            let mx = (x / scale).checked_sub(quiet);
            let my = (y / scale).checked_sub(quiet);
            let is_dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < n && my < n => colors[my * n + mx] == Color::Dark,
                _ => false,
            };
            frame.grey[(y0 + y) * w + x0 + x] = if is_dark { dark } else { light };
        }
    }
    frame
}

/// A small deterministic generator for page contents.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as u32) % bound.max(1)
    }
}

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn rect(&mut self, x: usize, y: usize, rw: usize, rh: usize, c: [u8; 3]) {
        for yy in y..(y + rh).min(self.h) {
            for xx in x..(x + rw).min(self.w) {
                let i = (yy * self.w + xx) * 3;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    /// A digit as seven segments, `dw` wide and `dh` tall.
    fn digit(&mut self, d: u32, x: usize, y: usize, dw: usize, dh: usize, c: [u8; 3]) {
        const SEGMENTS: [u8; 10] = [
            0b0111111, 0b0000110, 0b1011011, 0b1001111, 0b1100110, 0b1101101, 0b1111101, 0b0000111,
            0b1111111, 0b1101111,
        ];
        let s = SEGMENTS[(d % 10) as usize];
        let t = (dw / 5).max(2);
        let half = dh / 2;
        let on = |bit: u8| s & (1 << bit) != 0;
        if on(0) {
            self.rect(x, y, dw, t, c); // a
        }
        if on(1) {
            self.rect(x + dw - t, y, t, half, c); // b
        }
        if on(2) {
            self.rect(x + dw - t, y + half, t, dh - half, c); // c
        }
        if on(3) {
            self.rect(x, y + dh - t, dw, t, c); // d
        }
        if on(4) {
            self.rect(x, y + half, t, dh - half, c); // e
        }
        if on(5) {
            self.rect(x, y, t, half, c); // f
        }
        if on(6) {
            self.rect(x, y + half - t / 2, dw, t, c); // g
        }
    }
}

/// RGB pixels of a photographed page: a white A4 sheet on a desk, a heading, lines of
/// "text" bars and the page number at the bottom.
pub fn page_rgb(page: u32, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut c = Canvas {
        w,
        h,
        rgb: [96u8, 88, 80].repeat(w * h),
    };
    let page_h = h * 92 / 100;
    let page_w = page_h * 707 / 1000;
    let (px, py) = ((w.saturating_sub(page_w)) / 2, (h - page_h) / 2);
    c.rect(px, py, page_w, page_h, [248, 247, 242]);
    let ink = [35, 35, 40];
    let margin = page_w / 10;
    let mut rng = Lcg(u64::from(page) * 7919 + 17);
    // Heading.
    let head_w = page_w / 3 + rng.next((page_w / 4) as u32) as usize;
    c.rect(
        px + (page_w - head_w) / 2,
        py + margin,
        head_w,
        page_h / 40,
        ink,
    );
    // Body lines of words.
    let line_h = page_h / 32;
    let mut y = py + margin + page_h / 40 + line_h * 2;
    while y + line_h < py + page_h - margin * 2 {
        let mut x = px + margin + if rng.next(5) == 0 { margin / 2 } else { 0 };
        let end = px + page_w - margin - rng.next((margin * 2) as u32) as usize;
        while x < end {
            let word = (8 + rng.next(60) as usize).min(end - x);
            c.rect(x, y, word, line_h / 2, ink);
            x += word + 6 + rng.next(6) as usize;
        }
        y += line_h;
    }
    // Page number, centred at the bottom.
    let digits: Vec<u32> = page
        .max(1)
        .to_string()
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let (dw, dh) = (page_w / 28, page_h / 24);
    let total = digits.len() * (dw + dw / 2);
    let mut x = px + (page_w - total.min(page_w)) / 2;
    let y = py + page_h - margin - dh / 2;
    for d in digits {
        c.digit(d, x, y, dw, dh, ink);
        x += dw + dw / 2;
    }
    c.rgb
}

/// The simulated camera.
pub struct SimCamera {
    shown: Option<String>,
    present: bool,
    inverted: bool,
    pages: u32,
}

impl Default for SimCamera {
    fn default() -> Self {
        Self::new()
    }
}

impl SimCamera {
    pub fn new() -> Self {
        Self {
            shown: None,
            present: true,
            inverted: false,
            pages: 0,
        }
    }

    /// Holds `text` up to the camera as a QR code (`None`: nothing shown).
    pub fn show(&mut self, text: Option<&str>) {
        self.shown = text.map(str::to_string);
    }

    /// Shows codes as light modules on a dark screen.
    pub fn set_inverted(&mut self, inverted: bool) {
        self.inverted = inverted;
    }

    pub fn set_present(&mut self, present: bool) {
        self.present = present;
    }

    pub fn present(&self) -> bool {
        self.present
    }

    /// Pages photographed so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    fn check(&self) -> Result<(), CameraError> {
        if self.present {
            Ok(())
        } else {
            Err(CameraError::NotFound("simulated camera unplugged".into()))
        }
    }
}

impl Camera for SimCamera {
    fn grab(&mut self) -> Result<Frame, CameraError> {
        self.check()?;
        Ok(match &self.shown {
            Some(text) => qr_frame(text, FRAME_WIDTH, FRAME_HEIGHT, self.inverted),
            None => scene_frame(FRAME_WIDTH, FRAME_HEIGHT),
        })
    }

    fn capture_still(&mut self) -> Result<Still, CameraError> {
        self.check()?;
        self.pages += 1;
        let rgb = page_rgb(self.pages, STILL_WIDTH, STILL_HEIGHT);
        let jpeg = encode_jpeg(STILL_WIDTH, STILL_HEIGHT, &rgb, 85)?;
        Ok(Still {
            width: STILL_WIDTH,
            height: STILL_HEIGHT,
            rgb,
            jpeg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::{decode_qr, jpeg_dimensions};

    #[test]
    fn frames_show_the_code_and_nothing_else() {
        let mut cam = SimCamera::new();
        let f = cam.grab().unwrap();
        assert_eq!((f.width, f.height, f.grey.len()), (640, 480, 640 * 480));
        assert_eq!(decode_qr(&f), None);
        cam.show(Some("2026112200000017"));
        assert_eq!(
            decode_qr(&cam.grab().unwrap()).as_deref(),
            Some("2026112200000017")
        );
        cam.set_inverted(true);
        assert_eq!(
            decode_qr(&cam.grab().unwrap()).as_deref(),
            Some("2026112200000017")
        );
        cam.show(None);
        assert_eq!(decode_qr(&cam.grab().unwrap()), None);
    }

    #[test]
    fn stills_are_pages_with_numbers() {
        let mut cam = SimCamera::new();
        let a = cam.capture_still().unwrap();
        let b = cam.capture_still().unwrap();
        assert_eq!((a.width, a.height), (1280, 960));
        assert_eq!(a.rgb.len(), 1280 * 960 * 3);
        assert_eq!(jpeg_dimensions(&a.jpeg), Some((1280, 960)));
        assert_ne!(a.rgb, b.rgb, "each page differs");
        assert_eq!(cam.pages(), 2);
        // A white page in the middle, the desk at the corner, ink somewhere on the page.
        let px = |x: usize, y: usize| &a.rgb[(y * 1280 + x) * 3..(y * 1280 + x) * 3 + 3];
        assert_eq!(px(2, 2), &[96, 88, 80]);
        let dark = a.rgb.chunks(3).filter(|p| p == &[35, 35, 40]).count();
        let white = a.rgb.chunks(3).filter(|p| p == &[248, 247, 242]).count();
        assert!(dark > 10_000 && white > dark, "{dark} {white}");
    }

    #[test]
    fn an_unplugged_camera_is_not_found() {
        let mut cam = SimCamera::new();
        cam.set_present(false);
        assert!(matches!(cam.grab(), Err(CameraError::NotFound(_))));
        assert!(matches!(cam.capture_still(), Err(CameraError::NotFound(_))));
        assert_eq!(cam.pages(), 0);
    }

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
}
