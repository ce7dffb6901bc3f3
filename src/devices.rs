//! The kiosk's devices as the runtime uses them: print a receipt, take a still, switch QR
//! scanning. Events flow the other way, from driver threads into the kiosk's channel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use kiosk_drivers::camera::Still;
use kiosk_drivers::printer::{FontCharset, GlyphFont, Paper, RasterFallback};
use kiosk_drivers::scanner::ScannerConfig;
#[cfg(feature = "demo")]
use kiosk_drivers::sim::SimControl;
use kiosk_drivers::uri::DeviceUri;
use kiosk_drivers::{DeviceConfig, DeviceEvent, Devices, EventSink};

use crate::config::DevicesSection;
use crate::session::Receipt;

/// What the runtime asks of the devices. Calls block; the runtime makes them off the UI thread.
pub trait KioskDevices: Send + Sync {
    /// Lays out and prints a receipt; an error says in words why it was not (fully) printed.
    fn print_receipt(&self, receipt: &Receipt) -> Result<(), String>;
    fn capture_still(&self) -> Result<Still, String>;
    fn set_camera_scanning(&self, on: bool);
    /// What the help desk sees of each device.
    fn fleet_health(&self) -> hall_domain::api::DeviceHealth {
        crate::fleet::FleetStatus::default().devices
    }
    /// Blinks the status light so staff can find the kiosk (`false`: back to normal).
    fn identify(&self, _on: bool) {}
}

/// Lays a receipt out for the paper; characters outside the printer's font are drawn with the
/// fallback.
pub fn receipt_bytes(
    receipt: &Receipt,
    paper: Paper,
    fallback: Option<&RasterFallback>,
) -> Vec<u8> {
    match receipt {
        Receipt::Submission(r) => r.render_with(paper, fallback),
        Receipt::Progress(r) => r.render_with(paper, fallback),
        Receipt::Payment(r) => r.render_with(paper, fallback),
    }
}

/// Forwards device events to the kiosk once it is connected; events from before are kept and
/// delivered then (the devices report their health at start).
#[derive(Default)]
struct LateSink {
    target: Option<EventSink>,
    early: Vec<DeviceEvent>,
}

/// The kiosk's devices, real or simulated per URI (`sim:` in the demo and the tests), each
/// supervised: unplugged devices go absent and come back by themselves.
pub struct KioskHardware {
    devices: Devices,
    sink: Arc<Mutex<LateSink>>,
    paper: Paper,
    fallback: Option<RasterFallback>,
}

impl KioskHardware {
    /// Connects the devices' events to the kiosk.
    pub fn connect(&self, target: EventSink) {
        let early = match self.sink.lock() {
            Ok(mut s) => {
                s.target = Some(target.clone());
                std::mem::take(&mut s.early)
            }
            Err(_) => Vec::new(),
        };
        for ev in early {
            target(ev);
        }
    }

    /// Plays the citizen (place a card, scan a code, show a QR, run the paper out) when the
    /// devices are simulated.
    #[cfg(feature = "demo")]
    pub fn sim_control(&self) -> Option<SimControl> {
        self.devices.sim_control()
    }

    /// Every byte the simulated printer printed.
    pub fn printed(&self) -> Vec<u8> {
        self.devices.printed()
    }
}

impl KioskDevices for KioskHardware {
    fn print_receipt(&self, receipt: &Receipt) -> Result<(), String> {
        let job = receipt_bytes(receipt, self.paper, self.fallback.as_ref());
        self.devices.print(&job).map_err(|e| e.to_string())
    }
    fn capture_still(&self) -> Result<Still, String> {
        self.devices.capture_still().map_err(|e| e.to_string())
    }
    fn set_camera_scanning(&self, on: bool) {
        self.devices.set_camera_scanning(on);
    }
    fn fleet_health(&self) -> hall_domain::api::DeviceHealth {
        use crate::fleet::device_state;
        use kiosk_drivers::DeviceKind;
        let h = |k| self.devices.health(k);
        hall_domain::api::DeviceHealth {
            printer: device_state(h(DeviceKind::Printer).as_ref(), true),
            reader: device_state(h(DeviceKind::IdCard).as_ref(), false),
            camera: device_state(h(DeviceKind::Camera).as_ref(), false),
            scanner: device_state(h(DeviceKind::Scanner).as_ref(), false),
        }
    }
    fn identify(&self, on: bool) {
        self.devices.set_light(if on {
            kiosk_drivers::LightPattern::Identify
        } else {
            kiosk_drivers::LightPattern::Idle
        });
    }
}

/// Starts the devices the configuration names.
pub fn start(cfg: &DevicesSection) -> anyhow::Result<Arc<KioskHardware>> {
    let paper = if cfg.paper_mm == 58 {
        Paper::Mm58
    } else {
        Paper::Mm80
    };
    let uri = |u: &str| DeviceUri::parse(u).with_context(|| format!("device {u:?}"));
    let config = DeviceConfig {
        idcard: uri(&cfg.idcard)?,
        scanner: uri(&cfg.scanner)?,
        printer: uri(&cfg.printer)?,
        camera: uri(&cfg.camera)?,
        scanner_limits: ScannerConfig {
            idle_end: (cfg.scanner_idle_end_ms > 0)
                .then(|| Duration::from_millis(cfg.scanner_idle_end_ms)),
            ..ScannerConfig::default()
        },
        ..DeviceConfig::default()
    };
    let sink = Arc::new(Mutex::new(LateSink::default()));
    let forward = sink.clone();
    let event_sink: EventSink = Arc::new(move |ev| {
        if let Ok(mut s) = forward.lock() {
            match &s.target {
                Some(t) => t(ev),
                None => s.early.push(ev),
            }
        }
    });
    let charset = FontCharset::parse(&cfg.printer_font).unwrap_or_default();
    let fallback = match GlyphFont::system() {
        Ok(font) => Some(RasterFallback {
            charset,
            font: Arc::new(font),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "rare characters will print as boxes");
            None
        }
    };
    let devices = Devices::start(&config, event_sink).context("cannot start the devices")?;
    Ok(Arc::new(KioskHardware {
        devices,
        sink,
        paper,
        fallback,
    }))
}
