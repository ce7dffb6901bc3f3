//! The simulators run with the real drivers, and the transports over real sockets and
//! pseudo-terminals.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kiosk_drivers::camera::CameraError;
use kiosk_drivers::idcard::ReaderConfig;
use kiosk_drivers::printer::escpos::{EscPos, Paper};
use kiosk_drivers::printer::preview::preview_text;
use kiosk_drivers::printer::receipt::ProgressSlip;
use kiosk_drivers::printer::{NotReady, PrintError, Printer};
use kiosk_drivers::sim::{
    PaperState, ReaderLink, SimCard, SimControl, SimDevices, SimOptions, demo_card,
};
use kiosk_drivers::transport::{self, SerialTransport, TcpTransport, Transport};
use kiosk_drivers::uri::DeviceUri;
use kiosk_drivers::{DeviceEvent, DeviceKind, EventSink, Health};
use kiosk_sims::printer::Condition;
use serialport::SerialPort;

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

    fn count(&self, pred: impl Fn(&DeviceEvent) -> bool) -> usize {
        self.list.lock().unwrap().iter().filter(|e| pred(e)).count()
    }

    /// Waits until `n` events match; false on timeout.
    fn wait_n(&self, n: usize, timeout: Duration, pred: impl Fn(&DeviceEvent) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut list = self.list.lock().unwrap();
        loop {
            if list.iter().filter(|e| pred(e)).count() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            list = self.cv.wait_timeout(list, deadline - now).unwrap().0;
        }
    }

    fn wait(&self, timeout: Duration, pred: impl Fn(&DeviceEvent) -> bool) -> bool {
        self.wait_n(1, timeout, pred)
    }

    fn last_health(&self, kind: DeviceKind) -> Option<Health> {
        self.list
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|e| match e {
                DeviceEvent::Health(k, h) if *k == kind => Some(h.clone()),
                _ => None,
            })
    }
}

const T: Duration = Duration::from_secs(5);

fn fast() -> SimOptions {
    SimOptions {
        reader: ReaderConfig {
            poll_interval: Duration::from_millis(30),
            reply_timeout: Duration::from_millis(150),
            read_timeout: Duration::from_millis(500),
            recheck_interval: Duration::from_millis(200),
            ..ReaderConfig::default()
        },
        camera_interval: Duration::from_millis(60),
        ..SimOptions::default()
    }
}

/// Waits until the reader has answered a few more requests (so that a change on the
/// simulated reader has been seen by the state machine), however slow the machine.
fn settle(ctl: &SimControl) {
    let start = ctl.reader_requests().unwrap();
    let deadline = Instant::now() + T;
    while ctl.reader_requests().unwrap() < start + 3 {
        assert!(Instant::now() < deadline, "the reader stopped polling");
        thread::sleep(Duration::from_millis(10));
    }
}

fn is_card(e: &DeviceEvent) -> bool {
    matches!(e, DeviceEvent::CardRead(c) if *c == demo_card())
}

#[test]
fn reads_a_card_once_while_it_stays_and_again_when_replaced() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let ctl = sim.control();
    assert!(ev.wait(T, |e| matches!(
        e,
        DeviceEvent::Health(DeviceKind::IdCard, Health::Ok)
    )));
    ctl.place_card(SimCard::demo()).unwrap();
    assert!(ev.wait(T, is_card));
    thread::sleep(Duration::from_millis(400));
    assert_eq!(ev.count(is_card), 1);
    ctl.remove_card().unwrap();
    settle(&ctl);
    ctl.place_card(SimCard::demo()).unwrap();
    assert!(ev.wait_n(2, T, is_card));
    // A reader that keeps reporting a card it has read does not make it read twice either.
    ctl.remove_card().unwrap();
    ctl.set_reader_refinds_read_card(true).unwrap();
    settle(&ctl);
    ctl.place_card(SimCard::demo()).unwrap();
    assert!(ev.wait_n(3, T, is_card));
    thread::sleep(Duration::from_millis(400));
    assert_eq!(ev.count(is_card), 3);
}

#[test]
fn reads_a_card_over_a_pseudo_terminal() {
    let ev = Arc::new(Events::default());
    let opts = SimOptions {
        reader_link: ReaderLink::Pty,
        ..fast()
    };
    let sim = SimDevices::start_with(ev.sink(), opts).unwrap();
    sim.control().place_card(SimCard::demo()).unwrap();
    assert!(ev.wait(T, is_card));
}

