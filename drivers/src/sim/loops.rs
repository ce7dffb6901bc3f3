//! The simulator threads: the reader's device and host sides, the scanner framer and the camera
//! loop, each until the bundle stops.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::shared::Shared;
use crate::camera::decode_qr;
use crate::idcard::{self as id, Reader, ReaderConfig, ReaderOutput};
use crate::scanner::{LineFramer, ScanOutput, ScannerConfig};
use crate::transport::{MemoryLink, Transport};
use crate::{DeviceEvent, DeviceKind, Health};

/// A QR code seen again within this time is the same showing.
const QR_FORGET_AFTER: Duration = Duration::from_millis(1500);
const LOOP_TICK: Duration = Duration::from_millis(50);

pub(super) fn reader_device_loop(shared: &Shared, mut link: Box<dyn Transport>) {
    let mut buf = [0u8; 512];
    while !shared.stop.load(Ordering::Relaxed) {
        let n = match link.read(&mut buf, LOOP_TICK) {
            Ok(0) => continue,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "simulated reader link closed");
                return;
            }
        };
        let reply = match shared.reader.lock() {
            Ok(mut r) => r.handle(&buf[..n]),
            Err(_) => return,
        };
        if !reply.is_empty() && link.write(&reply).is_err() {
            return;
        }
    }
}

pub(super) fn reader_host_loop(shared: &Shared, mut link: Box<dyn Transport>, cfg: ReaderConfig) {
    let mut reader = Reader::new(cfg);
    let mut emit = |o: ReaderOutput| {
        let e = match o {
            ReaderOutput::CardRead(card) => DeviceEvent::CardRead(card),
            ReaderOutput::CardError(m) => DeviceEvent::CardError(m),
            ReaderOutput::CardStays => DeviceEvent::CardStays,
            ReaderOutput::CardRemoved => DeviceEvent::CardRemoved,
            ReaderOutput::Health(h) => DeviceEvent::Health(DeviceKind::IdCard, h),
        };
        shared.emit(e);
    };
    if let Err(e) = id::run(link.as_mut(), &mut reader, &shared.stop, &mut emit) {
        tracing::debug!(error = %e, "simulated reader stopped");
    }
}

pub(super) fn scanner_loop(shared: &Shared, mut link: MemoryLink, cfg: ScannerConfig) {
    let mut framer = LineFramer::new(cfg);
    let mut buf = [0u8; 256];
    while !shared.stop.load(Ordering::Relaxed) {
        let n = match link.read(&mut buf, LOOP_TICK) {
            Ok(n) => n,
            Err(_) => return,
        };
        // Called with no bytes too, as on real links: silence can end a code.
        for out in framer.push(&buf[..n], Instant::now()) {
            shared.emit(match out {
                ScanOutput::Payload(p) => DeviceEvent::Scanned(p),
                ScanOutput::Rejected(r) => DeviceEvent::ScanRejected(r),
            });
        }
    }
}

pub(super) fn camera_loop(shared: &Shared, interval: Duration) {
    let mut last: Option<(String, Instant)> = None;
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            thread::sleep((next - now).min(LOOP_TICK));
            continue;
        }
        next = now + interval;
        if !shared.scanning.load(Ordering::Relaxed) {
            last = None;
            continue;
        }
        match shared.grab() {
            Ok(frame) => {
                shared.set_health(DeviceKind::Camera, Health::Ok);
                match decode_qr(&frame) {
                    Some(text) => {
                        let same = last.as_ref().is_some_and(|(t, _)| *t == text);
                        last = Some((text.clone(), Instant::now()));
                        if !same {
                            shared.emit(DeviceEvent::QrSeen(text));
                        }
                    }
                    None => {
                        if last
                            .as_ref()
                            .is_some_and(|(_, at)| at.elapsed() >= QR_FORGET_AFTER)
                        {
                            last = None;
                        }
                    }
                }
            }
            Err(e) => shared.set_health(DeviceKind::Camera, Health::Absent(e.to_string())),
        }
    }
}
