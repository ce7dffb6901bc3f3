//! First-class simulators: the demo default and the kiosk's test bench.
//!
//! The device side of each protocol lives in the `kiosk-sims` crate, written from the public
//! descriptions and sharing no code or constant with these drivers (that crate cannot depend on
//! this one). [`SimDevices`] runs the real drivers against them: the ID card reader state
//! machine exchanges SAM frames with [`SimIdCardReader`] over a byte link (in memory, or a
//! pseudo-terminal), the scanner framer reads CR LF lines from [`SimScanner`], the printer
//! driver queries [`SimPrinter`] with `DLE EOT`, and the camera loop decodes QR codes from
//! [`SimCamera`] frames. A cloneable [`SimControl`] plays the citizen and the staff: places
//! cards, scans codes, runs the paper out.

pub mod camera;
mod config;
pub mod corpus;
mod links;
mod loops;
pub mod serve;
mod shared;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use crate::file_camera::FileCamera;
pub use camera::SimCamera;
pub use config::{ReaderLink, SimError, SimFault, SimOptions};
pub use links::{
    PaperState, ReaderFault, SimCard, SimCardKind, SimIdCardReader, SimPrinter, SimScanner,
    demo_card,
};

use crate::camera::{Camera, CameraError, Still};
use crate::printer::{PrintError, Printer, PrinterDevice, PrinterStatus};
use crate::transport::{MemoryLink, SerialTransport, Transport};
use crate::uri::DeviceUri;
use crate::{DeviceEvent, DeviceKind, EventSink, Health};
use loops::{camera_loop, reader_device_loop, reader_host_loop, scanner_loop};
use shared::{Shared, SimCameraDevice, SimPrinterDevice, lock};

/// The simulated devices, running. Stops its threads when dropped.
pub struct SimDevices {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Plays the citizen and the staff. Clones act on the same devices.
#[derive(Clone)]
pub struct SimControl {
    shared: Arc<Shared>,
}

impl SimDevices {
    /// Starts every simulated device with default options.
    pub fn start(sink: EventSink) -> SimDevices {
        match Self::start_with(sink.clone(), SimOptions::default()) {
            Ok(d) => d,
            Err(e) => {
                // Only a pseudo-terminal can fail to open, and the default link is in memory.
                tracing::error!(error = %e, "simulators could not start");
                sink(DeviceEvent::Health(
                    DeviceKind::IdCard,
                    Health::Absent(e.to_string()),
                ));
                Self::inert(sink)
            }
        }
    }

    /// Starts with the devices a `sim:` URI describes (its faults).
    pub fn from_uri(uri: &DeviceUri, sink: EventSink) -> Result<SimDevices, SimError> {
        Self::start_with(sink, SimOptions::from_uri(uri)?)
    }

    fn shared(
        sink: EventSink,
        opts: &SimOptions,
        scanner: SimScanner,
    ) -> Result<Arc<Shared>, SimError> {
        let printer = SimPrinter::new();
        let printer = match &opts.printer_file {
            Some(p) => printer.with_output_file(p.clone())?,
            None => printer,
        };
        let driver = Printer::new(printer.clone())
            .with_reply_timeout(Duration::from_millis(200))
            .with_completion_check(Duration::from_secs(1));
        Ok(Arc::new(Shared {
            sink,
            reader: Mutex::new(SimIdCardReader::new()),
            printer,
            driver: Mutex::new(driver),
            camera: Mutex::new(SimCamera::new()),
            scanner: Mutex::new(scanner),
            scanning: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            health: Mutex::new(Vec::new()),
        }))
    }

    /// Devices that do nothing (when the simulators could not start).
    fn inert(sink: EventSink) -> SimDevices {
        let (scanner, _host) = SimScanner::pair();
        let printer = SimPrinter::new();
        let shared = Arc::new(Shared {
            sink,
            reader: Mutex::new(SimIdCardReader::new()),
            driver: Mutex::new(Printer::new(printer.clone())),
            printer,
            camera: Mutex::new(SimCamera::new()),
            scanner: Mutex::new(scanner),
            scanning: AtomicBool::new(false),
            stop: AtomicBool::new(true),
            health: Mutex::new(Vec::new()),
        });
        SimDevices {
            shared,
            threads: Vec::new(),
        }
    }