#[test]
fn an_unreadable_card_is_reported_once() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let ctl = sim.control();
    ctl.set_card_read_status(Some(0x31)).unwrap();
    ctl.place_card(SimCard::demo()).unwrap();
    let is_error = |e: &DeviceEvent| matches!(e, DeviceEvent::CardError(m) if m.contains("证卡认证读卡器失败"));
    assert!(ev.wait(T, is_error));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(ev.count(is_error), 1);
    assert_eq!(ev.count(is_card), 0);
    // Placed again, readable now.
    ctl.set_card_read_status(None).unwrap();
    ctl.remove_card().unwrap();
    settle(&ctl);
    ctl.place_card(SimCard::demo()).unwrap();
    assert!(ev.wait(T, is_card));
}

#[test]
fn reader_faults_from_the_uri() {
    // Noise before every reply: still read.
    let ev = Arc::new(Events::default());
    let uri: DeviceUri = "sim:?fault=reader-noise".parse().unwrap();
    let mut opts = SimOptions::from_uri(&uri).unwrap();
    opts.reader = fast().reader;
    let sim = SimDevices::start_with(ev.sink(), opts).unwrap();
    sim.control().place_card(SimCard::demo()).unwrap();
    assert!(ev.wait(T, is_card));
    drop(sim);

    // A silent reader is reported absent, and present again when it answers.
    let ev = Arc::new(Events::default());
    let mut opts = SimOptions::from_uri(&"sim:?fault=reader-silent".parse().unwrap()).unwrap();
    opts.reader = fast().reader;
    let sim = SimDevices::start_with(ev.sink(), opts).unwrap();
    assert!(ev.wait(T, |e| matches!(
        e,
        DeviceEvent::Health(DeviceKind::IdCard, Health::Absent(m)) if m.contains("no reply")
    )));
    sim.control().set_reader_fault(None).unwrap();
    assert!(ev.wait(T, |e| matches!(
        e,
        DeviceEvent::Health(DeviceKind::IdCard, Health::Ok)
    )));

    // A failed security module.
    let ev = Arc::new(Events::default());
    let mut opts = SimOptions::from_uri(&"sim:?fault=reader-sam-fault".parse().unwrap()).unwrap();
    opts.reader = fast().reader;
    let _sim = SimDevices::start_with(ev.sink(), opts).unwrap();
    assert!(ev.wait(T, |e| matches!(
        e,
        DeviceEvent::Health(DeviceKind::IdCard, Health::Absent(m)) if m.contains("SW3 60")
    )));

    assert!(SimOptions::from_uri(&"sim:?fault=flood".parse().unwrap()).is_err());
    assert!(SimOptions::from_uri(&"tcp://127.0.0.1:9100".parse().unwrap()).is_err());
}

#[test]
fn scanner_payloads_duplicates_and_rejections() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let ctl = sim.control();
    let code = |e: &DeviceEvent| matches!(e, DeviceEvent::Scanned(s) if s == "2026112200000017");
    // Read twice in a row (one burst of bytes, as a scanner in continuous mode sends).
    ctl.scan_raw(b"2026112200000017\r\n2026112200000017\r\n")
        .unwrap();
    assert!(ev.wait(T, code));
    ctl.scan_raw(b"\x00\x01\xFF\r\n").unwrap();
    assert!(ev.wait(T, |e| matches!(e, DeviceEvent::ScanRejected(_))));
    assert_eq!(ev.count(code), 1, "the same code again at once is merged");
    ctl.scan(&"9".repeat(200)).unwrap();
    assert!(ev.wait_n(2, T, |e| matches!(e, DeviceEvent::ScanRejected(_))));
    assert_eq!(ev.last_health(DeviceKind::Scanner), Some(Health::Ok));
}

#[test]
fn camera_sees_a_qr_code_once_per_showing() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let ctl = sim.control();
    let seen = |e: &DeviceEvent| matches!(e, DeviceEvent::QrSeen(s) if s == "2026112200000017");
    ctl.show_qr(Some("2026112200000017")).unwrap();
    // Not scanning: nothing.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(ev.count(seen), 0);
    sim.set_camera_scanning(true);
    assert!(ev.wait(T, seen));
    thread::sleep(Duration::from_millis(400));
    assert_eq!(ev.count(seen), 1, "held up: one event");
    // Taken away long enough, shown again: a new event.
    ctl.show_qr(None).unwrap();
    thread::sleep(Duration::from_millis(2500));
    ctl.show_qr(Some("2026112200000017")).unwrap();
    assert!(ev.wait_n(2, T, seen));
}

#[test]
fn camera_stills_and_an_unplugged_camera() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let still = sim.capture_still().unwrap();
    assert_eq!((still.width, still.height), (1280, 960));
    assert_eq!(&still.jpeg[..2], &[0xFF, 0xD8]);
    sim.control().set_camera_present(false).unwrap();
    assert!(matches!(sim.capture_still(), Err(CameraError::NotFound(_))));
    assert!(matches!(
        ev.last_health(DeviceKind::Camera),
        Some(Health::Absent(_))
    ));
    let mut cam = sim.camera();
    assert!(cam.grab().is_err());
    sim.control().set_camera_present(true).unwrap();
    assert_eq!(ev.last_health(DeviceKind::Camera), Some(Health::Ok));
    assert_eq!(cam.grab().unwrap().grey.len(), 640 * 480);
}

