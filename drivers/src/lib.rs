//! Device drivers of the hall kiosk.
//!
//! Each device protocol is sans-IO: pure code that encodes requests, parses replies and keeps a
//! state machine, unit-tested on bytes. Thin transports move the bytes; simulators speak the same
//! protocols so that the kiosk and its tests run without hardware. Devices are named by URI
//! (see [`uri::DeviceUri`]) and report what happens as [`DeviceEvent`]s.
//!
//! * [`idcard`]: SAM frames, the card text block, the find → select → read state machine.
//! * [`scanner`]: the serial barcode scanner's line framer.
//! * [`printer`]: ESC/POS building, receipts, real-time status and the [`printer::Printer`]
//!   driver that refuses jobs a printer cannot finish.
//! * [`camera`]: frames, stills, QR decoding, JPEG encoding, the [`camera::Camera`] trait.
//! * [`transport`]: file, TCP, serial and in-memory byte links; [`usb`]: USB bulk links.
//! * [`wedge`]: keyboard-wedge barcode scanners (evdev); [`v4l2`]: V4L2 cameras and pixel
//!   conversion; [`image`]: PNG/JPEG decoding; [`gpio`]: help button, status light, presence.
//! * [`hotplug`]: backoff, health publishing and the supervision loop; [`devices`]:
//!   [`Devices::start`], real or simulated devices per URI, supervised.
//! * [`board`]: board profiles (`board/*.toml`).
//! * [`file_camera`]: a camera that plays image files (`file://`).
//! * `sim` (the `sim` feature, on by default, off in the appliance): simulators speaking the
//!   real protocols, and `sim::SimDevices`, the demo and test bundle that runs the real drivers
//!   against them; `sim::serve` serves them on pseudo-terminals and TCP ports.

pub mod board;
pub mod camera;
pub mod devices;
pub mod file_camera;
pub mod gpio;
pub mod hotplug;
pub mod idcard;
pub mod image;
pub mod printer;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod scanner;
#[cfg(feature = "sim")]
pub mod sim;
pub mod transport;
pub mod uri;
pub mod usb;
pub mod usb_split;
pub mod v4l2;
pub mod wedge;

pub use devices::{DeviceConfig, Devices, DevicesError, GpioConfig};
pub use gpio::LightPattern;

use std::fmt;

/// The kinds of device a kiosk has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    IdCard,
    Scanner,
    Printer,
    Camera,
    Gpio,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::IdCard => "idcard",
            DeviceKind::Scanner => "scanner",
            DeviceKind::Printer => "printer",
            DeviceKind::Camera => "camera",
            DeviceKind::Gpio => "gpio",
        })
    }
}

/// A device's health, published whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Works, with a caveat (e.g. paper near end).
    Degraded(String),
    /// Not usable now (unplugged, paper out, cover open…), with the reason.
    Absent(String),
}

impl Health {
    pub fn is_usable(&self) -> bool {
        !matches!(self, Health::Absent(_))
    }
}

/// What the devices tell the kiosk. Sent by driver tasks into the kiosk's event channel.
// Card reads are rare events: the size of the card variant does not matter, and keeping it
// unboxed keeps the kiosk's matching simple.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    /// An ID card was read. Personal data: the receiver keeps it only in the session.
    CardRead(idcard::IdCard),
    /// The reader could not read a card that is on it; the message says why in words.
    CardError(String),
    /// The card read (or that could not be read) is still on the reader (said once; only by
    /// readers that can tell).
    CardStays,
    /// The card said to stay was taken off the reader.
    CardRemoved,
    /// The barcode scanner read a payload (already checked for length and printable text).
    Scanned(String),
    /// The scanner sent something unusable (burst, over-long, binary); nothing was passed on.
    ScanRejected(String),
    /// The camera saw a QR code.
    QrSeen(String),
    /// A device's health changed.
    Health(DeviceKind, Health),
    /// The physical help button was pressed.
    HelpButton,
    /// Someone stepped in front of (true) or away from (false) the kiosk.
    Presence(bool),
}

/// Where driver tasks send their events. The kiosk supplies a closure that forwards into its
/// channel; tests supply one that collects.
pub type EventSink = std::sync::Arc<dyn Fn(DeviceEvent) + Send + Sync>;
