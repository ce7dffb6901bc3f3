//! Hot-plug: real drivers opened by URI against simulators on real pseudo-terminals, TCP
//! sockets and files, unplugged and plugged back in. The device goes absent, then comes back
//! by itself with backoff; the other devices keep working meanwhile.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kiosk_drivers::board::{Bias, GpioPins, InputPin, OutputPin};
use kiosk_drivers::gpio::{Pin, SimLines};
use kiosk_drivers::hotplug::Backoff;
use kiosk_drivers::image::encode_png_grey;
use kiosk_drivers::sim::camera::qr_frame;
use kiosk_drivers::sim::serve::{relink, scanner_pty, serve_idcard_pty, serve_printer_tcp};
use kiosk_drivers::sim::{PaperState, SimCard, SimIdCardReader, SimPrinter};
use kiosk_drivers::transport::Transport;
use kiosk_drivers::uri::DeviceUri;
use kiosk_drivers::{
    DeviceConfig, DeviceEvent, DeviceKind, Devices, EventSink, GpioConfig, Health, LightPattern,
};

#[derive(Default)]
struct Events {
    list: Mutex<Vec<DeviceEvent>>,
    cv: Condvar,
}

impl Events {
    fn sink(self: &Arc<Self>) -> EventSink {
        let me = self.clone();
        Arc::new(move |e| {
            me.list.lock().unwrap().push(e);
            me.cv.notify_all();
        })
    }

    /// Waits for an event matching `pred` after the first `from` events; returns its index.
    fn wait_from(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&DeviceEvent) -> bool,
    ) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        let mut list = self.list.lock().unwrap();
        loop {
            if let Some(i) = list.iter().skip(from).position(&pred) {
                return Some(from + i);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            list = self.cv.wait_timeout(list, deadline - now).unwrap().0;
        }
    }

    fn len(&self) -> usize {
        self.list.lock().unwrap().len()
    }

    fn dump(&self) -> String {
        format!("{:#?}", self.list.lock().unwrap())
    }
}

fn health(kind: DeviceKind, want: fn(&Health) -> bool) -> impl Fn(&DeviceEvent) -> bool {
    move |e| matches!(e, DeviceEvent::Health(k, h) if *k == kind && want(h))
}

fn is_ok(h: &Health) -> bool {
    *h == Health::Ok
}

fn is_absent(h: &Health) -> bool {
    matches!(h, Health::Absent(_))
}

fn fast() -> DeviceConfig {
    DeviceConfig {
        backoff: Backoff::new(Duration::from_millis(50), Duration::from_millis(400)),
        poll_interval: Duration::from_millis(100),
        camera_interval: Duration::from_millis(50),
        ..DeviceConfig::default()
    }
}

fn serial_uri(path: &Path) -> DeviceUri {
    format!("serial://{}?baud=115200", path.display())
        .parse()
        .unwrap()
}

const T: Duration = Duration::from_secs(10);

#[test]
fn id_card_reader_on_a_pty_is_unplugged_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let stable = dir.path().join("idcard");
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    let events = Arc::new(Events::default());
    let cfg = DeviceConfig {
        idcard: serial_uri(&stable),
        ..fast()
    };
    let devices = Devices::start(&cfg, events.sink()).unwrap();
    // Nothing plugged in yet: absent, with the reason.
    events
        .wait_from(0, T, health(DeviceKind::IdCard, is_absent))
        .expect("absent before plug-in");
    assert!(!devices.is_simulated(DeviceKind::IdCard));

    // Plugged in: the reader answers SAM status, and a card is read.
    let server = serve_idcard_pty(reader.clone()).unwrap();
    relink(&stable, server.path().unwrap()).unwrap();
    let ok = events
        .wait_from(0, T, health(DeviceKind::IdCard, is_ok))
        .unwrap_or_else(|| panic!("reader never came up: {}", events.dump()));
    reader.lock().unwrap().place(SimCard::demo());
    let read = events
        .wait_from(ok, T, |e| matches!(e, DeviceEvent::CardRead(_)))
        .expect("card read");
    match &events.list.lock().unwrap()[read] {
        DeviceEvent::CardRead(card) => assert_eq!(card.name, "张建国"),
        _ => unreachable!(),
    }

    // Unplugged: the pty's master side closes.
    let before = events.len();
    drop(server);
    let gone = events
        .wait_from(before, T, health(DeviceKind::IdCard, is_absent))
        .unwrap_or_else(|| panic!("never went absent: {}", events.dump()));

    // Plugged back in (a new pty, the stable name moved to it, as udev does).
    std::thread::sleep(Duration::from_millis(300));
    let reader2 = Arc::new(Mutex::new(SimIdCardReader::new()));
    let server2 = serve_idcard_pty(reader2.clone()).unwrap();
    relink(&stable, server2.path().unwrap()).unwrap();
    let back = events
        .wait_from(gone, T, health(DeviceKind::IdCard, is_ok))
        .unwrap_or_else(|| panic!("never came back: {}", events.dump()));
    reader2.lock().unwrap().place(SimCard::demo());
    events
        .wait_from(back, T, |e| matches!(e, DeviceEvent::CardRead(_)))
        .expect("card read after replug");
    // The simulated devices kept running meanwhile.
    assert!(devices.is_simulated(DeviceKind::Printer));
    devices.print(b"still printing").unwrap();
    drop(devices);
}