    /// Starts every simulated device.
    pub fn start_with(sink: EventSink, opts: SimOptions) -> Result<SimDevices, SimError> {
        let (scanner, scanner_host) = SimScanner::pair();
        let shared = Self::shared(sink, &opts, scanner)?;
        let (reader_host, reader_dev): (Box<dyn Transport>, Box<dyn Transport>) =
            match opts.reader_link {
                ReaderLink::Memory => {
                    let (h, d) = MemoryLink::pair();
                    (Box::new(h), Box::new(d))
                }
                ReaderLink::Pty => {
                    let (master, slave) = serialport::TTYPort::pair().map_err(io::Error::from)?;
                    (
                        Box::new(SerialTransport::from_port(Box::new(master))),
                        Box::new(SerialTransport::from_port(Box::new(slave))),
                    )
                }
            };

        let control = SimControl {
            shared: shared.clone(),
        };
        for fault in &opts.faults {
            control.apply_fault(*fault)?;
        }

        let mut threads = Vec::new();
        let mut spawn = |name: &str, f: Box<dyn FnOnce() + Send>| match thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
        {
            Ok(h) => threads.push(h),
            Err(e) => {
                tracing::error!(error = %e, thread = name, "could not start a simulator thread")
            }
        };

        let s = shared.clone();
        spawn(
            "sim-idcard-device",
            Box::new(move || reader_device_loop(&s, reader_dev)),
        );
        let s = shared.clone();
        let reader_cfg = opts.reader.clone();
        spawn(
            "sim-idcard-host",
            Box::new(move || reader_host_loop(&s, reader_host, reader_cfg)),
        );
        let s = shared.clone();
        let scanner_cfg = opts.scanner.clone();
        spawn(
            "sim-scanner",
            Box::new(move || scanner_loop(&s, scanner_host, scanner_cfg)),
        );
        let s = shared.clone();
        let interval = opts.camera_interval;
        spawn("sim-camera", Box::new(move || camera_loop(&s, interval)));

        shared.set_health(DeviceKind::Scanner, Health::Ok);
        shared.refresh_printer_health();
        shared.refresh_camera_health();
        Ok(SimDevices { shared, threads })
    }

    pub fn control(&self) -> SimControl {
        SimControl {
            shared: self.shared.clone(),
        }
    }

    /// Prints a job through the real printer driver (status checked first).
    pub fn print(&self, job: &[u8]) -> Result<(), PrintError> {
        self.shared.print(job)
    }

    pub fn printer_status(&self) -> Result<PrinterStatus, PrintError> {
        self.shared.printer_status()
    }

    /// The printer as the kiosk uses any printer.
    pub fn printer(&self) -> Box<dyn PrinterDevice> {
        Box::new(SimPrinterDevice {
            shared: self.shared.clone(),
        })
    }

    /// The camera as the kiosk uses any camera.
    pub fn camera(&self) -> Box<dyn Camera> {
        Box::new(SimCameraDevice {
            shared: self.shared.clone(),
        })
    }

    pub fn capture_still(&self) -> Result<Still, CameraError> {
        self.shared.capture_still()
    }

    /// Starts or stops looking for QR codes (about five frames a second).
    pub fn set_camera_scanning(&self, on: bool) {
        self.shared.scanning.store(on, Ordering::Relaxed);
    }

    /// Every byte printed so far (empty if the printer state is unusable).
    pub fn printed(&self) -> Vec<u8> {
        self.shared.printer.printed().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "simulated printer state unreadable");
            Vec::new()
        })
    }
}

impl Drop for SimDevices {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("a simulator thread failed");
            }
        }
    }
}

impl SimControl {
    fn apply_fault(&self, fault: SimFault) -> Result<(), SimError> {
        match fault {
            SimFault::PaperOut => self.set_paper(PaperState::Out),
            SimFault::PaperNearEnd => self.set_paper(PaperState::NearEnd),
            SimFault::CoverOpen => self.set_cover_open(true),
            SimFault::PrinterOffline => self.set_printer_offline(true),
            SimFault::PrinterSilent => self.set_printer_connected(false),
            SimFault::CameraMissing => self.set_camera_present(false),
            SimFault::ReaderSilent => self.set_reader_fault(Some(ReaderFault::Silent)),
            SimFault::ReaderSamFault => self.set_reader_fault(Some(ReaderFault::Status(0x60))),
            SimFault::ReaderNoise => self.set_reader_fault(Some(ReaderFault::Garbage)),
        }
    }

