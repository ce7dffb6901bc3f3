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

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::board::{BoardProfile, GpioPins};
use crate::camera::{Camera, CameraError, Still, decode_qr};
use crate::gpio::{CdevLines, GpioLines, LightPattern, SimLines, run_lines};
use crate::hotplug::{Backoff, HealthBoard, Stop, supervise};
use crate::idcard::{self, Reader, ReaderConfig, ReaderOutput};
use crate::printer::{PrintError, Printer, PrinterStatus};
use crate::scanner::{LineFramer, ScanOutput, ScannerConfig};
#[cfg(feature = "sim")]
use crate::sim::{SimControl, SimDevices, SimError, SimFault, SimOptions};
use crate::transport::{self, Transport};
use crate::uri::DeviceUri;
use crate::{DeviceEvent, DeviceKind, EventSink, Health};

/// Where the GPIO lines come from.
#[derive(Clone, Default)]
pub enum GpioConfig {
    /// No GPIO (an x86 kiosk PC): no hardware help button, light or presence sensor.
    #[default]
    None,
    /// The board's pins on the GPIO character device.
    Board(GpioPins),
    /// Simulated lines with these pins (tests, the demo).
    Sim(GpioPins, SimLines),
}

/// What to start.
#[derive(Clone)]
pub struct DeviceConfig {
    pub idcard: DeviceUri,
    pub scanner: DeviceUri,
    pub printer: DeviceUri,
    pub camera: DeviceUri,
    pub gpio: GpioConfig,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    pub reader: ReaderConfig,
    pub scanner_limits: ScannerConfig,
    /// Time between camera frames while looking for QR codes.
    pub camera_interval: Duration,
    /// Time between printer status checks (and presence checks of an idle camera).
    pub poll_interval: Duration,
}

