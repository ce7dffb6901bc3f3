//! Video4Linux2 cameras (`v4l2:///dev/videoN`).
//!
//! Pixel conversion is pure code over a [`RawFrame`] (the frame header the driver reports —
//! pixel format, size, stride — and the bytes), checked before any pixel is touched, so a
//! short or odd buffer is an error and never a panic: YUYV (4:2:2) to grey takes the luma
//! bytes, YUYV to RGB uses BT.601; MJPEG frames are decoded as JPEG. [`V4l2Camera`] captures
//! 640×480 preview frames for QR scanning and switches to the largest size for stills.

use std::path::{Path, PathBuf};
use std::time::Duration;

use v4l::buffer::Type;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, FourCC};

use crate::camera::{Camera, CameraError, Frame, Still, encode_jpeg};
use crate::image::{MAX_SIDE, decode_jpeg};

/// Pixel formats the kiosk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Y0 U Y1 V, two pixels in four bytes.
    Yuyv,
    /// One JPEG image per frame.
    Mjpeg,
    /// 8-bit luma only.
    Grey,
}

impl PixelFormat {
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Grey => *b"GREY",
        }
    }

    pub fn from_fourcc(code: [u8; 4]) -> Option<PixelFormat> {
        match &code {
            b"YUYV" => Some(PixelFormat::Yuyv),
            b"MJPG" | b"JPEG" => Some(PixelFormat::Mjpeg),
            b"GREY" => Some(PixelFormat::Grey),
            _ => None,
        }
    }
}

/// One captured frame as the driver hands it over.
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    pub fourcc: [u8; 4],
    pub width: u32,
    pub height: u32,
    /// Bytes per line (0: packed, the format's natural line length).
    pub stride: u32,
    pub data: &'a [u8],
}

fn bad(what: impl std::fmt::Display) -> CameraError {
    CameraError::BadFrame(what.to_string())
}

impl RawFrame<'_> {
    /// Checks the header against the bytes: a known format, a size within limits, and for
    /// raw formats enough bytes for every line. Returns the format and the line stride.
    pub fn check(&self) -> Result<(PixelFormat, usize), CameraError> {
        let fmt = PixelFormat::from_fourcc(self.fourcc).ok_or_else(|| {
            bad(format!(
                "unsupported pixel format {}",
                String::from_utf8_lossy(&self.fourcc)
            ))
        })?;
        if self.width == 0 || self.height == 0 || self.width > MAX_SIDE || self.height > MAX_SIDE {
            return Err(bad(format!(
                "frame size {}x{} out of range",
                self.width, self.height
            )));
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let natural = match fmt {
            PixelFormat::Yuyv => {
                if w % 2 != 0 {
                    return Err(bad("YUYV width must be even"));
                }
                w * 2
            }
            PixelFormat::Grey => w,
            PixelFormat::Mjpeg => return Ok((fmt, 0)),
        };
        let stride = if self.stride == 0 {
            natural
        } else {
            self.stride as usize
        };
        if stride < natural {
            return Err(bad(format!(
                "stride {stride} shorter than a line ({natural})"
            )));
        }
        let need = stride * (h - 1) + natural;
        if self.data.len() < need {
            return Err(bad(format!(
                "{} bytes for a {}x{} frame ({need} needed)",
                self.data.len(),
                w,
                h
            )));
        }
        Ok((fmt, stride))
    }

    /// The frame in grey, for QR scanning.
    pub fn to_grey(&self) -> Result<Frame, CameraError> {
        let (fmt, stride) = self.check()?;
        let (w, h) = (self.width as usize, self.height as usize);
        match fmt {
            PixelFormat::Yuyv => Ok(Frame {
                width: self.width,
                height: self.height,
                grey: yuyv_to_grey(self.data, w, h, stride),
            }),
            PixelFormat::Grey => {
                let mut grey = Vec::with_capacity(w * h);
                for row in self.data.chunks(stride).take(h) {
                    grey.extend_from_slice(&row[..w]);
                }
                Ok(Frame {
                    width: self.width,
                    height: self.height,
                    grey,
                })
            }
            PixelFormat::Mjpeg => Ok(decode_jpeg(self.data, true)?.to_grey()),
        }
    }

    /// The frame in RGB, for stills: (width, height, pixels).
    pub fn to_rgb(&self) -> Result<(u32, u32, Vec<u8>), CameraError> {
        let (fmt, stride) = self.check()?;
        let (w, h) = (self.width as usize, self.height as usize);
        match fmt {
            PixelFormat::Yuyv => Ok((
                self.width,
                self.height,
                yuyv_to_rgb(self.data, w, h, stride),
            )),
            PixelFormat::Grey => {
                let g = self.to_grey()?;
                Ok((
                    g.width,
                    g.height,
                    g.grey.iter().flat_map(|&v| [v, v, v]).collect(),
                ))
            }
            PixelFormat::Mjpeg => {
                let img = decode_jpeg(self.data, false)?;
                Ok((img.width, img.height, img.to_rgb()))
            }
        }
    }
}