    /// Puts a card on the reader.
    pub fn place_card(&self, card: SimCard) -> Result<(), SimError> {
        lock(&self.shared.reader)?.place(card);
        Ok(())
    }

    /// Takes the card off the reader.
    pub fn remove_card(&self) -> Result<(), SimError> {
        lock(&self.shared.reader)?.remove();
        Ok(())
    }

    /// A fault in the reader's next reply.
    pub fn reader_fault(&self, fault: ReaderFault) -> Result<(), SimError> {
        lock(&self.shared.reader)?.inject(fault);
        Ok(())
    }

    /// A fault in every reader reply until cleared.
    pub fn set_reader_fault(&self, fault: Option<ReaderFault>) -> Result<(), SimError> {
        lock(&self.shared.reader)?.set_fault(fault);
        Ok(())
    }

    /// Makes every read of the card on the reader fail with this SW3 (a damaged card), or
    /// work again with `None`.
    pub fn set_card_read_status(&self, sw3: Option<u8>) -> Result<(), SimError> {
        lock(&self.shared.reader)?.set_read_status(sw3);
        Ok(())
    }

    /// The reader answers "found" again for a card it has read (as some readers do).
    pub fn set_reader_refinds_read_card(&self, on: bool) -> Result<(), SimError> {
        lock(&self.shared.reader)?.set_refind_read_card(on);
        Ok(())
    }

    /// Request frames the simulated reader has answered so far.
    pub fn reader_requests(&self) -> Result<usize, SimError> {
        Ok(lock(&self.shared.reader)?.requests())
    }

    /// As if a barcode were read: the payload and CR LF go through the scanner framer.
    pub fn scan(&self, payload: &str) -> Result<(), SimError> {
        lock(&self.shared.scanner)?.scan(payload)?;
        Ok(())
    }

    /// Raw bytes from the scanner (noise, binary).
    pub fn scan_raw(&self, bytes: &[u8]) -> Result<(), SimError> {
        lock(&self.shared.scanner)?.send_raw(bytes)?;
        Ok(())
    }

    /// Holds a QR code of `text` up to the camera (`None`: takes it away).
    pub fn show_qr(&self, text: Option<&str>) -> Result<(), SimError> {
        lock(&self.shared.camera)?.show(text);
        Ok(())
    }

    pub fn set_paper(&self, paper: PaperState) -> Result<(), SimError> {
        self.shared.printer.set_paper(paper)?;
        self.shared.refresh_printer_health();
        Ok(())
    }

    pub fn set_printer_offline(&self, offline: bool) -> Result<(), SimError> {
        self.shared.printer.set_offline(offline)?;
        self.shared.refresh_printer_health();
        Ok(())
    }

    pub fn set_cover_open(&self, open: bool) -> Result<(), SimError> {
        self.shared.printer.set_cover_open(open)?;
        self.shared.refresh_printer_health();
        Ok(())
    }

    /// Unplugs (false) or plugs in (true) the printer.
    pub fn set_printer_connected(&self, connected: bool) -> Result<(), SimError> {
        self.shared.printer.set_connected(connected)?;
        self.shared.refresh_printer_health();
        Ok(())
    }

    /// The paper runs out after `bytes` more printed bytes.
    pub fn run_paper_out_after(&self, bytes: usize) -> Result<(), SimError> {
        self.shared.printer.run_out_after(bytes)?;
        Ok(())
    }

    pub fn set_camera_present(&self, present: bool) -> Result<(), SimError> {
        lock(&self.shared.camera)?.set_present(present);
        self.shared.refresh_camera_health();
        Ok(())
    }

    /// Presses the physical help button.
    pub fn press_help(&self) {
        self.shared.emit(DeviceEvent::HelpButton);
    }

    /// Someone steps in front of (true) or away from (false) the kiosk.
    pub fn set_presence(&self, present: bool) {
        self.shared.emit(DeviceEvent::Presence(present));
    }

    /// Every byte printed so far.
    pub fn printed(&self) -> Result<Vec<u8>, SimError> {
        Ok(self.shared.printer.printed()?)
    }
}
