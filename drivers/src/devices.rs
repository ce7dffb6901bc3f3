//! The kiosk's devices, real or simulated per URI, supervised: [`Devices::start`] is the one
//! call the kiosk makes.
//!
//! Each real device runs in its own thread under [`crate::hotplug::supervise`]: it opens its
//! link by URI, publishes its health, and when unplugged goes absent and comes back by itself
//! with backoff (0.5 s doubling to 8 s). Devices named `sim:` are served by one
//! `SimDevices` bundle (its `SimControl` plays the citizen), so a kiosk can run with a
//! real printer and a simulated reader, or the other way round; a build without the `sim`
//! feature (the appliance) refuses `sim:` as a configuration error. Events of every device go
//! into the kiosk's [`EventSink`]; health changes only when they change.

mod config;
mod links;

pub use config::{DeviceConfig, DevicesError, GpioConfig, accepts, check, event_kind};
use links::{CameraSlot, PrinterSlot, camera_loop, lock, open_board_lines};
pub use links::{QrShowing, open_camera, open_device, open_scanner, run_scanner};
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::camera::{CameraError, Still};
use crate::gpio::{GpioLines, LightPattern, SimLines, run_lines};
use crate::hotplug::{HealthBoard, Stop, supervise};
use crate::idcard::{self, Reader, ReaderOutput};
use crate::printer::{PrintError, Printer, PrinterStatus};
use crate::scanner::LineFramer;
#[cfg(feature = "sim")]
use crate::sim::{SimControl, SimDevices, SimFault, SimOptions};
use crate::transport::Transport;
use crate::uri::DeviceUri;
use crate::{DeviceEvent, DeviceKind, EventSink, Health};

/// The running devices. Stops every device thread when dropped.
pub struct Devices {
    stop: Arc<Stop>,
    board: Arc<HealthBoard>,
    threads: Vec<JoinHandle<()>>,
    #[cfg(feature = "sim")]
    sim: Option<SimDevices>,
    simulated: HashSet<DeviceKind>,
    printer: Option<Arc<PrinterSlot>>,
    camera: Option<Arc<CameraSlot>>,
    light: Arc<Mutex<LightPattern>>,
    sim_lines: Option<SimLines>,
}

impl Devices {
    /// Starts every device the configuration names. Real devices that are missing are not an
    /// error: they are reported absent and picked up when they appear.
    pub fn start(cfg: &DeviceConfig, sink: EventSink) -> Result<Devices, DevicesError> {
        let kinds = [
            DeviceKind::IdCard,
            DeviceKind::Scanner,
            DeviceKind::Printer,
            DeviceKind::Camera,
        ];
        let mut simulated = HashSet::new();
        for kind in kinds {
            let Some(uri) = cfg.uri(kind) else { continue };
            check(kind, uri)?;
            if matches!(uri, DeviceUri::Sim { .. }) {
                simulated.insert(kind);
            }
        }
        let board = Arc::new(HealthBoard::new(sink));
        let stop = Arc::new(Stop::new());
        let mut devices = Devices {
            stop: stop.clone(),
            board: board.clone(),
            threads: Vec::new(),
            #[cfg(feature = "sim")]
            sim: None,
            simulated: simulated.clone(),
            printer: None,
            camera: None,
            light: Arc::new(Mutex::new(LightPattern::Idle)),
            sim_lines: None,
        };
        #[cfg(feature = "sim")]
        if !simulated.is_empty() {
            devices.sim = Some(start_sims(cfg, &board, &simulated)?);
        }
        if !simulated.contains(&DeviceKind::IdCard) {
            devices.spawn_idcard(cfg)?;
        }
        if !simulated.contains(&DeviceKind::Scanner) {
            devices.spawn_scanner(cfg)?;
        }
        if !simulated.contains(&DeviceKind::Printer) {
            devices.spawn_printer(cfg)?;
        }
        if !simulated.contains(&DeviceKind::Camera) {
            devices.spawn_camera(cfg)?;
        }
        devices.spawn_gpio(cfg)?;
        Ok(devices)
    }

    fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), DevicesError> {
        let t = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)?;
        self.threads.push(t);
        Ok(())
    }

    fn spawn_idcard(&mut self, cfg: &DeviceConfig) -> Result<(), DevicesError> {
        let (uri, stop, board) = (cfg.idcard.clone(), self.stop.clone(), self.board.clone());
        let (backoff, reader_cfg) = (cfg.backoff.clone(), cfg.reader.clone());
        self.spawn("dev-idcard", move || {
            supervise(
                DeviceKind::IdCard,
                &stop,
                &board,
                backoff,
                || {
                    open_device(&uri, DeviceKind::IdCard)
                        .map_err(|e| format!("读卡器未连接 (ID card reader not connected: {e})"))
                },
                |mut link: Box<dyn Transport>| {
                    tracing::info!(link = %link.describe(), "ID card reader link open");
                    let mut reader = Reader::new(reader_cfg.clone());
                    let mut emit = |o: ReaderOutput| {
                        board.emit(match o {
                            ReaderOutput::CardRead(card) => DeviceEvent::CardRead(card),
                            ReaderOutput::CardError(m) => DeviceEvent::CardError(m),
                            ReaderOutput::CardStays => DeviceEvent::CardStays,
                            ReaderOutput::CardRemoved => DeviceEvent::CardRemoved,
                            ReaderOutput::Health(h) => DeviceEvent::Health(DeviceKind::IdCard, h),
                        })
                    };
                    // The same words `idcard::run` reports, so the change is published once.
                    idcard::run(link.as_mut(), &mut reader, stop.flag(), &mut emit)
                        .map_err(|e| format!("读卡器连接中断 (reader link lost: {e})"))
                },
            );
        })
    }

    fn spawn_scanner(&mut self, cfg: &DeviceConfig) -> Result<(), DevicesError> {
        let (uri, stop, board) = (cfg.scanner.clone(), self.stop.clone(), self.board.clone());
        let (backoff, limits) = (cfg.backoff.clone(), cfg.scanner_limits.clone());
        self.spawn("dev-scanner", move || {
            supervise(
                DeviceKind::Scanner,
                &stop,
                &board,
                backoff,
                || {
                    open_scanner(&uri)
                        .map_err(|e| format!("扫码器未连接 (scanner not connected: {e})"))
                },
                |mut link: Box<dyn Transport>| {
                    tracing::info!(link = %link.describe(), "scanner open");
                    board.set(DeviceKind::Scanner, Health::Ok);
                    run_scanner(
                        link.as_mut(),
                        &mut LineFramer::new(limits.clone()),
                        &stop,
                        &mut |e| board.emit(e),
                    )
                    .map_err(|e| format!("扫码器连接中断 (scanner link lost: {e})"))
                },
            );
        })
    }

    fn spawn_printer(&mut self, cfg: &DeviceConfig) -> Result<(), DevicesError> {
        let slot = Arc::new(PrinterSlot {
            link: Mutex::new(None),
        });
        self.printer = Some(slot.clone());
        let (uri, stop, board) = (cfg.printer.clone(), self.stop.clone(), self.board.clone());
        let (backoff, poll) = (cfg.backoff.clone(), cfg.poll_interval);
        self.spawn("dev-printer", move || {
            supervise(
                DeviceKind::Printer,
                &stop,
                &board,
                backoff,
                || {
                    open_device(&uri, DeviceKind::Printer)
                        .map(|l| Printer::new(l).with_reply_timeout(Duration::from_millis(800)))
                        .map_err(|e| format!("打印机未连接 (printer not connected: {e})"))
                },
                |printer| {
                    tracing::info!(link = %printer.link().describe(), "printer link open");
                    *lock(&slot.link) = Some(printer);
                    loop {
                        let status = {
                            let mut guard = lock(&slot.link);
                            match guard.as_mut() {
                                // A print failed on the link and dropped it.
                                None => {
                                    return Err("打印机连接中断 (printer link lost)".to_string());
                                }
                                Some(p) => p.status(),
                            }
                        };
                        match status {
                            Ok(st) => board.set(DeviceKind::Printer, st.health()),
                            Err(e) => {
                                *lock(&slot.link) = None;
                                return Err(e.to_string());
                            }
                        }
                        if stop.sleep(poll) {
                            *lock(&slot.link) = None;
                            return Ok(());
                        }
                    }
                },
            );
        })
    }

    fn spawn_camera(&mut self, cfg: &DeviceConfig) -> Result<(), DevicesError> {
        let slot = Arc::new(CameraSlot {
            cam: Mutex::new(None),
            scanning: AtomicBool::new(false),
        });
        self.camera = Some(slot.clone());
        let (uri, stop, board) = (cfg.camera.clone(), self.stop.clone(), self.board.clone());
        let (backoff, interval, poll) =
            (cfg.backoff.clone(), cfg.camera_interval, cfg.poll_interval);
        self.spawn("dev-camera", move || {
            supervise(
                DeviceKind::Camera,
                &stop,
                &board,
                backoff,
                || open_camera(&uri).map_err(|e| e.to_string()),
                |cam| {
                    *lock(&slot.cam) = Some(cam);
                    board.set(DeviceKind::Camera, Health::Ok);
                    let r = camera_loop(&uri, &slot, &stop, &board, interval, poll);
                    *lock(&slot.cam) = None;
                    r
                },
            );
        })
    }

    fn spawn_gpio(&mut self, cfg: &DeviceConfig) -> Result<(), DevicesError> {
        // (see `open_board_lines` for which GPIO interface a board's lines are driven through)
        let (pins, sim) = match &cfg.gpio {
            GpioConfig::None => return Ok(()),
            GpioConfig::Board(p) => (p.clone(), None),
            GpioConfig::Sim(p, lines) => (p.clone(), Some(lines.clone())),
        };
        self.sim_lines = sim.clone();
        let (stop, board, light) = (self.stop.clone(), self.board.clone(), self.light.clone());
        let backoff = cfg.backoff.clone();
        self.spawn("dev-gpio", move || {
            supervise(
                DeviceKind::Gpio,
                &stop,
                &board,
                backoff,
                || -> Result<Box<dyn GpioLines>, String> {
                    match &sim {
                        Some(s) => Ok(Box::new(s.clone())),
                        None => open_board_lines(&pins)
                            .map_err(|e| format!("GPIO 不可用 (GPIO unavailable: {e})")),
                    }
                },
                |mut lines| {
                    run_lines(lines.as_mut(), &pins, &light, &stop, &board)
                        .map_err(|e| format!("GPIO 出错 (GPIO failed: {e})"))
                },
            );
        })
    }

    /// Prints a job (bytes from the receipt layouts): the status is checked first, so a job is
    /// never started on a printer that cannot finish it.
    pub fn print(&self, job: &[u8]) -> Result<(), PrintError> {
        #[cfg(feature = "sim")]
        if let Some(sim) = self
            .sim
            .as_ref()
            .filter(|_| self.simulated.contains(&DeviceKind::Printer))
        {
            return sim.print(job);
        }
        let Some(slot) = &self.printer else {
            return Err(PrintError::Unavailable("no printer".into()));
        };
        let mut guard = lock(&slot.link);
        let Some(p) = guard.as_mut() else {
            return Err(PrintError::Unavailable(
                self.absent_reason(DeviceKind::Printer),
            ));
        };
        let result = p.print(job);
        match &result {
            Ok(()) => {}
            Err(PrintError::NotReady(r) | PrintError::Interrupted(r)) => {
                self.board
                    .set(DeviceKind::Printer, Health::Absent(r.to_string()));
            }
            Err(e) => {
                // The link failed: drop it; the supervisor reconnects.
                self.board
                    .set(DeviceKind::Printer, Health::Absent(e.to_string()));
                *guard = None;
            }
        }
        result
    }

    /// The printer's real-time status.
    pub fn printer_status(&self) -> Result<PrinterStatus, PrintError> {
        #[cfg(feature = "sim")]
        if let Some(sim) = self
            .sim
            .as_ref()
            .filter(|_| self.simulated.contains(&DeviceKind::Printer))
        {
            return sim.printer_status();
        }
        let Some(slot) = &self.printer else {
            return Err(PrintError::Unavailable("no printer".into()));
        };
        let mut guard = lock(&slot.link);
        match guard.as_mut() {
            Some(p) => p.status(),
            None => Err(PrintError::Unavailable(
                self.absent_reason(DeviceKind::Printer),
            )),
        }
    }

    /// A full-resolution photograph (materials).
    pub fn capture_still(&self) -> Result<Still, CameraError> {
        #[cfg(feature = "sim")]
        if let Some(sim) = self
            .sim
            .as_ref()
            .filter(|_| self.simulated.contains(&DeviceKind::Camera))
        {
            return sim.capture_still();
        }
        let Some(slot) = &self.camera else {
            return Err(CameraError::NotFound("no camera".into()));
        };
        let mut guard = lock(&slot.cam);
        let Some(cam) = guard.as_mut() else {
            return Err(CameraError::NotFound(
                self.absent_reason(DeviceKind::Camera),
            ));
        };
        let r = cam.capture_still();
        if let Err(e @ (CameraError::NotFound(_) | CameraError::Io(_))) = &r {
            self.board
                .set(DeviceKind::Camera, Health::Absent(e.to_string()));
            *guard = None;
        }
        r
    }

    /// Starts or stops looking for QR codes (lookup and payment screens).
    pub fn set_camera_scanning(&self, on: bool) {
        #[cfg(feature = "sim")]
        if let Some(sim) = self
            .sim
            .as_ref()
            .filter(|_| self.simulated.contains(&DeviceKind::Camera))
        {
            sim.set_camera_scanning(on);
        }
        if let Some(slot) = &self.camera {
            slot.scanning.store(on, Ordering::Relaxed);
        }
    }

    /// What the status light shows.
    pub fn set_light(&self, pattern: LightPattern) {
        *lock(&self.light) = pattern;
    }

    pub fn light(&self) -> LightPattern {
        *lock(&self.light)
    }

    /// The last health a device reported (`None` before it reported any).
    pub fn health(&self, kind: DeviceKind) -> Option<Health> {
        self.board.get(kind)
    }

    /// Whether a device is simulated.
    pub fn is_simulated(&self, kind: DeviceKind) -> bool {
        self.simulated.contains(&kind)
    }

    /// The simulators' control (place a card, scan, run the paper out), when any device is
    /// simulated.
    #[cfg(feature = "sim")]
    pub fn sim_control(&self) -> Option<SimControl> {
        self.sim.as_ref().map(SimDevices::control)
    }

    /// The simulated GPIO lines, when the configuration gave some.
    pub fn sim_lines(&self) -> Option<SimLines> {
        self.sim_lines.clone()
    }

    /// Every byte the simulated printer printed (empty with a real printer).
    pub fn printed(&self) -> Vec<u8> {
        #[cfg(feature = "sim")]
        if let Some(s) = self
            .sim
            .as_ref()
            .filter(|_| self.simulated.contains(&DeviceKind::Printer))
        {
            return s.printed();
        }
        Vec::new()
    }

    fn absent_reason(&self, kind: DeviceKind) -> String {
        match self.board.get(kind) {
            Some(Health::Absent(why)) => why,
            _ => format!("{kind} not connected"),
        }
    }
}

