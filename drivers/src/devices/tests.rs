use super::*;
use std::time::Instant;

use crate::DeviceEvent;

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

#[test]
fn open_device_refuses_non_byte_links() {
    let e = open_device(&u("v4l2:///dev/video0"), DeviceKind::Camera)
        .err()
        .unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
    // A USB device that is not there says so.
    let e = open_device(&u("usb://fffe:fffe"), DeviceKind::IdCard)
        .err()
        .unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}