/// The luma bytes of a YUYV frame (`data` already checked to hold `h` lines of `stride`).
pub fn yuyv_to_grey(data: &[u8], w: usize, h: usize, stride: usize) -> Vec<u8> {
    let mut grey = Vec::with_capacity(w * h);
    for row in data.chunks(stride).take(h) {
        grey.extend(row[..w * 2].iter().step_by(2));
    }
    grey
}

#[inline]
fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// BT.601 limited-range YUV to RGB, in integers.
#[inline]
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (i32::from(y) - 16) * 298;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    [
        clamp((c + 409 * e + 128) >> 8),
        clamp((c - 100 * d - 208 * e + 128) >> 8),
        clamp((c + 516 * d + 128) >> 8),
    ]
}

/// RGB of a YUYV frame.
pub fn yuyv_to_rgb(data: &[u8], w: usize, h: usize, stride: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in data.chunks(stride).take(h) {
        for px in row[..w * 2].chunks_exact(4) {
            let (y0, u, y1, v) = (px[0], px[1], px[2], px[3]);
            rgb.extend_from_slice(&yuv_to_rgb(y0, u, v));
            rgb.extend_from_slice(&yuv_to_rgb(y1, u, v));
        }
    }
    rgb
}

/// The formats a camera offers, in the order the kiosk prefers them for a purpose.
pub fn preferred_formats(offered: &[[u8; 4]], for_still: bool) -> Vec<PixelFormat> {
    let order: &[PixelFormat] = if for_still {
        // Stills are large: MJPEG keeps USB 2 bandwidth in reach.
        &[PixelFormat::Mjpeg, PixelFormat::Yuyv, PixelFormat::Grey]
    } else {
        // Preview: raw luma is free; MJPEG needs a decode.
        &[PixelFormat::Grey, PixelFormat::Yuyv, PixelFormat::Mjpeg]
    };
    order
        .iter()
        .copied()
        .filter(|f| offered.contains(&f.fourcc()))
        .collect()
}

/// Preview size for QR scanning.
pub const PREVIEW: (u32, u32) = (640, 480);

