//! The state the simulator threads and the controls share, and the device handles the kiosk's
//! calls go through.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use super::camera::SimCamera;
use super::config::SimError;
use super::links::{self, SimIdCardReader, SimPrinter, SimScanner};
use crate::camera::{Camera, CameraError, Still};
use crate::printer::{PrintError, Printer, PrinterDevice, PrinterStatus};
use crate::{DeviceEvent, DeviceKind, EventSink, Health};

pub(super) struct Shared {
    pub(super) sink: EventSink,
    pub(super) reader: Mutex<SimIdCardReader>,
    pub(super) printer: SimPrinter,
    pub(super) driver: Mutex<Printer<SimPrinter>>,
    pub(super) camera: Mutex<SimCamera>,
    pub(super) scanner: Mutex<SimScanner>,
    pub(super) scanning: AtomicBool,
    pub(super) stop: AtomicBool,
    pub(super) health: Mutex<Vec<(DeviceKind, Health)>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, SimError> {
    m.lock().map_err(|_| SimError::Poisoned)
}

impl Shared {
    pub(super) fn emit(&self, e: DeviceEvent) {
        (self.sink)(e);
    }

    /// Publishes a device's health if it changed.
    pub(super) fn set_health(&self, kind: DeviceKind, h: Health) {
        let Ok(mut all) = self.health.lock() else {
            return;
        };
        match all.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, old)) if *old == h => return,
            Some((_, old)) => *old = h.clone(),
            None => all.push((kind, h.clone())),
        }
        drop(all);
        self.emit(DeviceEvent::Health(kind, h));
    }

    pub(super) fn refresh_printer_health(&self) {
        let h = match self.printer.condition() {
            Ok(c) if !c.connected => Health::Absent(PrintError::NoReply.to_string()),
            Ok(c) => links::printer_status(c).health(),
            Err(_) => Health::Absent("模拟打印机不可用 (simulated printer unusable)".into()),
        };
        self.set_health(DeviceKind::Printer, h);
    }

    pub(super) fn refresh_camera_health(&self) {
        let h = match self.camera.lock() {
            Ok(c) if c.present() => Health::Ok,
            Ok(_) => Health::Absent(
                CameraError::NotFound("simulated camera unplugged".into()).to_string(),
            ),
            Err(_) => Health::Absent("模拟摄像头不可用 (simulated camera unusable)".into()),
        };
        self.set_health(DeviceKind::Camera, h);
    }

    pub(super) fn print(&self, job: &[u8]) -> Result<(), PrintError> {
        let result = match self.driver.lock() {
            Ok(mut d) => d.print(job),
            Err(_) => Err(PrintError::Unavailable("printer driver state lost".into())),
        };
        self.refresh_printer_health();
        result
    }

    pub(super) fn printer_status(&self) -> Result<PrinterStatus, PrintError> {
        let result = match self.driver.lock() {
            Ok(mut d) => d.status(),
            Err(_) => Err(PrintError::Unavailable("printer driver state lost".into())),
        };
        self.refresh_printer_health();
        result
    }

    pub(super) fn capture_still(&self) -> Result<Still, CameraError> {
        let result = match self.camera.lock() {
            Ok(mut c) => c.capture_still(),
            Err(_) => Err(CameraError::Io("simulated camera state lost".into())),
        };
        self.refresh_camera_health();
        result
    }

    pub(super) fn grab(&self) -> Result<crate::camera::Frame, CameraError> {
        match self.camera.lock() {
            Ok(mut c) => c.grab(),
            Err(_) => Err(CameraError::Io("simulated camera state lost".into())),
        }
    }
}

pub(super) struct SimPrinterDevice {
    pub(super) shared: Arc<Shared>,
}

impl PrinterDevice for SimPrinterDevice {
    fn print(&mut self, job: &[u8]) -> Result<(), PrintError> {
        self.shared.print(job)
    }
    fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        self.shared.printer_status()
    }
}

pub(super) struct SimCameraDevice {
    pub(super) shared: Arc<Shared>,
}

impl Camera for SimCameraDevice {
    fn grab(&mut self) -> Result<crate::camera::Frame, CameraError> {
        let r = self.shared.grab();
        self.shared.refresh_camera_health();
        r
    }
    fn capture_still(&mut self) -> Result<Still, CameraError> {
        self.shared.capture_still()
    }
}
