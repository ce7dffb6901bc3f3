//! The runtime around the session: feeds it device events, platform answers, intents and time;
//! carries out its effects on the tokio runtime and device threads; renders its view model.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use kiosk_drivers::{DeviceEvent, EventSink};
use slint::ComponentHandle;

use crate::client::PlatformApi;
use crate::devices::KioskDevices;
use crate::session::{Effect, Input, Intent, Session, SessionConfig, ViewModel};
use crate::ui::{AppWindow, Renderer};

/// Messages from other threads into the UI thread.
enum Msg {
    Device(DeviceEvent),
    /// An answer to an effect issued in session generation `.0`.
    Reply(u64, Input),
    /// The platform's answer to a submission: settled against the outbox on this thread, just
    /// before the session shows it, so that only what the person is shown stays on the platform.
    Submitted {
        generation: u64,
        key: String,
        answer: crate::client::ApiResult<hall_domain::api::ApplicationCreated>,
    },
    /// A help-desk command from the fleet.
    Fleet(hall_domain::api::FleetCommand),
}

/// Why the kiosk's event loop should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A help-desk restart: systemd starts the kiosk again.
    Restart,
    /// A help-desk reboot: the system is asked to reboot.
    Reboot,
}

/// The kiosk's part in the fleet: its client, what the heartbeat reports, and the command
/// waiting for the citizen to finish.
struct Fleet {
    client: hall_client::FleetClient,
    waiting: Option<hall_domain::api::FleetCommand>,
    identify_until: Option<Instant>,
}

/// The kiosk: one session, its window, and the means to act.
pub struct Kiosk {
    session: Session,
    window: AppWindow,
    renderer: Renderer,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    intents: Rc<RefCell<VecDeque<Intent>>>,
    rt: tokio::runtime::Handle,
    api: Arc<dyn PlatformApi>,
    devices: Arc<dyn KioskDevices>,
    outbox: Option<Arc<crate::outbox::Outbox>>,
    camera_scanning: bool,
    /// The submission whose outcome the screen last showed (logged once).
    shown: Option<String>,
    /// The screen last named in the log.
    logged_screen: Option<crate::session::Screen>,
    fleet: Option<Fleet>,
    /// What the heartbeat reports and the updater sees; the updater's system report in it.
    status: crate::fleet::SharedStatus,
    /// The system report last given to the session.
    system: Option<hall_domain::api::SystemReport>,
    exit: Option<Exit>,
    /// Spoken guidance (silent until [`Kiosk::set_voice`]).
    voice: crate::voice::Voice,
}

impl Kiosk {
    /// Builds the kiosk around a window. Intents from the window are queued and handled at once
    /// (or at the next [`Kiosk::pump`] when the kiosk is busy).
    pub fn new(
        window: AppWindow,
        cfg: SessionConfig,
        api: Arc<dyn PlatformApi>,
        devices: Arc<dyn KioskDevices>,
        rt: tokio::runtime::Handle,
    ) -> Rc<RefCell<Kiosk>> {
        // The pinyin dictionary is parsed once, in the background, before anyone types a name.
        if let Err(e) = std::thread::Builder::new()
            .name("pinyin-dictionary".into())
            .spawn(|| {
                let _ = crate::pinyin::embedded();
            })
        {
            tracing::warn!(error = %e, "the pinyin dictionary loads on first use");
        }
        let (tx, rx) = mpsc::channel();
        let intents = Rc::new(RefCell::new(VecDeque::new()));
        let kiosk = Rc::new(RefCell::new(Kiosk {
            session: Session::new(cfg, Instant::now(), chrono::Local::now().naive_local()),
            window: window.clone_strong(),
            renderer: Renderer::default(),
            tx,
            rx,
            intents: intents.clone(),
            rt,
            api,
            devices,
            outbox: None,
            camera_scanning: false,
            shown: None,
            logged_screen: None,
            fleet: None,
            status: crate::fleet::SharedStatus::default(),
            system: None,
            exit: None,
            voice: crate::voice::Voice::silent(),
        }));
        let weak = Rc::downgrade(&kiosk);
        crate::ui::on_intent(&window, move |intent| {
            intents.borrow_mut().push_back(intent);
            if let Some(k) = weak.upgrade()
                && let Ok(mut k) = k.try_borrow_mut()
            {
                k.pump(Instant::now());
            }
        });
        kiosk.borrow_mut().render();
        kiosk
    }

