//! Image bytes to pixels: PNG and JPEG files (camera simulator, `diag decode-qr`), and the
//! JPEG frames of MJPEG cameras. Decoders are pure Rust (`png`, `zune-jpeg`), with size
//! limits, and never panic on bad input (a decoder panic is caught and reported as an error).

use std::panic::{AssertUnwindSafe, catch_unwind};

use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use crate::camera::{CameraError, Frame};

/// Largest side accepted from a file or a camera.
pub const MAX_SIDE: u32 = 8192;

/// Decoded pixels: 1 (grey) or 3 (RGB) bytes per pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}x{}x{})", self.width, self.height, self.channels)
    }
}

/// ITU-R BT.601 luma of an RGB pixel, in integers.
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 77 + u32::from(g) * 150 + u32::from(b) * 29 + 128) >> 8) as u8
}

impl Image {
    pub fn to_grey(&self) -> Frame {
        let grey = match self.channels {
            1 => self.data.clone(),
            _ => self
                .data
                .chunks_exact(3)
                .map(|p| luma(p[0], p[1], p[2]))
                .collect(),
        };
        Frame {
            width: self.width,
            height: self.height,
            grey,
        }
    }

    pub fn to_rgb(&self) -> Vec<u8> {
        match self.channels {
            1 => self.data.iter().flat_map(|&v| [v, v, v]).collect(),
            _ => self.data.clone(),
        }
    }
}

fn bad(what: impl std::fmt::Display) -> CameraError {
    CameraError::BadFrame(what.to_string())
}

/// Which format the bytes are, by their signature.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        Some("jpeg")
    } else {
        None
    }
}

/// Decodes a PNG or JPEG image.
pub fn decode_image(bytes: &[u8]) -> Result<Image, CameraError> {
    match sniff(bytes) {
        Some("png") => decode_png(bytes),
        Some(_) => decode_jpeg(bytes, false),
        None => Err(bad("not a PNG or JPEG image")),
    }
}

/// Decodes a PNG (any colour type and depth: grey, grey+alpha, RGB, RGBA, palette, 16-bit).
pub fn decode_png(bytes: &[u8]) -> Result<Image, CameraError> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(bad)?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(bad(format!("image size {w}x{h} out of range")));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let px = w as usize * h as usize;
    let (channels, data) = match info.color_type {
        png::ColorType::Grayscale => (1, buf),
        png::ColorType::GrayscaleAlpha => (1, buf.chunks_exact(2).map(|p| p[0]).collect()),
        png::ColorType::Rgb => (3, buf),
        png::ColorType::Rgba => (
            3,
            buf.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        ),
        png::ColorType::Indexed => return Err(bad("palette not expanded")),
    };
    if data.len() != px * usize::from(channels) {
        return Err(bad("PNG data shorter than its size"));
    }
    Ok(Image {
        width: w,
        height: h,
        channels,
        data,
    })
}

/// Decodes a baseline or progressive JPEG (an MJPEG camera frame is one), to grey when
/// `grey` (faster: no colour conversion) or RGB.
pub fn decode_jpeg(bytes: &[u8], grey: bool) -> Result<Image, CameraError> {
    let out = if grey {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    let options = DecoderOptions::default()
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize)
        .jpeg_set_out_colorspace(out);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut dec =
            zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(bytes), options);
        dec.decode_headers().map_err(bad)?;
        let info = dec
            .info()
            .ok_or_else(|| bad("JPEG without a frame header"))?;
        let size = dec
            .output_buffer_size()
            .ok_or_else(|| bad("JPEG size unknown"))?;
        let mut data = vec![0u8; size];
        dec.decode_into(&mut data).map_err(bad)?;
        let (w, h) = (u32::from(info.width), u32::from(info.height));
        let channels: u8 = if grey { 1 } else { 3 };
        if w == 0 || h == 0 || data.len() != w as usize * h as usize * usize::from(channels) {
            return Err(bad("JPEG decoded to an unexpected size"));
        }
        Ok(Image {
            width: w,
            height: h,
            channels,
            data,
        })
    }));
    result.unwrap_or_else(|_| Err(bad("JPEG decoder failed")))
}

/// Encodes a grey frame as PNG (test corpora, `diag camera --save`).
pub fn encode_png_grey(frame: &Frame) -> Result<Vec<u8>, CameraError> {
    if !frame.is_valid() {
        return Err(CameraError::Encode("invalid frame".into()));
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, frame.width, frame.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| CameraError::Encode(e.to_string()))?;
        w.write_image_data(&frame.grey)
            .map_err(|e| CameraError::Encode(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::encode_jpeg;

    fn gradient(w: u32, h: u32) -> Frame {
        Frame {
            width: w,
            height: h,
            grey: (0..w * h).map(|i| ((i % w) * 255 / w) as u8).collect(),
        }
    }

    #[test]
    fn png_round_trips_grey() {
        let f = gradient(40, 30);
        let png = encode_png_grey(&f).unwrap();
        assert_eq!(sniff(&png), Some("png"));
        let img = decode_image(&png).unwrap();
        assert_eq!((img.width, img.height, img.channels), (40, 30, 1));
        assert_eq!(img.to_grey(), f);
        assert_eq!(img.to_rgb().len(), 40 * 30 * 3);
    }

    #[test]
    fn png_rgba_becomes_rgb_and_luma() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 1);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[255, 0, 0, 255, 255, 255, 255, 0])
                .unwrap();
        }
        let img = decode_png(&out).unwrap();
        assert_eq!(img.channels, 3);
        assert_eq!(img.data, [255, 0, 0, 255, 255, 255]);
        assert_eq!(img.to_grey().grey, [luma(255, 0, 0), 255]);
    }

    #[test]
    fn jpeg_decodes_to_grey_and_rgb() {
        let (w, h) = (64u32, 48u32);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let v = ((i % w) * 4) as u8;
                [v, v, v]
            })
            .collect();
        let jpeg = encode_jpeg(w, h, &rgb, 95).unwrap();
        let grey = decode_jpeg(&jpeg, true).unwrap();
        assert_eq!((grey.width, grey.height, grey.channels), (64, 48, 1));
        // Lossy, but close: the left edge is dark, the right edge bright.
        assert!(grey.data[0] < 20, "{}", grey.data[0]);
        assert!(grey.data[63] > 230, "{}", grey.data[63]);
        let colour = decode_image(&jpeg).unwrap();
        assert_eq!(colour.channels, 3);
        assert_eq!(colour.data.len(), 64 * 48 * 3);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_image(b"").is_err());
        assert!(decode_image(b"GIF89a").is_err());
        assert!(decode_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").is_err());
        assert!(decode_jpeg(&[0xFF, 0xD8, 0xFF, 0xC0, 0, 3], true).is_err());
        let jpeg = encode_jpeg(16, 16, &[128; 16 * 16 * 3], 80).unwrap();
        for cut in [3, 20, jpeg.len() / 2] {
            let _ = decode_jpeg(&jpeg[..cut], true);
        }
    }
}
