//! A hall for the journey tests: the platform on loopback with a fresh database (or nothing
//! listening), the simulated devices, and the kiosk in Slint's testing backend, with helpers that
//! find elements by their accessible labels and press them.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use slint::ComponentHandle;

use hall_kiosk::app::Kiosk;
use hall_kiosk::client::{HttpPlatform, PlatformApi};
use hall_kiosk::devices::{self, KioskDevices, KioskHardware};
use hall_kiosk::session::{Busy, Screen, SessionConfig, ViewModel};
use hall_kiosk::ui::AppWindow;

pub struct Hall {
    pub kiosk: Rc<RefCell<Kiosk>>,
    pub window: AppWindow,
    pub devices: Arc<KioskHardware>,
    pub base: String,
    /// The kiosk's client of the platform (with its credential once enrolled).
    pub api: Arc<HttpPlatform>,
    /// The kiosk's credential, when the platform was up at the start.
    pub credential: Option<String>,
    pub rt: tokio::runtime::Runtime,
    pub _server: Option<hall_platform::RunningServer>,
    pub _dir: tempfile::TempDir,
    /// Touches on the screen so far (buttons, keys, fields).
    pub touches: std::cell::Cell<u32>,
}

/// A platform on loopback with a fresh database, simulated devices, and the kiosk.
pub fn hall() -> Hall {
    hall_with(true)
}

pub fn hall_with(platform_up: bool) -> Hall {
    hall_configured(platform_up, SessionConfig::default())
}

pub fn hall_configured(platform_up: bool, cfg: SessionConfig) -> Hall {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (base, server) = if platform_up {
        let server = rt
            .block_on(hall_platform::spawn(hall_platform::ServerConfig {
                sim_payer_delay: Duration::from_millis(300),
                ..hall_platform::ServerConfig::demo_hall(
                    dir.path().join("platform.sqlite"),
                    ([127, 0, 0, 1], 0).into(),
                )
            }))
            .expect("platform starts");
        (format!("http://{}", server.addr), Some(server))
    } else {
        // A port that was just free: nothing listens there.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        drop(l);
        (format!("http://{addr}"), None)
    };
    // Generous: a loaded CI machine must not turn a slow answer into an outage.
    let api = Arc::new(HttpPlatform::new(&base, Duration::from_secs(20)).expect("client"));
    let credential = server.as_ref().map(|s| {
        rt.block_on(s.enrol_kiosk("kiosk-01", "test hall"))
            .expect("the kiosk enrols")
    });
    if let Some(c) = &credential {
        api.set_credential(c);
    }
    let devices = devices::start(&Default::default()).expect("simulated devices");
    let window = AppWindow::new().expect("window");
    window
        .window()
        .set_size(slint::PhysicalSize::new(1920, 1080));
    hall_kiosk::ui::select_language(hall_kiosk::session::Lang::Zh);
    let kiosk = Kiosk::new(
        window.clone_strong(),
        cfg,
        api.clone() as Arc<dyn PlatformApi>,
        devices.clone() as Arc<dyn KioskDevices>,
        rt.handle().clone(),
    );
    devices.connect(kiosk.borrow().event_sink());
    Hall {
        kiosk,
        window,
        devices,
        base,
        api,
        credential,
        rt,
        _server: server,
        _dir: dir,
        touches: Default::default(),
    }
}

impl Hall {
    pub fn pump(&self) {
        self.kiosk.borrow_mut().pump(Instant::now());
    }

    pub fn ctl(&self) -> kiosk_drivers::sim::SimControl {
        self.devices.sim_control().expect("simulated devices")
    }

    pub fn vm(&self) -> ViewModel {
        self.kiosk.borrow().view()
    }

    /// Pumps until the condition holds (answers arrive from the platform and the devices).
    pub fn wait(&self, what: &str, cond: impl Fn(&ViewModel) -> bool) {
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            self.pump();
            if cond(&self.vm()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "timed out waiting for {what}; view: {:?}",
            self.vm().chrome.screen
        );
    }