impl Default for DeviceConfig {
    /// Every device simulated.
    fn default() -> Self {
        let sim = DeviceUri::Sim { faults: Vec::new() };
        Self {
            idcard: sim.clone(),
            scanner: sim.clone(),
            printer: sim.clone(),
            camera: sim,
            gpio: GpioConfig::None,
            backoff: Backoff::default(),
            reader: ReaderConfig::default(),
            scanner_limits: ScannerConfig::default(),
            camera_interval: Duration::from_millis(200),
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl DeviceConfig {
    /// The devices and pins of a board profile.
    pub fn from_board(board: &BoardProfile) -> Self {
        Self {
            idcard: board.devices.idcard.clone(),
            scanner: board.devices.scanner.clone(),
            printer: board.devices.printer.clone(),
            camera: board.devices.camera.clone(),
            gpio: match &board.gpio {
                Some(p) => GpioConfig::Board(p.clone()),
                None => GpioConfig::None,
            },
            ..Self::default()
        }
    }

    fn uri(&self, kind: DeviceKind) -> Option<&DeviceUri> {
        match kind {
            DeviceKind::IdCard => Some(&self.idcard),
            DeviceKind::Scanner => Some(&self.scanner),
            DeviceKind::Printer => Some(&self.printer),
            DeviceKind::Camera => Some(&self.camera),
            DeviceKind::Gpio => None,
        }
    }
}

/// Why the devices could not start (a configuration error: nothing is retried).
#[derive(Debug, thiserror::Error)]
pub enum DevicesError {
    #[error("{kind}: {uri} cannot name this kind of device (use {expected})")]
    WrongScheme {
        kind: DeviceKind,
        uri: String,
        expected: &'static str,
    },
    #[error(
        "{kind}: `sim:` names a simulated device, and this build (the appliance) has none; \
         name the real device: {expected}"
    )]
    SimNotInBuild {
        kind: DeviceKind,
        expected: &'static str,
    },
    #[cfg(feature = "sim")]
    #[error("simulated devices: {0}")]
    Sim(#[from] SimError),
    #[error("could not start a device thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Which schemes each kind of device accepts (`sim:` only in a build with the simulators).
pub fn accepts(kind: DeviceKind, uri: &DeviceUri) -> Result<(), &'static str> {
    let sim = cfg!(feature = "sim") && matches!(uri, DeviceUri::Sim { .. });
    let ok = sim
        || matches!(
            (kind, uri),
            (
                DeviceKind::IdCard,
                DeviceUri::Serial { .. } | DeviceUri::Usb { .. } | DeviceUri::Tcp { .. }
            ) | (
                DeviceKind::Scanner,
                DeviceUri::Serial { .. } | DeviceUri::Evdev { .. } | DeviceUri::Tcp { .. }
            ) | (
                DeviceKind::Printer,
                DeviceUri::Usb { .. }
                    | DeviceUri::Serial { .. }
                    | DeviceUri::Tcp { .. }
                    | DeviceUri::File { .. }
            ) | (
                DeviceKind::Camera,
                DeviceUri::V4l2 { .. } | DeviceUri::File { .. }
            )
        );
    if ok {
        return Ok(());
    }
    Err(expected(kind))
}

/// The schemes a kind of device accepts, in words.
fn expected(kind: DeviceKind) -> &'static str {
    match (kind, cfg!(feature = "sim")) {
        (DeviceKind::IdCard, true) => "serial://, usb:// or sim:",
        (DeviceKind::IdCard, false) => "serial:// or usb://",
        (DeviceKind::Scanner, true) => "serial://, evdev:// or sim:",
        (DeviceKind::Scanner, false) => "serial:// or evdev://",
        (DeviceKind::Printer, true) => "usb://, serial://, tcp://, file:// or sim:",
        (DeviceKind::Printer, false) => "usb://, serial://, tcp:// or file://",
        (DeviceKind::Camera, true) => "v4l2://, file:// (image files) or sim:",
        (DeviceKind::Camera, false) => "v4l2:// or file:// (image files)",
        (DeviceKind::Gpio, _) => "a board profile",
    }
}

/// Whether a URI can name this kind of device in this build: the configuration check and
/// [`Devices::start`] refuse the same URIs with the same words.
pub fn check(kind: DeviceKind, uri: &DeviceUri) -> Result<(), DevicesError> {
    if !cfg!(feature = "sim") && matches!(uri, DeviceUri::Sim { .. }) {
        return Err(DevicesError::SimNotInBuild {
            kind,
            expected: expected(kind),
        });
    }
    accepts(kind, uri).map_err(|expected| DevicesError::WrongScheme {
        kind,
        uri: uri.to_string(),
        expected,
    })
}

/// The kind of device an event comes from.
pub fn event_kind(e: &DeviceEvent) -> DeviceKind {
    match e {
        DeviceEvent::CardRead(_)
        | DeviceEvent::CardError(_)
        | DeviceEvent::CardStays
        | DeviceEvent::CardRemoved => DeviceKind::IdCard,
        DeviceEvent::Scanned(_) | DeviceEvent::ScanRejected(_) => DeviceKind::Scanner,
        DeviceEvent::QrSeen(_) => DeviceKind::Camera,
        DeviceEvent::Health(kind, _) => *kind,
        DeviceEvent::HelpButton | DeviceEvent::Presence(_) => DeviceKind::Gpio,
    }
}

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

struct PrinterSlot {
    link: Mutex<Option<Printer<Box<dyn Transport>>>>,
}

struct CameraSlot {
    cam: Mutex<Option<Box<dyn Camera>>>,
    scanning: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that failed while holding a device's lock leaves valid state (every update is
    // a single assignment): carry on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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
                    transport::open_device(&uri, DeviceKind::IdCard)
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
                    transport::open_device(&uri, DeviceKind::Printer)
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

/// Opens a scanner: serial, TCP or a grabbed keyboard-wedge input device.
pub fn open_scanner(uri: &DeviceUri) -> std::io::Result<Box<dyn Transport>> {
    match uri {
        DeviceUri::Evdev { path } => Ok(Box::new(crate::wedge::EvdevScanner::open(path)?)),
        other => transport::open_device(other, DeviceKind::Scanner),
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

fn camera_loop(
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
fn open_board_lines(pins: &crate::board::GpioPins) -> std::io::Result<Box<dyn GpioLines>> {
    #[cfg(feature = "rpi")]
    if crate::rpi::detect_profile().is_some() {
        return crate::rpi::RppalLines::open(pins).map(|l| Box::new(l) as Box<dyn GpioLines>);
    }
    CdevLines::open(pins).map(|l| Box::new(l) as Box<dyn GpioLines>)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> DeviceUri {
        s.parse().unwrap()
    }

    #[test]
    fn a_qr_is_reported_once_per_showing() {
        let t = Instant::now();
        let mut s = QrShowing::default();
        let ms = Duration::from_millis;
        assert_eq!(s.frame(Some("A".into()), t), Some("A".into()));
        assert_eq!(s.frame(Some("A".into()), t + ms(200)), None);
        assert_eq!(s.frame(None, t + ms(400)), None);
        assert_eq!(
            s.frame(Some("A".into()), t + ms(600)),
            None,
            "a missed frame"
        );
        assert_eq!(s.frame(Some("B".into()), t + ms(800)), Some("B".into()));
        assert_eq!(s.frame(None, t + ms(3000)), None);
        assert_eq!(s.frame(Some("B".into()), t + ms(3200)), Some("B".into()));
    }

    #[test]
    fn schemes_are_checked_per_kind() {
        assert!(accepts(DeviceKind::IdCard, &u("usb://0400:c35a")).is_ok());
        assert!(accepts(DeviceKind::IdCard, &u("v4l2:///dev/video0")).is_err());
        assert!(accepts(DeviceKind::Scanner, &u("evdev:///dev/input/event3")).is_ok());
        assert!(accepts(DeviceKind::Printer, &u("file:///tmp/r.bin")).is_ok());
        assert!(accepts(DeviceKind::Camera, &u("serial:///dev/ttyS0")).is_err());
    }

    #[cfg(feature = "sim")]
    #[test]
    fn bad_uris_stop_the_start() {
        let cfg = DeviceConfig {
            camera: u("tcp://10.0.0.5:9100"),
            ..DeviceConfig::default()
        };
        let e = Devices::start(&cfg, Arc::new(|_| {})).err().unwrap();
        assert!(e.to_string().contains("camera"), "{e}");
        let cfg = DeviceConfig {
            printer: u("sim:?fault=no-such-fault"),
            ..DeviceConfig::default()
        };
        assert!(Devices::start(&cfg, Arc::new(|_| {})).is_err());
    }

    #[cfg(not(feature = "sim"))]
    #[test]
    fn sim_is_refused_without_the_simulators() {
        let e = check(DeviceKind::Printer, &u("sim:"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("usb://, serial://, tcp:// or file://"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(accepts(DeviceKind::Printer, &u("sim:")).is_err());
        let e = Devices::start(&DeviceConfig::default(), Arc::new(|_| {}))
            .err()
            .unwrap();
        assert!(e.to_string().contains("the appliance"), "{e}");
    }

    #[cfg(feature = "sim")]
    #[test]
    fn all_simulated_is_the_demo() {
        fn shared<T: Send + Sync>(_: &T) {}
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = events.clone();
        let devices = Devices::start(
            &DeviceConfig::default(),
            Arc::new(move |ev| e.lock().unwrap().push(ev)),
        )
        .unwrap();
        shared(&devices);
        assert!(devices.is_simulated(DeviceKind::Printer));
        devices.print(b"demo").unwrap();
        assert_eq!(devices.printed(), b"demo");
        let ctl = devices.sim_control().unwrap();
        ctl.press_help();
        assert!(events.lock().unwrap().contains(&DeviceEvent::HelpButton));
        assert_eq!(devices.health(DeviceKind::Printer), Some(Health::Ok));
        devices.set_light(LightPattern::Identify);
        assert_eq!(devices.light(), LightPattern::Identify);
    }

    #[test]
    fn events_are_attributed_to_their_device() {
        assert_eq!(
            event_kind(&DeviceEvent::QrSeen("x".into())),
            DeviceKind::Camera
        );
        assert_eq!(event_kind(&DeviceEvent::HelpButton), DeviceKind::Gpio);
        assert_eq!(
            event_kind(&DeviceEvent::Health(DeviceKind::Printer, Health::Ok)),
            DeviceKind::Printer
        );
    }
}
