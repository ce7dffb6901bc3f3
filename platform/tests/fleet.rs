//! Fleet control against the real platform on loopback (SQLite and PostgreSQL): enrolment,
//! heartbeats, help requests, commands delivered at most once (also across two instances on one
//! database), expiry, roles, the audit of every command, and `kioskctl` run as a process.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Kind, TestDb};
use hall_client::{FleetClient, FleetError};
use hall_domain::api::{
    self, CommandKind, CommandStatus, DeviceHealth, DeviceState, Heartbeat, KioskStatus,
};
use hall_platform::audit::Verdict;
use hall_platform::store::Store;
use hall_platform::{RunningServer, ServerConfig, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

const HALL: &str = "政务服务中心 工程建设项目审批专区";

async fn start(db: &TestDb) -> (RunningServer, String) {
    let mut config = ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.fleet_heartbeat_secs = 1;
    config.fleet_offline_after = Duration::from_millis(1500);
    let server = spawn(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    (server, base)
}

fn run(bin: &str, args: &[String], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args).env_remove("KIOSKCTL_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn platform_cli(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || run(env!("CARGO_BIN_EXE_hall-platform"), &args, &[]))
        .await
        .unwrap()
}

async fn kioskctl(args: Vec<String>, env: Vec<(String, String)>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(env!("CARGO_BIN_EXE_kioskctl"), &args, &env)
    })
    .await
    .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

async fn fleet_token(db: &TestDb, role: &str, label: &str) -> String {
    let (ok, out, err) = platform_cli(s(&[
        "fleet",
        "token",
        "create",
        "--db",
        &db.arg(),
        "--role",
        role,
        "--label",
        label,
    ]))
    .await;
    assert!(ok, "{err}");
    let token = out.trim().to_string();
    assert!(token.starts_with("hft_"), "{out}");
    token
}

fn beat(in_use: bool) -> Heartbeat {
    Heartbeat {
        version: "1.4.2".into(),
        uptime_secs: 3725,
        boot_id: "6f1c0a52-9d2b-4c55-8a0e-3a1f2b7c9d10".into(),
        devices: DeviceHealth {
            printer: DeviceState::PaperLow,
            reader: DeviceState::Ok,
            camera: DeviceState::Ok,
            scanner: DeviceState::Absent,
        },
        in_use,
        last_error: Some("printer: paper near end".into()),
        system: None,
    }
}

struct Desk {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Desk {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }
    async fn kiosks(&self) -> Vec<KioskStatus> {
        let r = self.get(api::FLEET_KIOSKS).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
    async fn kiosk(&self, id: &str) -> KioskStatus {
        let r = self.get(&api::fleet_kiosk_path(id)).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
    async fn command(&self, body: Value) -> Vec<hall_domain::api::FleetCommand> {
        let r = self.post(api::FLEET_COMMANDS, &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }
    async fn enrol_token(&self, kiosk: &str) -> reqwest::Response {
        self.post(
            api::FLEET_ENROL_TOKENS,
            &json!({ "kiosk_id": kiosk, "hall": HALL }),
        )
        .await
    }
}

async fn enrolled_kiosk(admin: &Desk, id: &str) -> FleetClient {
    let r = admin.enrol_token(id).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token: Value = r.json().await.unwrap();
    let enrolled = FleetClient::enrol(&admin.base, token["enrolment_token"].as_str().unwrap())
        .await
        .unwrap();
    FleetClient::new(&admin.base, &enrolled.credential).unwrap()
}

async fn a_kiosk_enrols_reports_and_obeys(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    let (server, base) = start(&db).await;
    let http = reqwest::Client::new();
    let admin = Desk {
        http: http.clone(),
        base: base.clone(),
        token: fleet_token(&db, "admin", "admin-1").await,
    };
    let desk = Desk {
        http: http.clone(),
        base: base.clone(),
        token: fleet_token(&db, "helpdesk", "desk-7").await,
    };

    // Only an admin enrols; without a token nothing is shown.
    assert_eq!(
        desk.enrol_token("K-01").await.status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = http
        .get(format!("{base}{}", api::FLEET_KIOSKS))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let r = admin.enrol_token("K-01").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token: Value = r.json().await.unwrap();
    let token = token["enrolment_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("hke_"));
    // The command line makes them too.
    let (ok, out, err) = platform_cli(s(&[
        "fleet",
        "enrol-token",
        "--db",
        &db.arg(),
        "--kiosk",
        "K-02",
        "--hall",
        HALL,
    ]))
    .await;
    assert!(ok && out.trim().starts_with("hke_"), "{err}");

    // Enrolment: the token once, then useless.
    let enrolled = FleetClient::enrol(&base, &token).await.unwrap();
    assert_eq!(enrolled.kiosk_id, "K-01");
    assert_eq!(enrolled.hall, HALL);
    assert_eq!(enrolled.heartbeat_secs, 1);
    assert!(enrolled.credential.starts_with("hkc_"));
    assert!(matches!(
        FleetClient::enrol(&base, &token).await,
        Err(FleetError::Unauthorised(_))
    ));
    let kiosk = FleetClient::new(&base, &enrolled.credential).unwrap();

    // Heartbeat: the help desk sees it.
    let answer = kiosk.heartbeat(&beat(false)).await.unwrap();
    assert_eq!(answer.heartbeat_secs, 1);
    assert!(!answer.commands_pending);
    let list = desk.kiosks().await;
    assert_eq!(list.len(), 2);
    let k1 = list.iter().find(|k| k.kiosk_id == "K-01").unwrap();
    assert!(k1.enrolled && k1.online && !k1.in_use && !k1.needs_help);
    assert_eq!(k1.version.as_deref(), Some("1.4.2"));
    assert_eq!(k1.uptime_secs, Some(3725));
    assert_eq!(k1.devices.as_ref().unwrap().printer, DeviceState::PaperLow);
    assert_eq!(k1.last_error.as_deref(), Some("printer: paper near end"));
    let k2 = list.iter().find(|k| k.kiosk_id == "K-02").unwrap();
    assert!(!k2.enrolled && !k2.online);

    // The help button.
    kiosk.help(true, Some("卡纸")).await.unwrap();
    let k1 = desk.kiosk("K-01").await;
    assert!(k1.needs_help);
    assert_eq!(k1.help_note.as_deref(), Some("卡纸"));
    let r = desk
        .post("/api/v1/fleet/kiosks/K-01/help/clear", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!desk.kiosk("K-01").await.needs_help);
    // Answered at the kiosk: staff who open its maintenance screen clear it from there.
    kiosk.help(true, None).await.unwrap();
    assert!(desk.kiosk("K-01").await.needs_help);
    kiosk.help(false, Some("staff at the kiosk")).await.unwrap();
    assert!(!desk.kiosk("K-01").await.needs_help);

    // A restart: delivered once, acknowledged with its result.
    let issued = desk
        .command(json!({ "kind": "restart_app", "kiosk_id": "K-01" }))
        .await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].status, CommandStatus::Pending);
    assert_eq!(issued[0].issued_by, "fleet:helpdesk:desk-7");
    assert!(
        kiosk
            .heartbeat(&beat(false))
            .await
            .unwrap()
            .commands_pending
    );
    let got = kiosk.next_command(5).await.unwrap().unwrap();
    assert_eq!(got.id, issued[0].id);
    assert_eq!(got.kind, CommandKind::RestartApp);
    assert_eq!(got.status, CommandStatus::Delivered);
    assert!(
        kiosk.next_command(1).await.unwrap().is_none(),
        "at most once"
    );
    let done = kiosk.ack(&got.id, true, Some("restarted")).await.unwrap();
    assert_eq!(done.status, CommandStatus::Done);
    assert_eq!(done.result.as_deref(), Some("restarted"));
    let again = kiosk.ack(&got.id, false, Some("x")).await.unwrap();
    assert_eq!(again, done, "a repeated acknowledgement changes nothing");

    // While a citizen uses the kiosk, commands are handed over at once, in the order issued:
    // the kiosk itself holds an unforced restart until the citizen in front of it finishes.
    kiosk.heartbeat(&beat(true)).await.unwrap();
    assert!(desk.kiosk("K-01").await.in_use);
    let polite = desk
        .command(json!({ "kind": "restart_app", "kiosk_id": "K-01" }))
        .await;
    let ident = desk
        .command(json!({ "kind": "identify", "kiosk_id": "K-01" }))
        .await;
    let forced = desk
        .command(json!({ "kind": "reboot", "kiosk_id": "K-01", "force": true }))
        .await;
    let first = kiosk.next_command(1).await.unwrap().unwrap();
    let second = kiosk.next_command(1).await.unwrap().unwrap();
    let third = kiosk.next_command(1).await.unwrap().unwrap();
    assert_eq!(
        (first.id.as_str(), first.force),
        (polite[0].id.as_str(), false)
    );
    assert_eq!(second.id, ident[0].id);
    assert_eq!(
        (third.id.as_str(), third.force),
        (forced[0].id.as_str(), true)
    );
    assert!(kiosk.next_command(0).await.unwrap().is_none());
    kiosk.heartbeat(&beat(false)).await.unwrap();
    let failed = kiosk
        .ack(&first.id, false, Some("display busy"))
        .await
        .unwrap();
    assert_eq!(failed.status, CommandStatus::Failed);

    // A command nobody fetched in time is never delivered.
    let short = desk
        .command(json!({ "kind": "identify", "kiosk_id": "K-01", "ttl_secs": 1 }))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(kiosk.next_command(0).await.unwrap().is_none());
    let shown = desk.kiosk("K-01").await;
    let expired = shown.commands.iter().find(|c| c.id == short[0].id).unwrap();
    assert_eq!(expired.status, CommandStatus::Expired);
    assert!(matches!(
        kiosk.ack(&short[0].id, true, None).await,
        Err(FleetError::Refused { status: 409, .. })
    ));

    // Online and offline by the last heartbeat (offline after 1.5 s in this test).
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let k1 = desk.kiosk("K-01").await;
    assert!(!k1.online, "no heartbeat for 1.6 s");
    assert!(k1.last_seen_secs_ago.is_some_and(|s| s >= 1));
    kiosk.heartbeat(&beat(false)).await.unwrap();
    assert!(desk.kiosk("K-01").await.online);

    // Bad targets and unknown kiosks.
    let r = desk
        .post(api::FLEET_COMMANDS, &json!({ "kind": "reboot" }))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = desk
        .post(
            api::FLEET_COMMANDS,
            &json!({ "kind": "reboot", "kiosk_id": "K-02" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not enrolled");

    // Only an admin revokes; a revoked kiosk is refused.
    let r = desk
        .post("/api/v1/fleet/kiosks/K-01/revoke", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = admin
        .post("/api/v1/fleet/kiosks/K-01/revoke", &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(matches!(
        kiosk.heartbeat(&beat(false)).await,
        Err(FleetError::Unauthorised(_))
    ));
    assert!(desk.kiosk("K-01").await.revoked);

    server.shutdown().await;

    // Every command, enrolment and revocation is in the audit chain.
    let url = db.url.clone();
    let (entries, verdict) = tokio::task::spawn_blocking(move || {
        let s = Store::open(&url).unwrap();
        (
            s.audit_for_blocking("kiosk:K-01").unwrap(),
            s.audit_verify_blocking().unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    let count = |a: &str| entries.iter().filter(|e| e.action == a).count();
    assert_eq!(count("kiosk.enrol_token_created"), 1);
    assert_eq!(count("kiosk.enrolled"), 1);
    assert_eq!(count("kiosk.help_requested"), 2);
    assert_eq!(count("kiosk.help_cleared"), 1, "by the desk");
    assert_eq!(count("kiosk.help_withdrawn"), 1, "answered at the kiosk");
    assert_eq!(count("command.issued"), 5);
    assert_eq!(count("command.delivered"), 4);
    assert_eq!(count("command.done"), 1);
    assert_eq!(count("command.failed"), 1);
    assert_eq!(count("command.expired"), 1);
    assert_eq!(count("kiosk.revoked"), 1);
    let issued: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "command.issued")
        .collect();
    assert!(issued.iter().all(|e| e.actor == "fleet:helpdesk:desk-7"));
    assert!(
        entries
            .iter()
            .all(|e| !e.detail.contains("hkc_") && !e.detail.contains("hke_"))
    );
}

/// Two platform instances on one database; the kiosk's long-polls go to either. Every command
/// is delivered exactly once.
async fn commands_are_delivered_once_across_two_instances(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    let (one, base1) = start(&db).await;
    let (two, base2) = start(&db).await;
    let admin = Desk {
        http: reqwest::Client::new(),
        base: base1.clone(),
        token: fleet_token(&db, "admin", "admin-2").await,
    };
    let r = admin.enrol_token("K-11").await;
    let token: Value = r.json().await.unwrap();
    let enrolled = FleetClient::enrol(&base2, token["enrolment_token"].as_str().unwrap())
        .await
        .unwrap();
    let clients = [
        FleetClient::new(&base1, &enrolled.credential).unwrap(),
        FleetClient::new(&base2, &enrolled.credential).unwrap(),
    ];
    clients[0].heartbeat(&beat(false)).await.unwrap();

    let got: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut pollers = Vec::new();
    for i in 0..8 {
        let (c, got) = (clients[i % 2].clone(), Arc::clone(&got));
        pollers.push(tokio::spawn(async move {
            let mut idle = 0;
            while idle < 3 {
                match c.next_command(1).await.unwrap() {
                    Some(cmd) => {
                        idle = 0;
                        *got.lock().unwrap().entry(cmd.id).or_default() += 1;
                    }
                    None => idle += 1,
                }
            }
        }));
    }
    let mut issued = Vec::new();
    for n in 0..12 {
        let kind = ["restart_app", "identify", "reboot"][n % 3];
        let desk = Desk {
            http: admin.http.clone(),
            base: if n % 2 == 0 {
                base1.clone()
            } else {
                base2.clone()
            },
            token: admin.token.clone(),
        };
        for c in desk
            .command(json!({ "kind": kind, "kiosk_id": "K-11" }))
            .await
        {
            issued.push(c.id);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for p in pollers {
        p.await.unwrap();
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), issued.len(), "every command delivered");
    for id in &issued {
        assert_eq!(got.get(id), Some(&1), "{id} delivered exactly once");
    }
    one.shutdown().await;
    two.shutdown().await;
}

both!(
    a_kiosk_enrols_reports_and_obeys,
    commands_are_delivered_once_across_two_instances
);

/// `kioskctl` as the help desk runs it, against a platform on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kioskctl_lists_shows_and_commands() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let (server, base) = start(&db).await;
    let admin_token = fleet_token(&db, "admin", "ops").await;
    let desk_token = fleet_token(&db, "helpdesk", "desk-1").await;
    let admin = Desk {
        http: reqwest::Client::new(),
        base: base.clone(),
        token: admin_token.clone(),
    };
    let kiosk = enrolled_kiosk(&admin, "K-21").await;
    kiosk.heartbeat(&beat(true)).await.unwrap();
    kiosk.help(true, None).await.unwrap();

    let desk = |args: &[&str]| {
        let mut a = s(&["--platform", &base]);
        a.extend(s(args));
        a
    };
    let env = vec![("KIOSKCTL_TOKEN".to_string(), desk_token.clone())];

    let (ok, out, err) = kioskctl(desk(&["list"]), env.clone()).await;
    assert!(ok, "{err}");
    let line = out.lines().find(|l| l.starts_with("K-21")).unwrap();
    for word in [
        "online",
        "1.4.2",
        "printer:paper_low",
        "scanner:absent",
        "yes",
        "NEEDS HELP",
    ] {
        assert!(line.contains(word), "{word} missing in {line}");
    }
    assert!(out.lines().next().unwrap().starts_with("id"));

    let (ok, out, _) = kioskctl(desk(&["--json", "list"]), env.clone()).await;
    assert!(ok);
    let v: Vec<KioskStatus> = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0].kiosk_id, "K-21");

    let (ok, out, err) = kioskctl(desk(&["restart", "K-21"]), env.clone()).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("restart_app") && out.contains("pending"),
        "{out}"
    );
    assert!(
        err.contains("once the citizen using it has finished"),
        "{err}"
    );
    let (ok, out, _) = kioskctl(desk(&["restart", "K-21", "--now"]), env.clone()).await;
    assert!(ok && out.contains("yes"), "{out}");
    let (ok, _, _) = kioskctl(desk(&["reboot", "K-21"]), env.clone()).await;
    assert!(ok);
    let (ok, _, _) = kioskctl(desk(&["identify", "--hall", HALL]), env.clone()).await;
    assert!(ok);
    // Handed over in order; the kiosk holds the unforced one until the citizen finishes.
    let first = kiosk.next_command(1).await.unwrap().unwrap();
    assert_eq!((first.kind, first.force), (CommandKind::RestartApp, false));
    let second = kiosk.next_command(1).await.unwrap().unwrap();
    assert_eq!((second.kind, second.force), (CommandKind::RestartApp, true));

    let (ok, out, err) = kioskctl(desk(&["show", "K-21"]), env.clone()).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(HALL) && out.contains("delivered") && out.contains("reboot"),
        "{out}"
    );
    let (ok, _, _) = kioskctl(desk(&["help-done", "K-21"]), env.clone()).await;
    assert!(ok);
    let (_, out, _) = kioskctl(desk(&["list"]), env.clone()).await;
    assert!(!out.contains("NEEDS HELP"));

    // Roles: the help desk may not enrol or revoke; an admin may.
    let (ok, _, err) = kioskctl(desk(&["revoke", "K-21"]), env.clone()).await;
    assert!(!ok && err.contains("403"), "{err}");
    let (ok, _, err) = kioskctl(
        desk(&["enrol", "--kiosk", "K-22", "--hall", HALL]),
        env.clone(),
    )
    .await;
    assert!(!ok && err.contains("403"), "{err}");
    let (ok, out, err) = kioskctl(
        desk(&[
            "--token",
            &admin_token,
            "enrol",
            "--kiosk",
            "K-22",
            "--hall",
            HALL,
        ]),
        Vec::new(),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("hke_"));
    let (ok, out, _) = kioskctl(desk(&["whoami"]), env.clone()).await;
    assert!(ok && out.contains("desk-1 (helpdesk)"), "{out}");

    // No token, a wrong token, an unreachable platform: a message and a failing exit.
    let (ok, _, err) = kioskctl(desk(&["list"]), Vec::new()).await;
    assert!(!ok && err.contains("KIOSKCTL_TOKEN"), "{err}");
    let (ok, _, err) = kioskctl(desk(&["--token", "hft_nope", "list"]), Vec::new()).await;
    assert!(!ok && err.contains("401"), "{err}");
    server.shutdown().await;
    let (ok, _, err) = kioskctl(desk(&["list"]), env.clone()).await;
    assert!(!ok && err.contains("cannot reach"), "{err}");
}
