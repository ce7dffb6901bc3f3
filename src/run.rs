//! Running the kiosk: the platform (remote, or embedded in the demo), the devices, the window,
//! the event loop.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use slint::ComponentHandle;

use crate::app::Kiosk;
use crate::client::{HttpPlatform, PlatformApi, Switchable};
use crate::config::Config;
use crate::devices::{self, KioskDevices};
use crate::ui::AppWindow;

/// How often the kiosk handles what arrived and lets time pass.
const PUMP_EVERY: Duration = Duration::from_millis(50);

/// Runs after every pump of the kiosk (the demo's burn-in drill plays its citizen here).
pub type PumpHook = Box<dyn FnMut(&mut Kiosk, Instant)>;

pub fn run(
    config: Config,
    headless: Option<Duration>,
    hook: Option<PumpHook>,
) -> anyhow::Result<()> {
    crate::systemd::status("starting");
    let font = crate::fonts::check_cjk_font()?;
    tracing::info!(font = %font.display(), "CJK font found");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kiosk-io")
        .build()
        .context("cannot start the I/O runtime")?;

    #[cfg(feature = "demo")]
    let (base_url, _server) = if config.platform.url == crate::config::EMBEDDED {
        let server = crate::demo::start_embedded_platform(&rt, &config)?;
        (format!("http://{}", server.addr), Some(server))
    } else {
        (config.platform.url.clone(), None)
    };
    // The appliance has no platform inside: the configuration check refused "embedded".
    #[cfg(not(feature = "demo"))]
    let base_url = config.platform.url.clone();

    if let Some(ca) = &config.platform.ca_file {
        let pem =
            std::fs::read(ca).with_context(|| format!("platform.ca_file {}", ca.display()))?;
        hall_client::link::set_private_ca(&pem)
            .with_context(|| format!("platform.ca_file {}", ca.display()))?;
    }
    let http = Arc::new(HttpPlatform::new(
        &base_url,
        Duration::from_secs(config.platform.timeout_secs),
    )?);
    let api = Arc::new(Switchable::new(http.clone()));

    let data = config.data_dir();
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let outbox = Arc::new(
        crate::outbox::Outbox::open(&data.join("outbox.sqlite"))
            .with_context(|| format!("cannot open the outbox in {}", data.display()))?,
    );
    crate::outbox::spawn_sender(
        outbox.clone(),
        api.clone() as Arc<dyn PlatformApi>,
        rt.handle(),
    );

    let _screen = match headless {
        Some(d) => Some(crate::headless::install(
            config.display.width,
            config.display.height,
            Some(d),
        )?),
        None => None,
    };
    let window = AppWindow::new().context("cannot open the kiosk window")?;
    crate::ui::select_language(crate::session::Lang::Zh);
    if config.display.fullscreen {
        window.window().set_fullscreen(true);
    } else {
        window.window().set_size(slint::PhysicalSize::new(
            config.display.width,
            config.display.height,
        ));
    }

    let hardware = devices::start(&config.devices)?;
    let kiosk = Kiosk::new(
        window.clone_strong(),
        crate::session::SessionConfig {
            offline_intake: true,
            ..config.session()
        },
        api.clone() as Arc<dyn PlatformApi>,
        hardware.clone() as Arc<dyn KioskDevices>,
        rt.handle().clone(),
    );
    kiosk.borrow_mut().set_outbox(outbox);
    if config.kiosk.voice && headless.is_none() {
        let voice = crate::voice::Voice::start(config.kiosk.audio_device.clone());
        kiosk.borrow_mut().set_voice(voice);
    }

    // The kiosk's own credential: enrol once with the provisioning token; every citizen request
    // and the fleet's heartbeats and commands carry it.
    #[cfg(feature = "demo")]
    let enrolment_token = match &_server {
        // The embedded demo platform enrols its own kiosk, afresh at every start.
        Some(server) => Some(crate::demo::enrol_demo_kiosk(&rt, server, &config, &data)?),
        None => config.fleet.enrolment_token.clone(),
    };
    #[cfg(not(feature = "demo"))]
    let enrolment_token = config.fleet.enrolment_token.clone();
    let mut fleet_client = None;
    let credential = rt.block_on(crate::fleet::credential(
        &base_url,
        &data,
        enrolment_token.as_deref(),
        config.source.as_deref(),
    ));
    match credential {
        Ok(Some(c)) => {
            http.set_credential(&c);
            match hall_client::FleetClient::new(&base_url, &c) {
                Ok(client) => {
                    fleet_client = Some(client.clone());
                    kiosk.borrow_mut().set_fleet(client);
                }
                Err(e) => tracing::error!(error = %e, "cannot set up the fleet client"),
            }
        }
        Ok(None) => tracing::error!(
            "the kiosk is not enrolled (no [fleet] enrolment_token in its provisioning file): \
             the platform will refuse its requests"
        ),
        // The kiosk serves citizens all the same; the next start tries again.
        Err(e) => tracing::error!(error = %e, "fleet enrolment failed"),
    }
    hardware.connect(kiosk.borrow().event_sink());
    // Field updates (or, without RAUC, only the system's version for the heartbeat).
    crate::update::spawn(
        crate::update::Settings::from_config(&config),
        kiosk.borrow().status(),
        fleet_client,
        rt.handle(),
    );

    #[cfg(feature = "demo")]
    let panel = if config.display.sim_panel && headless.is_none() {
        Some(crate::demo::show_sim_panel(
            &config,
            &hardware,
            &kiosk,
            &api,
            &base_url,
            rt.handle(),
        )?)
    } else {
        None
    };

    let timer = slint::Timer::default();
    let weak = Rc::downgrade(&kiosk);
    let mut hook = hook;
    timer.start(slint::TimerMode::Repeated, PUMP_EVERY, move || {
        if let Some(k) = weak.upgrade()
            && let Ok(mut k) = k.try_borrow_mut()
        {
            let now = Instant::now();
            k.pump(now);
            if let Some(h) = hook.as_mut() {
                h(&mut k, now);
            }
        }
    });

    // Closing the kiosk window ends the demo, simulator panel included.
    window.window().on_close_requested(|| {
        let _ = slint::quit_event_loop();
        slint::CloseRequestResponse::HideWindow
    });
    window.show().context("cannot show the kiosk window")?;
    // systemd: READY once the first frame is drawn, watchdog pings from this event loop.
    let systemd = crate::systemd::attach_ui(format!("home screen shown ({})", config.kiosk.id));
    slint::run_event_loop().context("the UI event loop failed")?;
    let exit = kiosk.borrow().exit();
    if exit == Some(crate::app::Exit::Reboot) {
        let path = &config.fleet.reboot_request;
        if let Err(e) = std::fs::write(path, b"fleet\n") {
            tracing::error!(error = %e, path = %path.display(), "cannot ask the system to reboot");
        }
    }
    crate::systemd::stopping();
    drop(systemd);
    #[cfg(feature = "demo")]
    drop(panel);
    drop(timer);
    #[cfg(feature = "demo")]
    if let Some(server) = _server {
        rt.block_on(server.shutdown());
    }
    Ok(())
}
