//! No personal data in any log line. Every log line of the whole process (the kiosk, the
//! platform on loopback, the devices, the libraries, `log` records included) is captured at TRACE
//! while the applicant submits twice through the UI, once with the ID card and once typing the
//! ID number (and the name in pinyin), then looks the case up; the demo applicant's name, ID
//! number, phone and address must appear in none of them.

use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;

use hall_kiosk::app::Kiosk;
use hall_kiosk::client::{HttpPlatform, PlatformApi};
use hall_kiosk::devices::{self, KioskDevices, KioskHardware};
use hall_kiosk::session::view::{self, ReceiptState};
use hall_kiosk::session::{Busy, Screen, SessionConfig, ViewModel};
use hall_kiosk::ui::AppWindow;
use hall_platform::demo;

/// Every formatted log line, in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Hall {
    kiosk: Rc<std::cell::RefCell<Kiosk>>,
    window: AppWindow,
    devices: Arc<KioskHardware>,
    _rt: tokio::runtime::Runtime,
    _server: hall_platform::RunningServer,
    _dir: tempfile::TempDir,
}

impl Hall {
    fn new() -> Hall {
        i_slint_backend_testing::init_no_event_loop();
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt
            .block_on(hall_platform::spawn(hall_platform::ServerConfig {
                sim_payer_delay: Duration::from_millis(300),
                ..hall_platform::ServerConfig::demo_hall(
                    dir.path().join("platform.sqlite"),
                    ([127, 0, 0, 1], 0).into(),
                )
            }))
            .expect("platform starts");
        let base = format!("http://{}", server.addr);
        // Generous: a request slower than this under a loaded CI machine would take the
        // submission offline (a local reference the lookup below cannot find).
        let credential = rt
            .block_on(server.enrol_kiosk("kiosk-01", "test hall"))
            .expect("the kiosk enrols");
        let api = HttpPlatform::new(&base, Duration::from_secs(20))
            .expect("client")
            .with_credential(&credential);
        let devices = devices::start(&Default::default()).expect("simulated devices");
        let window = AppWindow::new().expect("window");
        window
            .window()
            .set_size(slint::PhysicalSize::new(1920, 1080));
        hall_kiosk::ui::select_language(hall_kiosk::session::Lang::Zh);
        let kiosk = Kiosk::new(
            window.clone_strong(),
            SessionConfig::default(),
            Arc::new(api) as Arc<dyn PlatformApi>,
            devices.clone() as Arc<dyn KioskDevices>,
            rt.handle().clone(),
        );
        devices.connect(kiosk.borrow().event_sink());
        let outbox = Arc::new(
            hall_kiosk::outbox::Outbox::open(&dir.path().join("outbox.sqlite")).expect("outbox"),
        );
        kiosk.borrow_mut().set_outbox(outbox);
        kiosk.borrow_mut().set_offline_intake(true);
        Hall {
            kiosk,
            window,
            devices,
            _rt: rt,
            _server: server,
            _dir: dir,
        }
    }

    fn pump(&self) {
        self.kiosk.borrow_mut().pump(Instant::now());
    }

    fn vm(&self) -> ViewModel {
        self.kiosk.borrow().view()
    }