/// Starts the simulator bundle for the devices named `sim:`, with the faults their URIs name.
#[cfg(feature = "sim")]
fn start_sims(
    cfg: &DeviceConfig,
    board: &Arc<HealthBoard>,
    simulated: &HashSet<DeviceKind>,
) -> Result<SimDevices, DevicesError> {
    let mut faults = Vec::new();
    let kinds = [
        DeviceKind::IdCard,
        DeviceKind::Scanner,
        DeviceKind::Printer,
        DeviceKind::Camera,
    ];
    for kind in kinds.into_iter().filter(|k| simulated.contains(k)) {
        if let Some(DeviceUri::Sim { faults: f }) = cfg.uri(kind) {
            for name in f {
                let fault = SimFault::from_name(name)?;
                if !faults.contains(&fault) {
                    faults.push(fault);
                }
            }
        }
    }
    let b = board.clone();
    let only = simulated.clone();
    // The simulator bundle runs every simulated device; events of devices that are real here
    // are dropped. GPIO events from its control (help, presence) pass when the kiosk has no
    // GPIO of its own.
    let pass_gpio = matches!(cfg.gpio, GpioConfig::None);
    let sim_sink: EventSink = Arc::new(move |e| {
        let kind = event_kind(&e);
        if only.contains(&kind) || (kind == DeviceKind::Gpio && pass_gpio) {
            b.emit(e);
        }
    });
    let opts = SimOptions {
        faults,
        reader: cfg.reader.clone(),
        scanner: cfg.scanner_limits.clone(),
        camera_interval: cfg.camera_interval,
        ..SimOptions::default()
    };
    Ok(SimDevices::start_with(sim_sink, opts)?)
}

impl Drop for Devices {
    fn drop(&mut self) {
        self.stop.set();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("a device thread failed");
            }
        }
    }
}
