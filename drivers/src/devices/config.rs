//! What to start: the device URIs and GPIO lines of a kiosk, and which schemes each kind of
//! device accepts in this build.

use std::time::Duration;

use crate::board::{BoardProfile, GpioPins};
use crate::gpio::SimLines;
use crate::hotplug::Backoff;
use crate::idcard::ReaderConfig;
use crate::scanner::ScannerConfig;
#[cfg(feature = "sim")]
use crate::sim::SimError;
use crate::uri::DeviceUri;
use crate::{DeviceEvent, DeviceKind};

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

    pub(super) fn uri(&self, kind: DeviceKind) -> Option<&DeviceUri> {
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
/// starting the devices refuse the same URIs with the same words.
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