    fn wait(&self, what: &str, cond: impl Fn(&ViewModel) -> bool) {
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            self.pump();
            if cond(&self.vm()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let vm = self.vm();
        panic!(
            "timed out waiting for {what}; view: {:?}, code: {:?}, error: {:?}",
            vm.chrome.screen, vm.lookup.lookup_code, vm.lookup.lookup_error
        );
    }

    fn wait_screen(&self, screen: Screen) {
        self.wait(&format!("{screen:?}"), |vm| {
            vm.chrome.screen == screen && vm.overlays.busy == Busy::None
        });
    }

    fn press(&self, label: &str) {
        let buttons: Vec<_> = ElementHandle::find_by_accessible_label(&self.window, label)
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .collect();
        let Some(b) = buttons.first() else {
            panic!("no button {label:?} on {:?}", self.vm().chrome.screen);
        };
        b.invoke_accessible_default_action();
        self.pump();
    }

    fn type_keys(&self, text: &str) {
        for c in text.chars().filter(|c| c.is_ascii_alphanumeric()) {
            self.press(&c.to_string());
        }
    }

    fn photograph_all(&self) {
        while self.vm().chrome.screen == Screen::Capture {
            self.press("拍照");
            self.wait("a photo", |vm| {
                vm.apply.capture_pages > 0 && vm.overlays.busy == Busy::None
            });
            self.press("下一份材料");
        }
    }

    /// Materials, photos, the project code and on to the printed receipt.
    fn finish_submission(&self, item: &str) -> String {
        self.wait_screen(Screen::Items);
        self.press(item);
        self.press("下一步");
        self.wait_screen(Screen::Capture);
        self.photograph_all();
        self.type_keys(demo::PROJECT_CODE);
        self.wait("the construction unit", |vm| !vm.apply.org_name.is_empty());
        self.press("下一步");
        if self.vm().entry.focus == view::Field::ContactPhone {
            self.type_keys(demo::APPLICANT_PHONE);
            self.press("下一步");
        }
        self.wait_screen(Screen::Review);
        self.press("提交申请");
        self.wait("the receipt", |vm| {
            vm.chrome.screen == Screen::Submitted
                && vm.submit.receipt_state == ReceiptState::Printed
        });
        let code = self.vm().submit.approval_code;
        assert!(
            !hall_kiosk::outbox::is_local_reference(&code),
            "the platform did not answer in time: the submission was taken offline ({code})"
        );
        self.press("完成");
        self.press("满意");
        assert_eq!(self.vm().chrome.screen, Screen::Home);
        code
    }
}

#[test]
fn no_personal_data_in_any_log_line_of_a_whole_journey() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_target(true)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let h = Hall::new();

    // With the ID card.
    h.press("办理申请");
    h.devices
        .sim_control()
        .expect("simulated devices")
        .place_card(kiosk_drivers::sim::SimCard::demo())
        .expect("card placed");
    let by_card = h.finish_submission("建设工程规划许可证");

    // Typing the ID number and the phone on the keypad, the name in pinyin.
    h.press("办理申请");
    h.press("没带身份证？手动输入号码");
    h.type_keys(demo::APPLICANT_ID);
    assert!(h.vm().identify.id_number.ok);
    h.press("下一步");
    assert_eq!(h.vm().entry.focus, view::Field::ApplicantName);
    h.type_keys("zhangjianguo");
    h.press("张");
    h.press("建国");
    assert_eq!(h.vm().identify.applicant_name.value, demo::APPLICANT_NAME);
    h.press("确定");
    h.type_keys(demo::APPLICANT_PHONE);
    h.press("下一步");
    let typed = h.finish_submission("企业投资项目备案");

    // The case looked up: the platform sends the applicant back, masked or not.
    h.press("查询进度");
    // (the last digit of a code that checks out looks it up)
    h.type_keys(&by_card);
    h.wait_screen(Screen::Progress);
    h.press("结束办理");
    h.press("跳过");
    let _ = h.devices.sim_control().map(|c| c.remove_card());
    drop(h);

    let logs = capture.text();
    let lines: Vec<&str> = logs.lines().collect();
    // The capture saw the journey: the kiosk, the platform's requests and the submissions.
    assert!(
        lines.iter().any(|l| l.contains("hall_kiosk")),
        "no kiosk log line captured"
    );
    assert!(
        lines.iter().any(|l| l.contains("hall_platform")),
        "no platform log line captured"
    );
    for code in [&by_card, &typed] {
        assert!(
            lines.iter().any(|l| l.contains(code.as_str())),
            "the submission {code} left no log line"
        );
    }
    assert!(lines.len() >= 20, "only {} log lines", lines.len());
    if let Some(path) = std::env::var_os("HALL_LOG_CAPTURE") {
        std::fs::write(path, &logs).expect("the capture written");
    }

    let card = kiosk_drivers::sim::demo_card();
    let personal = [
        ("name", demo::APPLICANT_NAME.to_string()),
        ("ID number", demo::APPLICANT_ID.to_string()),
        ("ID number on the card", card.id_number.clone()),
        ("phone", demo::APPLICANT_PHONE.to_string()),
        ("address", card.address.clone()),
    ];
    let leaks: Vec<String> = personal
        .iter()
        .flat_map(|(what, value)| {
            lines
                .iter()
                .filter(move |l| l.contains(value.as_str()))
                .map(move |l| format!("{what}: {l}"))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "{} log lines carry personal data:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