fn job() -> Vec<u8> {
    ProgressSlip {
        approval_code_grouped: "2026 1122 0000 0017".into(),
        item_name: "消防验收".into(),
        stage_name: "竣工验收".into(),
        status_text: "已受理".into(),
        nodes: vec![],
        printed_at: "2026-11-25 14:05".into(),
    }
    .render(Paper::Mm80)
}

#[test]
fn printer_refuses_what_it_cannot_finish_and_reports_health() {
    let ev = Arc::new(Events::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("printed.bin");
    let opts = SimOptions {
        printer_file: Some(file.clone()),
        ..fast()
    };
    let sim = SimDevices::start_with(ev.sink(), opts).unwrap();
    let ctl = sim.control();
    assert_eq!(ev.last_health(DeviceKind::Printer), Some(Health::Ok));

    let job = job();
    sim.print(&job).unwrap();
    assert_eq!(sim.printed(), job);
    assert_eq!(std::fs::read(&file).unwrap(), job);
    assert!(preview_text(&sim.printed(), 48).contains("消防验收"));

    ctl.set_paper(PaperState::NearEnd).unwrap();
    assert!(matches!(
        ev.last_health(DeviceKind::Printer),
        Some(Health::Degraded(_))
    ));
    sim.printer().print(b"near end still prints\n").unwrap();

    for (set, reason) in [
        (0, NotReady::PaperOut),
        (1, NotReady::CoverOpen),
        (2, NotReady::Offline),
    ] {
        let before = sim.printed().len();
        match set {
            0 => ctl.set_paper(PaperState::Out).unwrap(),
            1 => ctl.set_cover_open(true).unwrap(),
            _ => ctl.set_printer_offline(true).unwrap(),
        }
        assert!(matches!(
            ev.last_health(DeviceKind::Printer),
            Some(Health::Absent(m)) if m.contains(reason.en())
        ));
        let e = sim.print(&job).unwrap_err();
        assert!(matches!(e, PrintError::NotReady(r) if r == reason), "{e}");
        assert_eq!(sim.printed().len(), before, "nothing printed");
        match set {
            0 => ctl.set_paper(PaperState::Ok).unwrap(),
            1 => ctl.set_cover_open(false).unwrap(),
            _ => ctl.set_printer_offline(false).unwrap(),
        }
        assert_eq!(ev.last_health(DeviceKind::Printer), Some(Health::Ok));
    }

    ctl.set_printer_connected(false).unwrap();
    assert!(matches!(sim.print(&job), Err(PrintError::NoReply)));
    ctl.set_printer_connected(true).unwrap();

    // The paper runs out during the job: never reported as printed.
    ctl.run_paper_out_after(100).unwrap();
    let e = sim.print(&job).unwrap_err();
    assert!(
        matches!(e, PrintError::Interrupted(NotReady::PaperOut)),
        "{e}"
    );
    assert!(matches!(
        ev.last_health(DeviceKind::Printer),
        Some(Health::Absent(_))
    ));
    assert_eq!(
        sim.printer_status().unwrap().blocking_reason(),
        Some(NotReady::PaperOut)
    );
}

#[test]
fn printer_faults_from_the_uri() {
    let ev = Arc::new(Events::default());
    let uri: DeviceUri = "sim:?fault=paper-out,camera-missing".parse().unwrap();
    let sim = SimDevices::from_uri(&uri, ev.sink()).unwrap();
    assert!(matches!(
        sim.print(b"x"),
        Err(PrintError::NotReady(NotReady::PaperOut))
    ));
    assert!(matches!(
        ev.last_health(DeviceKind::Printer),
        Some(Health::Absent(_))
    ));
    assert!(matches!(
        ev.last_health(DeviceKind::Camera),
        Some(Health::Absent(_))
    ));
}

#[test]
fn help_button_presence_and_a_clean_stop() {
    let ev = Arc::new(Events::default());
    let sim = SimDevices::start_with(ev.sink(), fast()).unwrap();
    let ctl = sim.control();
    ctl.press_help();
    ctl.set_presence(true);
    assert!(ev.wait(T, |e| *e == DeviceEvent::HelpButton));
    assert!(ev.wait(T, |e| *e == DeviceEvent::Presence(true)));
    let t = Instant::now();
    drop(sim);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "threads stop promptly"
    );
    let n = ev.list.lock().unwrap().len();
    // The control outlives the devices; placing a card does nothing now.
    ctl.place_card(SimCard::demo()).unwrap();
    thread::sleep(Duration::from_millis(200));
    assert_eq!(ev.list.lock().unwrap().len(), n);
}