#[test]
fn tcp_printer_goes_away_and_returns() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let paper = SimPrinter::new();
    let server = serve_printer_tcp(listener, paper.clone()).unwrap();
    let events = Arc::new(Events::default());
    let cfg = DeviceConfig {
        printer: format!("tcp://127.0.0.1:{}", addr.port()).parse().unwrap(),
        ..fast()
    };
    let devices = Devices::start(&cfg, events.sink()).unwrap();
    let ok = events
        .wait_from(0, T, health(DeviceKind::Printer, is_ok))
        .unwrap_or_else(|| panic!("printer never came up: {}", events.dump()));
    devices.print(b"RECEIPT-1").unwrap();
    assert_eq!(paper.printed().unwrap(), b"RECEIPT-1");

    // Paper runs out: health says so, and a job is refused before it starts.
    paper.set_paper(PaperState::Out).unwrap();
    events
        .wait_from(ok, T, health(DeviceKind::Printer, is_absent))
        .expect("paper out reported");
    assert!(devices.print(b"NOPE").is_err());
    paper.set_paper(PaperState::Ok).unwrap();
    let ok = events
        .wait_from(ok, T, health(DeviceKind::Printer, is_ok))
        .expect("paper back");

    // The printer goes off the network.
    server.shutdown();
    let gone = events
        .wait_from(ok, T, health(DeviceKind::Printer, is_absent))
        .unwrap_or_else(|| panic!("never went absent: {}", events.dump()));
    assert!(devices.print(b"LOST").is_err());

    // It returns on the same address.
    let listener = TcpListener::bind(addr).unwrap();
    let _server = serve_printer_tcp(listener, paper.clone()).unwrap();
    events
        .wait_from(gone, T, health(DeviceKind::Printer, is_ok))
        .unwrap_or_else(|| panic!("never came back: {}", events.dump()));
    devices.print(b"RECEIPT-2").unwrap();
    assert_eq!(paper.printed().unwrap(), b"RECEIPT-1RECEIPT-2");
    let st = devices.printer_status().unwrap();
    assert!(st.blocking_reason().is_none());
}

#[test]
fn serial_scanner_on_a_pty_scans_and_is_replugged() {
    let dir = tempfile::tempdir().unwrap();
    let stable = dir.path().join("scanner");
    let (mut master, slave, path) = scanner_pty().unwrap();
    relink(&stable, &path).unwrap();
    let events = Arc::new(Events::default());
    let cfg = DeviceConfig {
        scanner: format!("serial://{}", stable.display()).parse().unwrap(),
        ..fast()
    };
    let _devices = Devices::start(&cfg, events.sink()).unwrap();
    let ok = events
        .wait_from(0, T, health(DeviceKind::Scanner, is_ok))
        .expect("scanner up");
    master.write(b"2026110200000118\r\n").unwrap();
    events
        .wait_from(ok, T, |e| {
            *e == DeviceEvent::Scanned("2026110200000118".into())
        })
        .unwrap_or_else(|| panic!("no scan: {}", events.dump()));
    // A binary payload is rejected, not passed on.
    master.write(b"20\x01\x02\r\n").unwrap();
    events
        .wait_from(ok, T, |e| matches!(e, DeviceEvent::ScanRejected(_)))
        .expect("rejected");

    let before = events.len();
    drop(master);
    drop(slave);
    let gone = events
        .wait_from(before, T, health(DeviceKind::Scanner, is_absent))
        .unwrap_or_else(|| panic!("never absent: {}", events.dump()));
    let (mut master, _slave, path) = scanner_pty().unwrap();
    relink(&stable, &path).unwrap();
    let back = events
        .wait_from(gone, T, health(DeviceKind::Scanner, is_ok))
        .expect("back");
    // Give the driver a moment to have the port open before the scanner sends.
    std::thread::sleep(Duration::from_millis(100));
    master.write(b"4206002611020000183\r\n").unwrap();
    events
        .wait_from(back, T, |e| {
            *e == DeviceEvent::Scanned("4206002611020000183".into())
        })
        .unwrap_or_else(|| panic!("no scan after replug: {}", events.dump()));
}