fn io_err(path: &Path, e: std::io::Error) -> CameraError {
    match e.kind() {
        std::io::ErrorKind::NotFound => CameraError::NotFound(path.display().to_string()),
        std::io::ErrorKind::ResourceBusy => CameraError::Busy(path.display().to_string()),
        _ => CameraError::Io(format!("{}: {e}", path.display())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Preview,
    Still,
}

/// A V4L2 capture device.
pub struct V4l2Camera {
    path: PathBuf,
    dev: Device,
    stream: Option<(Mode, MmapStream<'static>, v4l::Format)>,
    offered: Vec<[u8; 4]>,
}

impl V4l2Camera {
    pub fn open(path: &Path) -> Result<Self, CameraError> {
        if !path.exists() {
            return Err(CameraError::NotFound(format!(
                "{} does not exist (camera unplugged?)",
                path.display()
            )));
        }
        let dev = Device::with_path(path).map_err(|e| io_err(path, e))?;
        let caps = dev.query_caps().map_err(|e| io_err(path, e))?;
        use v4l::capability::Flags;
        if !caps.capabilities.contains(Flags::VIDEO_CAPTURE)
            || !caps.capabilities.contains(Flags::STREAMING)
        {
            return Err(CameraError::NotFound(format!(
                "{} ({}) is not a streaming capture device",
                path.display(),
                caps.card
            )));
        }
        let offered: Vec<[u8; 4]> = dev
            .enum_formats()
            .map_err(|e| io_err(path, e))?
            .into_iter()
            .map(|d| d.fourcc.repr)
            .collect();
        if preferred_formats(&offered, false).is_empty() {
            return Err(CameraError::BadFrame(format!(
                "{} offers no YUYV, MJPEG or GREY format",
                path.display()
            )));
        }
        tracing::info!(camera = %path.display(), card = %caps.card, "camera open");
        Ok(Self {
            path: path.to_path_buf(),
            dev,
            stream: None,
            offered,
        })
    }

    fn largest_size(&self, fourcc: [u8; 4]) -> (u32, u32) {
        let sizes = self
            .dev
            .enum_framesizes(FourCC::new(&fourcc))
            .unwrap_or_default();
        sizes
            .into_iter()
            .flat_map(|s| s.size.to_discrete())
            .map(|d| (d.width, d.height))
            .filter(|&(w, h)| w <= MAX_SIDE && h <= MAX_SIDE)
            .max_by_key(|&(w, h)| u64::from(w) * u64::from(h))
            .unwrap_or(PREVIEW)
    }

    fn configure(&mut self, mode: Mode) -> Result<(), CameraError> {
        if matches!(&self.stream, Some((m, _, _)) if *m == mode) {
            return Ok(());
        }
        // Stop the running stream before changing the format.
        self.stream = None;
        let mut last = CameraError::BadFrame("no usable format".into());
        for fmt in preferred_formats(&self.offered, mode == Mode::Still) {
            let (w, h) = match mode {
                Mode::Preview => PREVIEW,
                Mode::Still => self.largest_size(fmt.fourcc()),
            };
            let want = v4l::Format::new(w, h, FourCC::new(&fmt.fourcc()));
            let got = match self.dev.set_format(&want) {
                Ok(f) => f,
                Err(e) => {
                    last = io_err(&self.path, e);
                    continue;
                }
            };
            if got.fourcc.repr != fmt.fourcc() {
                continue;
            }
            let mut stream = MmapStream::with_buffers(&self.dev, Type::VideoCapture, 4)
                .map_err(|e| io_err(&self.path, e))?;
            stream.set_timeout(Duration::from_secs(2));
            self.stream = Some((mode, stream, got));
            return Ok(());
        }
        Err(last)
    }

    fn next_raw<T>(
        &mut self,
        f: impl FnOnce(RawFrame<'_>) -> Result<T, CameraError>,
    ) -> Result<T, CameraError> {
        let path = self.path.clone();
        let Some((_, stream, fmt)) = self.stream.as_mut() else {
            return Err(CameraError::Io("camera stream not started".into()));
        };
        let (buf, meta) = stream.next().map_err(|e| io_err(&path, e))?;
        let used = (meta.bytesused as usize).min(buf.len());
        f(RawFrame {
            fourcc: fmt.fourcc.repr,
            width: fmt.width,
            height: fmt.height,
            stride: fmt.stride,
            data: &buf[..used],
        })
    }
}

impl Camera for V4l2Camera {
    fn grab(&mut self) -> Result<Frame, CameraError> {
        self.configure(Mode::Preview)?;
        self.next_raw(|raw| raw.to_grey())
    }

    fn capture_still(&mut self) -> Result<Still, CameraError> {
        self.configure(Mode::Still)?;
        // The first frames after a format change are often dark (auto exposure settling).
        for _ in 0..3 {
            self.next_raw(|_| Ok(()))?;
        }
        let still = self.next_raw(|raw| {
            let (width, height, rgb) = raw.to_rgb()?;
            let jpeg = if PixelFormat::from_fourcc(raw.fourcc) == Some(PixelFormat::Mjpeg) {
                raw.data.to_vec()
            } else {
                encode_jpeg(width, height, &rgb, 90)?
            };
            Ok(Still {
                width,
                height,
                rgb,
                jpeg,
            })
        });
        // Back to preview on the next grab.
        self.stream = None;
        still
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_luma_is_every_other_byte() {
        // 4x2, Y values 10..17, chroma 128.
        let mut data = Vec::new();
        for y in 0..2u8 {
            for x in 0..2u8 {
                let base = 10 + y * 4 + x * 2;
                data.extend([base, 128, base + 1, 128]);
            }
        }
        let raw = RawFrame {
            fourcc: *b"YUYV",
            width: 4,
            height: 2,
            stride: 0,
            data: &data,
        };
        let f = raw.to_grey().unwrap();
        assert_eq!(f.grey, [10, 11, 12, 13, 14, 15, 16, 17]);
    }

    #[test]
    fn yuyv_honours_the_stride() {
        // Lines padded to 12 bytes; padding bytes are 0xEE and must not show up.
        let data = [
            1, 128, 2, 128, 3, 128, 4, 128, 0xEE, 0xEE, 0xEE, 0xEE, //
            5, 128, 6, 128, 7, 128, 8, 128,
        ];
        let raw = RawFrame {
            fourcc: *b"YUYV",
            width: 4,
            height: 2,
            stride: 12,
            data: &data,
        };
        assert_eq!(raw.to_grey().unwrap().grey, [1, 2, 3, 4, 5, 6, 7, 8]);
        let (w, h, rgb) = raw.to_rgb().unwrap();
        assert_eq!((w, h, rgb.len()), (4, 2, 24));
    }

    #[test]
    fn yuv_colours_are_bt601() {
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        // Saturated red, green and blue of BT.601 limited range.
        let red = yuv_to_rgb(81, 90, 240);
        assert!(red[0] > 250 && red[1] < 5 && red[2] < 5, "{red:?}");
        let green = yuv_to_rgb(145, 54, 34);
        assert!(green[1] > 250 && green[0] < 5 && green[2] < 5, "{green:?}");
        let blue = yuv_to_rgb(41, 240, 110);
        assert!(blue[2] > 250 && blue[0] < 5 && blue[1] < 5, "{blue:?}");
    }

    #[test]
    fn grey_frames_are_copied_line_by_line() {
        let data = [1, 2, 3, 9, 4, 5, 6];
        let raw = RawFrame {
            fourcc: *b"GREY",
            width: 3,
            height: 2,
            stride: 4,
            data: &data,
        };
        assert_eq!(raw.to_grey().unwrap().grey, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn mjpeg_frames_decode() {
        let rgb = vec![200u8; 32 * 16 * 3];
        let jpeg = encode_jpeg(32, 16, &rgb, 90).unwrap();
        let raw = RawFrame {
            fourcc: *b"MJPG",
            width: 32,
            height: 16,
            stride: 0,
            data: &jpeg,
        };
        let f = raw.to_grey().unwrap();
        assert_eq!((f.width, f.height), (32, 16));
        assert!(f.grey.iter().all(|&v| v.abs_diff(200) < 6));
        assert_eq!(raw.to_rgb().unwrap().2.len(), 32 * 16 * 3);
    }

    #[test]
    fn bad_headers_are_errors() {
        let data = [0u8; 16];
        let frame = |fourcc: &[u8; 4], w, h, stride| RawFrame {
            fourcc: *fourcc,
            width: w,
            height: h,
            stride,
            data: &data,
        };
        assert!(frame(b"NV12", 2, 2, 0).to_grey().is_err());
        assert!(frame(b"YUYV", 0, 2, 0).to_grey().is_err());
        assert!(frame(b"YUYV", 3, 2, 0).to_grey().is_err(), "odd width");
        assert!(
            frame(b"YUYV", 4, 3, 0).to_grey().is_err(),
            "24 bytes needed"
        );
        assert!(
            frame(b"YUYV", 4, 2, 4).to_grey().is_err(),
            "stride too short"
        );
        assert!(frame(b"YUYV", 4, 2, 0).to_grey().is_ok());
        assert!(frame(b"GREY", 4, 4, 0).to_grey().is_ok());
        assert!(frame(b"GREY", 4, 5, 0).to_grey().is_err());
        assert!(frame(b"GREY", 9000, 1, 0).to_grey().is_err());
        assert!(frame(b"MJPG", 4, 4, 0).to_grey().is_err(), "not a JPEG");
    }

    #[test]
    fn format_preferences() {
        let offered = [*b"MJPG", *b"YUYV"];
        assert_eq!(
            preferred_formats(&offered, false),
            [PixelFormat::Yuyv, PixelFormat::Mjpeg]
        );
        assert_eq!(
            preferred_formats(&offered, true),
            [PixelFormat::Mjpeg, PixelFormat::Yuyv]
        );
        assert!(preferred_formats(&[*b"NV12"], false).is_empty());
    }

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        let e = V4l2Camera::open(Path::new("/dev/video-none"))
            .err()
            .unwrap();
        assert!(matches!(e, CameraError::NotFound(_)), "{e}");
        assert!(e.to_string().contains("/dev/video-none"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("video0");
        std::fs::write(&p, b"").unwrap();
        assert!(V4l2Camera::open(&p).is_err());
    }
}