    /// Submissions go through this outbox (and may be taken offline); see [`crate::outbox`].
    pub fn set_outbox(&mut self, outbox: Arc<crate::outbox::Outbox>) {
        self.outbox = Some(outbox);
    }

    /// Allows taking submissions while the platform is unreachable (needs an outbox).
    pub fn set_offline_intake(&mut self, on: bool) {
        self.session.set_offline_intake(on && self.outbox.is_some());
    }

    /// Joins the fleet: heartbeats report this kiosk's state, help-desk commands arrive here.
    pub fn set_fleet(&mut self, client: hall_client::FleetClient) {
        let status = self.status.clone();
        let tx = std::sync::Mutex::new(self.tx.clone());
        crate::fleet::spawn(
            client.clone(),
            status.clone(),
            move |cmd| {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(Msg::Fleet(cmd));
                }
            },
            &self.rt,
        );
        // Journey events go with the kiosk's credential, as heartbeats do.
        if let Some(o) = &self.outbox {
            crate::journeys::spawn_journey_sender(o.clone(), client.clone(), &self.rt);
        }
        self.fleet = Some(Fleet {
            client,
            waiting: None,
            identify_until: None,
        });
        self.update_fleet_status(Instant::now());
    }

    /// Set when a help-desk command ends the kiosk's run.
    pub fn exit(&self) -> Option<Exit> {
        self.exit
    }

    /// What the heartbeat and the updater share with the UI thread.
    pub fn status(&self) -> crate::fleet::SharedStatus {
        self.status.clone()
    }

    /// Reports devices and use; passes the updater's system report on to the session.
    fn update_fleet_status(&mut self, now: Instant) {
        let devices = self.devices.fleet_health();
        let system = match self.status.lock() {
            Ok(mut st) => {
                st.devices = devices;
                st.in_use = self.session.in_use();
                st.system.clone()
            }
            Err(_) => None,
        };
        if system != self.system
            && let Some(report) = system
        {
            self.system = Some(report.clone());
            let fx = self.session.handle(Input::System(report), now);
            self.run(fx);
        }
    }

    /// Acknowledges a command. With `wait` (the kiosk is about to stop) the UI thread waits for
    /// it, at most a few seconds; otherwise it goes in the background.
    fn ack(&self, id: &str, ok: bool, result: &str, wait: bool) {
        let Some(f) = &self.fleet else { return };
        let client = f.client.clone();
        let (id, result) = (id.to_string(), result.to_string());
        let send = async move {
            match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                client.ack(&id, ok, Some(&result)),
            )
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "fleet command not acknowledged"),
                Err(_) => tracing::warn!("fleet command acknowledgement timed out"),
            }
        };
        if wait {
            self.rt.block_on(send);
        } else {
            self.rt.spawn(send);
        }
    }

    /// Carries out a help-desk command, or keeps a restart/reboot until the citizen finished.
    fn on_command(&mut self, cmd: hall_domain::api::FleetCommand, now: Instant) {
        use hall_domain::api::CommandKind;
        match cmd.kind {
            CommandKind::Identify => {
                self.ack(&cmd.id, true, "identifying for 60 s", false);
                self.devices.identify(true);
                let until = now + std::time::Duration::from_secs(60);
                self.session.identify(until);
                if let Some(f) = &mut self.fleet {
                    f.identify_until = Some(until);
                }
                tracing::info!(kiosk = %self.view().chrome.kiosk_id, "identifying: status light blinking");
            }
            CommandKind::RestartApp | CommandKind::Reboot => {
                if cmd.force || !self.session.in_use() {
                    self.carry_out(cmd);
                } else {
                    tracing::info!(command = %cmd.id, "waiting for the citizen to finish");
                    if let Some(f) = &mut self.fleet {
                        f.waiting = Some(cmd);
                    }
                }
            }
        }
    }

    fn carry_out(&mut self, cmd: hall_domain::api::FleetCommand) {
        use hall_domain::api::CommandKind;
        let exit = if cmd.kind == CommandKind::Reboot {
            Exit::Reboot
        } else {
            Exit::Restart
        };
        let what = if exit == Exit::Reboot {
            "rebooting"
        } else {
            "restarting"
        };
        self.ack(&cmd.id, true, what, true);
        tracing::info!(command = %cmd.id, forced = cmd.force, "{what} at the help desk's request");
        self.exit = Some(exit);
        let _ = slint::quit_event_loop();
    }

    /// Queues what a person asks for, as the screen's buttons do (handled at the next pump).
    pub fn act(&mut self, intent: Intent) {
        self.intents.borrow_mut().push_back(intent);
    }

    /// Where device drivers send their events.
    pub fn event_sink(&self) -> EventSink {
        let tx = std::sync::Mutex::new(self.tx.clone());
        Arc::new(move |ev| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(Msg::Device(ev));
            }
        })
    }

    pub fn window(&self) -> &AppWindow {
        &self.window
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn view(&self) -> ViewModel {
        self.session.view()
    }

    /// Handles everything that has arrived, lets time pass, and renders.
    pub fn pump(&mut self, now: Instant) {
        loop {
            let next = self.intents.borrow_mut().pop_front();
            let Some(intent) = next else { break };
            let fx = self.session.handle(Input::Act(intent), now);
            self.run(fx);
        }
        while let Ok(msg) = self.rx.try_recv() {
            let fx = match msg {
                Msg::Device(ev) => self.session.handle(Input::Device(ev), now),
                Msg::Reply(generation, input) => {
                    if let (Input::Order(Ok(order)), Some(o)) = (&input, &self.outbox)
                        && order.status.is_final()
                        && let Err(e) = o.order_settled(&order.order_id)
                    {
                        tracing::error!(error = %e, "cannot settle a payment order in the outbox");
                    }
                    self.session.handle_reply(generation, input, now)
                }
                Msg::Fleet(cmd) => {
                    self.on_command(cmd, now);
                    Vec::new()
                }
                Msg::Submitted {
                    generation,
                    key,
                    answer,
                } => {
                    self.settle(&key, &answer, generation == self.session.generation());
                    self.session
                        .handle_reply(generation, Input::Submitted(answer), now)
                }
            };
            self.run(fx);
        }
        let speaking = self.voice.speaking();
        if speaking != self.session.view_speaking() {
            let fx = self.session.handle(Input::Speaking(speaking), now);
            self.run(fx);
        }
        // The wall clock comes in with the tick: the session reads none.
        let local = chrono::Local::now().naive_local();
        let mut fx = self.session.handle(Input::Clock(local), now);
        fx.extend(self.session.handle(Input::Tick, now));
        self.run(fx);
        self.render();
        let screen = self.session.screen();
        if self.logged_screen != Some(screen) {
            // The screen's name only (never what it shows): for the journal and for a harness
            // following the kiosk on its console.
            let (rss_kib, peak_kib) = memory_kib();
            tracing::info!(screen = ?screen, rss_kib, peak_kib, "screen shown");
            self.logged_screen = Some(screen);
        }
        self.update_fleet_status(now);
        if self.fleet.is_some() {
            self.fleet_tick(now);
        }
        let shown = self.session.submission_shown().map(str::to_string);
        if shown.is_some() && shown != self.shown {
            // The screen now shows the outcome (approval code or provisional receipt).
            tracing::info!(
                key = shown.as_deref().unwrap_or_default(),
                "submission shown to the applicant"
            );
        }
        self.shown = shown;
    }

    /// Reports the state for the heartbeat; runs a waiting restart once the kiosk is free; ends
    /// identification.
    fn fleet_tick(&mut self, now: Instant) {
        let in_use = self.session.in_use();
        let shown = self.session.identifying();
        let Some(f) = &mut self.fleet else { return };
        // The light stops with the id on screen: after a minute, or when a touch closed it.
        if f.identify_until.is_some_and(|t| now >= t || !shown) {
            f.identify_until = None;
            self.devices.identify(false);
        }
        if !in_use && let Some(cmd) = f.waiting.take() {
            self.carry_out(cmd);
        }
    }

    /// Settles a submission's outbox entry when the platform answered. `current`: the session
    /// that sent it is still the one on screen, and will show the answer now.
    fn settle(
        &self,
        key: &str,
        answer: &crate::client::ApiResult<hall_domain::api::ApplicationCreated>,
        current: bool,
    ) {
        let Some(o) = &self.outbox else { return };
        let result = match (answer, current) {
            (Ok(_), true) => {
                tracing::info!(key, "submission acknowledged; telling the applicant");
                // Gone from the outbox: the platform holds it and the person is told now.
                o.remove(key).or_else(|e| {
                    tracing::error!(error = %e, "cannot clear the outbox entry");
                    o.mark_told(key)
                })
            }
            (Err(e), _) if !e.is_unreachable() => o.remove(key),
            (Err(_), true) => Ok(()), // the session offers to retry or to keep it offline
            (_, false) => {
                // The person left before the answer came: never shown, so withdrawn.
                tracing::warn!(
                    key,
                    "submission answered after its session ended; withdrawing it"
                );
                o.abandon(key)
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot settle the outbox entry");
        }
    }

    fn render(&mut self) {
        let vm = self.session.view();
        self.renderer.render(&self.window, &vm);
    }

    fn reply(&self) -> impl Fn(Input) + Send + Sync + 'static {
        let tx = std::sync::Mutex::new(self.tx.clone());
        let generation = self.session.generation();
        move |input| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(Msg::Reply(generation, input));
            }
        }
    }

    fn run(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            self.run_one(effect);
        }
    }

    fn run_one(&mut self, effect: Effect) {
        let api = self.api.clone();
        let reply = self.reply();
        match effect {
            Effect::LoadItems => {
                self.rt
                    .spawn(async move { reply(Input::Items(api.items().await)) });
            }
            Effect::LookupProject(code) => {
                self.rt.spawn(async move {
                    let r = api.project(&code).await;
                    reply(Input::Project(code, r))
                });
            }
            Effect::LookupOrganization(code) => {
                self.rt.spawn(async move {
                    let r = api.organization(&code).await;
                    reply(Input::Organization(code, r))
                });
            }
            Effect::Submit {
                idempotency_key,
                local_reference,
                request,
            } => {
                // Durable before it is sent: what the person is told about is never lost.
                let outbox = self.outbox.clone();
                if let Some(o) = &outbox
                    && let Err(e) = o.put(&idempotency_key, &local_reference, &request)
                {
                    tracing::error!(error = %e, "cannot write the outbox");
                    reply(Input::Submitted(Err(crate::client::ApiError::Protocol(
                        format!("本机存储故障 (kiosk storage fault): {e}"),
                    ))));
                    return;
                }
                tracing::info!(key = %idempotency_key, "submission sent");
                let tx = std::sync::Mutex::new(self.tx.clone());
                let generation = self.session.generation();
                self.rt.spawn(async move {
                    let answer = api.submit(&idempotency_key, &request).await;
                    if let Ok(tx) = tx.lock() {
                        let _ = tx.send(Msg::Submitted {
                            generation,
                            key: idempotency_key,
                            answer,
                        });
                    }
                });
            }
            Effect::AcceptOffline { idempotency_key } => {
                tracing::info!(key = %idempotency_key, "submission kept for later delivery; telling the applicant");
                let result = match &self.outbox {
                    Some(o) => o.mark_told(&idempotency_key).map_err(|e| e.to_string()),
                    None => Err("no outbox".to_string()),
                };
                reply(Input::OfflineStored(result));
            }
            Effect::AbandonSubmission { idempotency_key } => {
                if let Some(o) = &self.outbox
                    && let Err(e) = o.abandon(&idempotency_key)
                {
                    tracing::error!(error = %e, "cannot mark an abandoned submission");
                }
            }
            Effect::LookupCase(code) => {
                self.rt
                    .spawn(async move { reply(Input::Case(api.case(&code).await)) });
            }
            Effect::CaseDetails {
                approval_code,
                card,
            } => {
                self.rt.spawn(async move {
                    let answer = api.case_details(&approval_code, &card.id_number).await;
                    // The card is wiped here, as it is dropped.
                    drop(card);
                    reply(Input::Details(answer))
                });
            }
            Effect::CasesByCard { card } => {
                self.rt.spawn(async move {
                    let answer = api.cases_by_card(&card.id_number).await;
                    drop(card);
                    reply(Input::MyCases(answer))
                });
            }
            Effect::FetchNotice(code) => {
                self.rt
                    .spawn(async move { reply(Input::Notice(api.fee_notice(&code).await)) });
            }
            Effect::CreateOrder {
                payment_code,
                request,
            } => {
                let outbox = self.outbox.clone();
                self.rt.spawn(async move {
                    let answer = api.create_order(&payment_code, &request).await;
                    // Durable before the payer is asked to pay: cancelled after a crash.
                    if let (Ok(order), Some(o)) = (&answer, &outbox)
                        && !order.status.is_final()
                        && let Err(e) = o.put_order(&order.order_id)
                    {
                        tracing::error!(error = %e, "cannot record a payment order in the outbox");
                    }
                    reply(Input::Order(answer))
                });
            }
            Effect::PollOrder(id) => {
                self.rt
                    .spawn(async move { reply(Input::Order(api.order(&id).await)) });
            }
            Effect::CancelOrder(id) => {
                self.rt
                    .spawn(async move { reply(Input::Order(api.cancel_order(&id).await)) });
            }
            Effect::Print(receipt) => {
                let devices = self.devices.clone();
                self.rt
                    .spawn_blocking(move || reply(Input::Printed(devices.print_receipt(&receipt))));
            }
            Effect::TestPrint => {
                let devices = self.devices.clone();
                let sample = test_receipt(&self.session.view().chrome.kiosk_id);
                self.rt
                    .spawn_blocking(move || reply(Input::Printed(devices.print_receipt(&sample))));
            }
            Effect::PaperReplaced => {
                tracing::info!("printer paper replaced by staff");
            }
            Effect::RestartApp => {
                tracing::info!("restarting from the maintenance screen");
                self.exit = Some(Exit::Restart);
                let _ = slint::quit_event_loop();
            }
            Effect::CaptureStill => {
                let devices = self.devices.clone();
                self.rt.spawn_blocking(move || {
                    reply(Input::Photo(devices.capture_still().map(Arc::new)))
                });
            }
            Effect::CameraScanning(on) => {
                if on != self.camera_scanning {
                    self.camera_scanning = on;
                    self.devices.set_camera_scanning(on);
                }
            }
            Effect::RequestHelp => {
                if let Some(f) = &self.fleet {
                    let client = f.client.clone();
                    self.rt.spawn(async move {
                        if let Err(e) = client.help(true, None).await {
                            tracing::warn!(error = %e, "help request not delivered");
                        }
                    });
                }
                tracing::warn!(screen = ?self.session.screen(), "help requested at the kiosk");
            }
            Effect::HelpAnswered => {
                if let Some(f) = &self.fleet {
                    let client = f.client.clone();
                    self.rt.spawn(async move {
                        if let Err(e) = client.help(false, Some("staff at the kiosk")).await {
                            tracing::warn!(error = %e, "help request not cleared");
                        }
                    });
                }
            }
            Effect::Speak(speech) => self.voice.say(speech),
            Effect::StopSpeech => self.voice.stop(),
            Effect::Journey(note) => {
                // Stamped here: the session reads no clock.
                let event = crate::journeys::event(note, chrono::Local::now().naive_local());
                tracing::debug!(kind = ?event.kind, event = ?event.event, step = ?event.step,
                    "journey event");
                // Off the UI thread: the outbox syncs every write to disk, and nothing on the
                // screen waits for this one.
                if let Some(o) = self.outbox.clone() {
                    self.rt.spawn_blocking(move || {
                        if let Err(e) = o.put_journey_event(&event) {
                            tracing::error!(error = %e, "cannot keep a journey event in the outbox");
                        }
                    });
                }
            }
            Effect::SessionEnded { timed_out } => {
                tracing::info!(timed_out, "session ended, personal data wiped");
            }
        }
    }

    /// Speaks the screens' prompts with this voice.
    pub fn set_voice(&mut self, voice: crate::voice::Voice) {
        self.voice = voice;
    }

    /// The voice, to see what it was asked to say.
    pub fn voice(&self) -> &crate::voice::Voice {
        &self.voice
    }

    /// The pending payment order, for the simulator's "phone pays" button.
    pub fn pending_order(&self) -> Option<String> {
        self.session.pending_order_id()
    }
}

/// The sample receipt of a maintenance test print: the kiosk's id and the time, in the layout of
/// a progress slip.
fn test_receipt(kiosk_id: &str) -> crate::session::Receipt {
    use kiosk_drivers::printer::receipt::ProgressSlip;
    crate::session::Receipt::Progress(ProgressSlip {
        approval_code_grouped: "0000 0000 0000 0000".into(),
        item_name: format!("测试页 Test page · {kiosk_id}"),
        stage_name: "维护 Maintenance".into(),
        status_text: "打印正常 Printer OK".into(),
        nodes: Vec::new(),
        printed_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    })
}

/// The process's resident memory and its peak, in KiB (0 where /proc does not say).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
