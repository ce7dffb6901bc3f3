//! The demo hall (the `demo` feature): the reference platform embedded on loopback and the
//! simulator panel that plays the citizen on the simulated devices. The appliance build has
//! neither: its kiosk is a client of the hall's platform, with real devices.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use anyhow::Context;
use hall_platform::demo;
use kiosk_drivers::sim::PaperState;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::app::Kiosk;
use crate::client::Switchable;
use crate::config::Config;
use crate::devices::KioskHardware;
use crate::ui::SimPanel;

/// The demo console accounts' password (the demo only: a hall's accounts are made with
/// `hall-platform console user add`).
pub const DEMO_CONSOLE_PASSWORD: &str = "hall-demo-console";

/// Starts the reference platform on loopback with the demo data, its database where the
/// configuration says, and prints where its console is.
pub fn start_embedded_platform(
    rt: &tokio::runtime::Runtime,
    config: &Config,
) -> anyhow::Result<hall_platform::RunningServer> {
    let db = config.embedded_db();
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let server = rt
        .block_on(hall_platform::spawn(
            hall_platform::ServerConfig::demo_hall(db.clone(), ([127, 0, 0, 1], 0).into()),
        ))
        .with_context(|| format!("cannot start the embedded platform on {}", db.display()))?;
    tracing::info!(addr = %server.addr, "embedded platform running");
    // The help desk's side of the demo: the console, with an account of each kind.
    for (name, role) in [
        (
            "helpdesk",
            hall_platform::console_rules::ConsoleRole::Helpdesk,
        ),
        (
            "manager",
            hall_platform::console_rules::ConsoleRole::Manager,
        ),
    ] {
        rt.block_on(server.console_user(name, role, DEMO_CONSOLE_PASSWORD))
            .context("cannot make the demo's console accounts")?;
    }
    println!(
        "The help desk's console: http://{}/console/  (user helpdesk or manager, password {})",
        server.addr, DEMO_CONSOLE_PASSWORD
    );
    Ok(server)
}

/// A one-time enrolment token from the embedded platform for the demo's kiosk; the kiosk's
/// earlier credential (from an earlier demo database, perhaps) is dropped so that the token is
/// used.
pub fn enrol_demo_kiosk(
    rt: &tokio::runtime::Runtime,
    server: &hall_platform::RunningServer,
    config: &Config,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    let stored = crate::fleet::credential_path(data_dir);
    if stored.exists() {
        std::fs::remove_file(&stored).with_context(|| {
            format!(
                "cannot replace the demo kiosk's credential {}",
                stored.display()
            )
        })?;
    }
    rt.block_on(server.enrolment_token(&config.kiosk.id, &config.kiosk.hall))
        .context("the embedded platform cannot enrol the demo kiosk")
}

/// Opens the simulator panel beside the kiosk window, wired to the simulated devices and the
/// demo platform.
pub fn show_sim_panel(
    config: &Config,
    devices: &Arc<KioskHardware>,
    kiosk: &Rc<RefCell<Kiosk>>,
    api: &Arc<Switchable>,
    base_url: &str,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<SimPanel> {
    let panel = SimPanel::new().context("cannot open the simulator panel")?;
    wire_sim_panel(&panel, devices, kiosk, api, base_url, rt);
    // Beside the kiosk window, not on top of it.
    panel.window().set_position(slint::PhysicalPosition::new(
        config.display.width as i32 + 8,
        0,
    ));
    panel.show().context("cannot show the simulator panel")?;
    Ok(panel)
}

/// Connects the simulator panel's buttons to the simulated devices and the demo platform.
fn wire_sim_panel(
    panel: &SimPanel,
    devices: &Arc<KioskHardware>,
    kiosk: &Rc<RefCell<Kiosk>>,
    api: &Arc<Switchable>,
    base_url: &str,
    rt: &tokio::runtime::Handle,
) {
    let codes = [
        demo::CASE_LATE,
        demo::CASE_APPROVED,
        demo::CASE_CORRECTIONS,
        demo::CASE_UNPAID,
    ];
    panel.set_demo_codes(ModelRc::from(Rc::new(VecModel::from(
        codes
            .iter()
            .map(|c| SharedString::from(*c))
            .collect::<Vec<_>>(),
    ))));
    let Some(ctl) = devices.sim_control() else {
        panel.set_status("no simulated devices".into());
        return;
    };
    let status = {
        let weak = panel.as_weak();
        move |text: String| {
            if let Some(p) = weak.upgrade() {
                p.set_status(text.into());
            }
        }
    };
    let report = {
        let status = status.clone();
        move |what: &str, r: Result<(), kiosk_drivers::sim::SimError>| match r {
            Ok(()) => status(what.to_string()),
            Err(e) => status(format!("{what}: {e}")),
        }
    };
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_place_card(move || {
            report(
                "ID card placed",
                ctl.place_card(kiosk_drivers::sim::SimCard::demo()),
            )
        });
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_remove_card(move || report("ID card removed", ctl.remove_card()));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_scan_approval(move |code| report("scanned", ctl.scan(code.as_str())));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_scan_payment(move || report("scanned", ctl.scan(demo::PAYMENT_CODE)));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_scan_wallet_ok(move || report("phone code scanned", ctl.scan(demo::WALLET_OK)));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel
            .on_scan_wallet_fail(move || report("phone code scanned", ctl.scan(demo::WALLET_FAIL)));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_show_qr(move || {
            report("QR shown to the camera", ctl.show_qr(Some(demo::CASE_LATE)))
        });
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_hide_qr(move || report("QR taken away", ctl.show_qr(None)));
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_paper_out(move |out| {
            let state = if out { PaperState::Out } else { PaperState::Ok };
            report("paper", ctl.set_paper(state))
        });
    }
    {
        let (ctl, report) = (ctl.clone(), report.clone());
        panel.on_camera(move |present| report("camera", ctl.set_camera_present(present)));
    }
    {
        let (api, status) = (api.clone(), status.clone());
        panel.on_platform_offline(move |off| {
            api.set_offline(off);
            status(
                if off {
                    "platform offline"
                } else {
                    "platform online"
                }
                .into(),
            );
        });
    }
    {
        let weak = Rc::downgrade(kiosk);
        let base = base_url.to_string();
        let rt = rt.clone();
        let status = status.clone();
        panel.on_phone_pays(move || {
            let Some(order) = weak.upgrade().and_then(|k| k.borrow().pending_order()) else {
                status("no payment is waiting".into());
                return;
            };
            let url = format!("{base}{}", hall_domain::api::sim_pay_path(&order));
            rt.spawn(async move {
                let client = reqwest::Client::new();
                if let Err(e) = client.post(url).send().await {
                    tracing::warn!(error = %e, "simulated phone could not pay");
                }
            });
            status("the phone paid".into());
        });
    }
}