#[test]
fn file_camera_reads_qr_and_is_replugged() {
    let root = tempfile::tempdir().unwrap();
    let frames = root.path().join("camera");
    let write_frames = || {
        std::fs::create_dir_all(&frames).unwrap();
        let png = encode_png_grey(&qr_frame("2026110200000126", 640, 480, false)).unwrap();
        std::fs::write(frames.join("f1.png"), png).unwrap();
    };
    write_frames();
    let events = Arc::new(Events::default());
    let cfg = DeviceConfig {
        camera: format!("file://{}", frames.display()).parse().unwrap(),
        ..fast()
    };
    let devices = Devices::start(&cfg, events.sink()).unwrap();
    let ok = events
        .wait_from(0, T, health(DeviceKind::Camera, is_ok))
        .expect("camera up");
    devices.set_camera_scanning(true);
    events
        .wait_from(ok, T, |e| {
            *e == DeviceEvent::QrSeen("2026110200000126".into())
        })
        .unwrap_or_else(|| panic!("no QR: {}", events.dump()));
    let still = devices.capture_still().unwrap();
    assert_eq!((still.width, still.height), (640, 480));
    devices.set_camera_scanning(false);

    std::fs::remove_dir_all(&frames).unwrap();
    let gone = events
        .wait_from(ok, T, health(DeviceKind::Camera, is_absent))
        .unwrap_or_else(|| panic!("never absent: {}", events.dump()));
    assert!(devices.capture_still().is_err());
    write_frames();
    events
        .wait_from(gone, T, health(DeviceKind::Camera, is_ok))
        .expect("camera back");
}

#[test]
fn gpio_lines_give_help_and_presence_and_show_the_light() {
    let lines = SimLines::new();
    let input = |line| InputPin {
        line,
        active_low: false,
        bias: Bias::AsIs,
        debounce_ms: 20,
    };
    let pins = GpioPins {
        chip: "sim".into(),
        help_button: Some(input(17)),
        presence: Some(input(22)),
        status_light: Some(OutputPin {
            line: 27,
            active_low: false,
        }),
    };
    let events = Arc::new(Events::default());
    let cfg = DeviceConfig {
        gpio: GpioConfig::Sim(pins, lines.clone()),
        ..fast()
    };
    let devices = Devices::start(&cfg, events.sink()).unwrap();
    let ok = events
        .wait_from(0, T, health(DeviceKind::Gpio, is_ok))
        .expect("gpio up");
    lines.set(Pin::HelpButton, true);
    events
        .wait_from(ok, T, |e| *e == DeviceEvent::HelpButton)
        .expect("help");
    lines.set(Pin::HelpButton, false);
    lines.set(Pin::Presence, true);
    events
        .wait_from(ok, T, |e| *e == DeviceEvent::Presence(true))
        .expect("presence");
    // Idle is steady on; busy blinks.
    std::thread::sleep(Duration::from_millis(50));
    assert!(lines.get(Pin::StatusLight));
    devices.set_light(LightPattern::Busy);
    assert_eq!(devices.light(), LightPattern::Busy);
    std::thread::sleep(Duration::from_millis(1200));
    let changes = lines.light_changes();
    assert!(changes.len() >= 2, "{changes:?}");

    // The chip goes away and comes back.
    let before = events.len();
    lines.set_gone(true);
    let gone = events
        .wait_from(before, T, health(DeviceKind::Gpio, is_absent))
        .expect("gpio absent");
    lines.set_gone(false);
    events
        .wait_from(gone, T, health(DeviceKind::Gpio, is_ok))
        .expect("gpio back");
}