// ---------------------------------------------------------------------------------------------
// Transports

/// A network printer on a local socket: answers DLE EOT from `state`, returns the rest.
/// A ready printer's conditions (the independent simulator's terms).
fn ready() -> Condition {
    Condition {
        connected: true,
        ..Condition::default()
    }
}

fn tcp_printer(state: Condition) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + Duration::from_secs(20);
        // Runs until the printer driver closes the connection.
        while Instant::now() < deadline {
            match s.read(&mut buf) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        got.push(b);
                        let l = got.len();
                        if l >= 3
                            && got[l - 3] == 0x10
                            && got[l - 2] == 0x04
                            && let Some(reply) = state.dle_eot_reply(b)
                        {
                            got.truncate(l - 3);
                            s.write_all(&[reply]).unwrap();
                        }
                    }
                }
            }
        }
        got
    });
    (port, t)
}

#[test]
fn prints_over_tcp() {
    let (port, t) = tcp_printer(ready());
    let link = TcpTransport::connect("127.0.0.1", port, Duration::from_secs(2)).unwrap();
    let mut p = Printer::new(link);
    let mut e = EscPos::new();
    e.init().line("审批码 2026 1122 0000 0017").cut();
    let job = e.finish();
    p.print(&job).unwrap();
    drop(p);
    assert_eq!(t.join().unwrap(), job);

    // Opened from its URI, a printer out of paper refuses.
    let out = Condition {
        paper_out: true,
        ..ready()
    };
    let (port, t) = tcp_printer(out);
    let uri: DeviceUri = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let mut p = Printer::new(transport::open(&uri, 9600).unwrap());
    assert!(matches!(
        p.print(&job),
        Err(PrintError::NotReady(NotReady::PaperOut))
    ));
    drop(p);
    assert!(t.join().unwrap().is_empty(), "nothing printed");
}

#[test]
fn tcp_printer_that_closes_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = thread::spawn(move || drop(listener.accept().unwrap()));
    let mut p =
        Printer::new(TcpTransport::connect("127.0.0.1", port, Duration::from_secs(2)).unwrap());
    t.join().unwrap();
    assert!(matches!(
        p.status(),
        Err(PrintError::Io(_) | PrintError::NoReply)
    ));
}

#[test]
fn prints_over_a_serial_line() {
    let (master, mut slave) = serialport::TTYPort::pair().unwrap();
    let state = Condition {
        paper_near_end: true,
        ..ready()
    };
    let t = thread::spawn(move || {
        slave.set_timeout(Duration::from_millis(100)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let deadline = Instant::now() + Duration::from_secs(20);
        // Runs until the host end of the pseudo-terminal is closed.
        while Instant::now() < deadline {
            match slave.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::TimedOut => {}
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        got.push(b);
                        let l = got.len();
                        if l >= 3
                            && got[l - 3] == 0x10
                            && got[l - 2] == 0x04
                            && let Some(reply) = state.dle_eot_reply(b)
                        {
                            got.truncate(l - 3);
                            slave.write_all(&[reply]).unwrap();
                        }
                    }
                }
            }
        }
        got
    });
    let mut p = Printer::new(SerialTransport::from_port(Box::new(master)));
    let status = p.status().unwrap();
    assert!(status.paper_near_end && status.blocking_reason().is_none());
    // Bytes that a tty would translate (CR, LF, 0x7F, XON/XOFF) pass unchanged.
    let job: Vec<u8> = vec![
        b'A', 0x0D, 0x0A, 0x7F, 0x11, 0x13, 0x03, 0x1B, 0x40, 0xC9, 0xF3,
    ];
    p.print(&job).unwrap();
    drop(p);
    assert_eq!(t.join().unwrap(), job);
}

#[test]
fn serial_transport_opens_by_path() {
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let name = slave.name().unwrap();
    drop(slave);
    let uri: DeviceUri = format!("serial://{name}?baud=115200").parse().unwrap();
    let mut link = transport::open(&uri, 9600).unwrap();
    link.write(b"ping").unwrap();
    master.set_timeout(Duration::from_secs(1)).unwrap();
    let mut buf = [0u8; 4];
    master.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    master.write_all(b"pong").unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while got.len() < 4 && Instant::now() < deadline {
        let n = link.read(&mut buf, Duration::from_millis(100)).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"pong");
    // Nothing more: a timeout is Ok(0), not an error.
    assert_eq!(link.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
    assert!(transport::open(&"serial:///dev/nonexistent-tty".parse().unwrap(), 9600).is_err());
}