    pub fn wait_screen(&self, screen: Screen) {
        self.wait(&format!("{screen:?}"), |vm| {
            vm.chrome.screen == screen && vm.overlays.busy == Busy::None
        });
    }

    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(&self.window, label).collect()
    }

    /// Whether the screen shows this text.
    pub fn shows(&self, label: &str) -> bool {
        !self.find(label).is_empty()
    }

    pub fn shows_containing(&self, part: &str) -> bool {
        self.window
            .root_element()
            .query_descendants()
            .find_all()
            .iter()
            .any(|e| e.accessible_label().is_some_and(|l| l.contains(part)))
    }

    /// Presses the button with this label, as a finger would.
    pub fn press(&self, label: &str) {
        let buttons: Vec<_> = self
            .find(label)
            .into_iter()
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .collect();
        let Some(b) = buttons.first() else {
            panic!("no button {label:?} on {:?}", self.vm().chrome.screen);
        };
        self.touches.set(self.touches.get() + 1);
        b.invoke_accessible_default_action();
        self.pump();
    }

    /// Types an approval code. A code whose check digit fits is looked up at its last digit;
    /// the 查询 button is pressed only if the lookup has not left the screen already (an
    /// unreachable platform answers at once).
    pub fn look_up(&self, code: &str) {
        self.type_keys(code);
        if self.vm().chrome.screen == Screen::Lookup && self.shows("查询") {
            self.press("查询");
        }
    }

    /// Photographs one page of every material, as far as the form.
    pub fn photograph_all(&self) {
        while self.vm().chrome.screen == Screen::Capture {
            self.press("拍照");
            self.wait("a photo", |vm| {
                vm.apply.capture_pages > 0 && vm.overlays.busy == Busy::None
            });
            assert!(
                self.vm().apply.capture_preview.is_some(),
                "the preview shows the page"
            );
            self.press("下一份材料");
        }
    }

    /// Taps a field so that the keypad types into it.
    pub fn tap_field(&self, label: &str) {
        let fields: Vec<_> = self
            .find(label)
            .into_iter()
            .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
            .collect();
        let Some(f) = fields.first() else {
            panic!("no field {label:?} on {:?}", self.vm().chrome.screen);
        };
        self.touches.set(self.touches.get() + 1);
        f.invoke_accessible_default_action();
        self.pump();
    }

    /// Types pinyin on the on-screen keyboard and taps the words in turn, paging the candidate
    /// bar when a word is not on the page shown (as a person would).
    pub fn type_pinyin(&self, letters: &str, words: &[&str]) {
        self.type_keys(letters);
        for w in words {
            let mut pages = 0;
            while !self
                .find(w)
                .iter()
                .any(|e| e.accessible_role() == Some(AccessibleRole::Button))
            {
                assert!(
                    self.vm().entry.ime.has_next && pages < 20,
                    "{w} not offered for {}: {:?}",
                    self.vm().entry.ime.letters,
                    self.vm().entry.ime.candidates
                );
                self.press("下页 ▶");
                pages += 1;
            }
            self.press(w);
        }
    }

    pub fn type_keys(&self, text: &str) {
        for c in text.chars().filter(|c| c.is_ascii_alphanumeric()) {
            self.press(&c.to_string());
        }
    }

    /// The printed text: GB18030 decoded, with the Chinese-mode switches (`FS &`, `FS .`)
    /// taken out so that mixed Chinese and ASCII reads as one string.
    pub fn printed_text(&self) -> String {
        let raw = self.devices.printed();
        let mut bytes = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == 0x1C && matches!(raw.get(i + 1), Some(0x26 | 0x2E)) {
                i += 2;
                continue;
            }
            bytes.push(raw[i]);
            i += 1;
        }
        let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
        text.into_owned()
    }
}

/// Pumps for a while (the reader polls for the card every quarter second).
pub fn pump_for(h: &Hall, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        h.pump();
        std::thread::sleep(Duration::from_millis(20));
    }
}
