//! Opening device links, the loops that read a scanner and a camera, and the slots the kiosk's
//! calls share with those loops.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::camera::{Camera, CameraError, decode_qr};
use crate::gpio::{CdevLines, GpioLines};
use crate::hotplug::{HealthBoard, Stop};
use crate::printer::Printer;
use crate::scanner::{LineFramer, ScanOutput};
use crate::transport::{self, Transport};
use crate::uri::DeviceUri;
use crate::usb::{IDCARD_ENDPOINTS, UsbBulkTransport};
use crate::usb_split::Framing;
use crate::{DeviceEvent, DeviceKind, Health};

/// The same QR code seen again within this time is the same showing.
const QR_FORGET_AFTER: Duration = Duration::from_millis(1500);

/// Reports a QR code once per showing.
#[derive(Debug, Default)]
pub struct QrShowing {
    last: Option<(String, Instant)>,
}

impl QrShowing {
    /// Takes what a frame showed; returns the text when it is a new showing.
    pub fn frame(&mut self, seen: Option<String>, now: Instant) -> Option<String> {
        match seen {
            Some(text) => {
                let same = self.last.as_ref().is_some_and(|(t, _)| *t == text);
                self.last = Some((text.clone(), now));
                (!same).then_some(text)
            }
            None => {
                if self
                    .last
                    .as_ref()
                    .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= QR_FORGET_AFTER)
                {
                    self.last = None;
                }
                None
            }
        }
    }

    pub fn clear(&mut self) {
        self.last = None;
    }
}

pub(super) struct PrinterSlot {
    pub(super) link: Mutex<Option<Printer<Box<dyn Transport>>>>,
}

pub(super) struct CameraSlot {
    pub(super) cam: Mutex<Option<Box<dyn Camera>>>,
    pub(super) scanning: AtomicBool,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that failed while holding a device's lock leaves valid state (every update is
    // a single assignment): carry on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the byte link a URI names for a kind of device: `serial://` (at the kind's usual
/// rate when the URI gives none: 115200 for ID card readers, 9600 otherwise), `tcp://`,
/// `file://`, and `usb://` bulk endpoints (the reader's known endpoint pairs first; a printer's
/// printer-class interface). Cameras, input devices and GPIO are no byte links.
pub fn open_device(uri: &DeviceUri, kind: DeviceKind) -> io::Result<Box<dyn Transport>> {
    match uri {
        DeviceUri::Usb {
            vendor,
            product,
            frames,
        } => {
            let (preferred, printer, frames): (&[(u8, u8)], bool, Framing) = match kind {
                DeviceKind::IdCard => (&IDCARD_ENDPOINTS, false, *frames),
                DeviceKind::Printer => (&[], true, Framing::Whole),
                _ => (&[], false, Framing::Whole),
            };
            Ok(Box::new(UsbBulkTransport::open(
                *vendor, *product, preferred, printer, frames,
            )?))
        }
        other => {
            let baud = if kind == DeviceKind::IdCard {
                115_200
            } else {
                9_600
            };
            transport::open(other, baud)
        }
    }
}

/// Opens a scanner: serial, TCP or a grabbed keyboard-wedge input device.
pub fn open_scanner(uri: &DeviceUri) -> io::Result<Box<dyn Transport>> {
    match uri {
        DeviceUri::Evdev { path } => Ok(Box::new(crate::wedge::EvdevScanner::open(path)?)),
        other => open_device(other, DeviceKind::Scanner),
    }
}

/// Opens a camera: V4L2, or image files played as frames.
pub fn open_camera(uri: &DeviceUri) -> Result<Box<dyn Camera>, CameraError> {
    match uri {
        DeviceUri::V4l2 { path } => Ok(Box::new(crate::v4l2::V4l2Camera::open(path)?)),
        DeviceUri::File { path } => Ok(Box::new(crate::file_camera::FileCamera::open(path)?)),
        other => Err(CameraError::NotFound(format!("{other} is not a camera"))),
    }
}

/// Reads a scanner until `stop` or a link error: bytes through the framer's limits, payloads
/// and rejections out as events.
pub fn run_scanner(
    link: &mut dyn Transport,
    framer: &mut LineFramer,
    stop: &Stop,
    emit: &mut dyn FnMut(DeviceEvent),
) -> std::io::Result<()> {
    let mut buf = [0u8; 256];
    while !stop.is_set() {
        let n = link.read(&mut buf, Duration::from_millis(50))?;
        // Called with no bytes too, so that a stale partial line is dropped in time.
        for out in framer.push(&buf[..n], Instant::now()) {
            emit(match out {
                ScanOutput::Payload(p) => DeviceEvent::Scanned(p),
                ScanOutput::Rejected(r) => DeviceEvent::ScanRejected(r),
            });
        }
    }
    Ok(())
}

pub(super) fn camera_loop(
    uri: &DeviceUri,
    slot: &CameraSlot,
    stop: &Stop,
    board: &HealthBoard,
    interval: Duration,
    poll: Duration,
) -> Result<(), String> {
    let mut showing = QrShowing::default();
    let path = match uri {
        DeviceUri::V4l2 { path } | DeviceUri::File { path } => Some(path.clone()),
        _ => None,
    };
    let mut last_check = Instant::now();
    while !stop.is_set() {
        if !slot.scanning.load(Ordering::Relaxed) {
            showing.clear();
            if last_check.elapsed() >= poll {
                last_check = Instant::now();
                // An idle camera is not read; a vanished device node is how an unplug shows.
                if let Some(p) = &path
                    && !p.exists()
                {
                    return Err(
                        CameraError::NotFound(format!("{} went away", p.display())).to_string()
                    );
                }
                if lock(&slot.cam).is_none() {
                    return Err("摄像头连接中断 (camera link lost)".into());
                }
            }
            stop.sleep(interval.min(Duration::from_millis(100)));
            continue;
        }
        let started = Instant::now();
        let frame = {
            let mut guard = lock(&slot.cam);
            match guard.as_mut() {
                None => return Err("摄像头连接中断 (camera link lost)".into()),
                Some(cam) => cam.grab(),
            }
        };
        match frame {
            Ok(frame) => {
                board.set(DeviceKind::Camera, Health::Ok);
                if let Some(text) = showing.frame(decode_qr(&frame), Instant::now()) {
                    board.emit(DeviceEvent::QrSeen(text));
                }
            }
            Err(e @ CameraError::BadFrame(_)) => {
                board.set(DeviceKind::Camera, Health::Degraded(e.to_string()));
            }
            Err(e) => return Err(e.to_string()),
        }
        stop.sleep(interval.saturating_sub(started.elapsed()));
    }
    Ok(())
}

/// A board's GPIO lines: on a Raspberry Pi with the `rpi` feature through its registers
/// (`rppal`), otherwise through the GPIO character device.
pub(super) fn open_board_lines(pins: &crate::board::GpioPins) -> io::Result<Box<dyn GpioLines>> {
    #[cfg(feature = "rpi")]
    if crate::rpi::detect_profile().is_some() {
        return crate::rpi::RppalLines::open(pins).map(|l| Box::new(l) as Box<dyn GpioLines>);
    }
    CdevLines::open(pins).map(|l| Box::new(l) as Box<dyn GpioLines>)
}
