//! Fleet control end to end: the platform on loopback, the real kiosk binary headless (enrolled
//! with a one-time token from its configuration), and the help desk's `kioskctl`. A restart
//! while the kiosk is idle brings a new process's heartbeat within 5 s; an unforced restart
//! while a citizen is using the kiosk waits for the session to end; a forced one does not.
//! Here the test plays systemd (Restart=always): when the kiosk exits, it starts it again.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hall_domain::api::KioskStatus;
use hall_platform::audit::Actor;
use hall_platform::db::DbUrl;
use hall_platform::fleet;
use hall_platform::store::Store;

const KIOSK: &str = "e2e-07";

fn kioskctl() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_hall-kiosk"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let bin = dir.join("kioskctl");
    if !bin.exists() {
        // `cargo test --workspace` builds it; a lone `cargo test --test fleet_e2e` may not have.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", "hall-platform", "--bin", "kioskctl"])
            .status()
            .expect("cargo runs");
        assert!(ok.success(), "kioskctl builds");
    }
    bin
}

struct Desk {
    base: String,
    token: String,
    bin: PathBuf,
}

impl Desk {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(["--platform", &self.base, "--token", &self.token])
            .args(args)
            .output()
            .expect("kioskctl runs");
        assert!(
            out.status.success(),
            "kioskctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn show(&self) -> KioskStatus {
        let text = self.run(&["--json", "show", KIOSK]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("kioskctl show --json: {e}: {text}"))
    }

    /// Waits until the kiosk's status satisfies `cond`.
    fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&KioskStatus) -> bool) -> Instant {
        let end = Instant::now() + limit;
        loop {
            let st = self.show();
            if cond(&st) {
                return Instant::now();
            }
            assert!(Instant::now() < end, "timed out waiting for {what}: {st:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

struct Kiosk {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Kiosk {
    fn start(cfg: &Path, args: &[&str]) -> Kiosk {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hall-kiosk"))
            .arg("--config")
            .arg(cfg)
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the kiosk starts");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Kiosk {
            child,
            lines,
            log: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.log.push(l);
        }
    }

    /// Waits for the process to exit by itself (as after a restart command).
    fn wait_exit(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            self.drain();
            if let Ok(Some(_)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                self.drain();
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn help_desk_restarts_a_kiosk_idle_waiting_and_forced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db_path = dir.path().join("platform.sqlite");
    let mut config = hall_platform::ServerConfig::new(db_path.clone(), ([127, 0, 0, 1], 0).into());
    config.fleet_heartbeat_secs = 1;
    config.fleet_offline_after = Duration::from_secs(3);
    let server = rt
        .block_on(hall_platform::spawn(config))
        .expect("platform starts");
    let base = format!("http://{}", server.addr);

    // The admin makes a help-desk token and the kiosk's enrolment token.
    let store = Store::open(&DbUrl::Sqlite(db_path.clone())).expect("store");
    let now = chrono::Local::now().naive_local();
    let helpdesk = store
        .write_blocking(|c| fleet::create_fleet_token(c, fleet::Role::Helpdesk, "desk-1", now))
        .expect("help-desk token");
    let enrol = store
        .write_blocking(|c| {
            fleet::create_enrol_token(
                c,
                KIOSK,
                "东津新区政务服务中心",
                3_600_000,
                &Actor::Admin,
                now,
                chrono::Local::now().timestamp_millis(),
            )
        })
        .expect("enrolment token");
    drop(store);

    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"{KIOSK}\"\nhall = \"东津新区政务服务中心\"\ndata_dir = \"{}\"\n\n\
             [platform]\nurl = \"{base}\"\n\n[display]\nsim_panel = false\n\n\
             [fleet]\nenrolment_token = \"{enrol}\"\nreboot_request = \"{}\"\n",
            dir.path().join("data").display(),
            dir.path().join("reboot-request").display(),
        ),
    )
    .expect("config");
    let desk = Desk {
        base: base.clone(),
        token: helpdesk,
        bin: kioskctl(),
    };

    // First start: enrols, erases the token, reports in.
    let mut kiosk = Kiosk::start(&cfg, &["run", "--headless", "600"]);
    desk.wait("the first heartbeat", Duration::from_secs(30), |s| s.online);
    let text = std::fs::read_to_string(&cfg).expect("config");
    assert!(
        !text.contains(&enrol),
        "the enrolment token is erased once used"
    );
    assert!(desk.run(&["list"]).contains(KIOSK));

    // Idle: restart → the process exits, systemd (here: the test) starts it, new heartbeat.
    let first_boot = desk.show().boot_id;
    let asked = Instant::now();
    desk.run(&["restart", KIOSK]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(10)),
        "the idle kiosk restarts at once"
    );
    drop(kiosk);
    let kiosk = Kiosk::start(&cfg, &["run", "--headless", "600"]);
    let restarted = desk.wait("a new process", Duration::from_secs(15), |s| {
        s.uptime_secs.is_some_and(|u| u <= 2) && s.last_seen_secs_ago.is_some_and(|a| a <= 1)
    });
    let latency = restarted.duration_since(asked);
    println!("restart to the new process's first heartbeat: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    assert_eq!(
        desk.show().boot_id,
        first_boot,
        "the app restarted, not the machine"
    );
    drop(kiosk);

    // In use: a citizen (the drill) is at the kiosk. An unforced restart waits for the end of
    // the session; the log shows the session ended right before the restart.
    let mut kiosk = Kiosk::start(&cfg, &["drill", "--skip-photos"]);
    desk.wait("a citizen at the kiosk", Duration::from_secs(30), |s| {
        s.in_use
    });
    desk.run(&["restart", KIOSK]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(30)),
        "restarts after the session"
    );
    let restart_at = kiosk
        .log
        .iter()
        .position(|l| l.contains("restarting at the help desk's request"))
        .expect("restart logged");
    let before = &kiosk.log[..restart_at];
    let last_end = before
        .iter()
        .rposition(|l| l.contains("session ended"))
        .expect("a session ended before the restart");
    let received = before
        .iter()
        .position(|l| l.contains("fleet command received"))
        .expect("command logged");
    assert!(
        before[received..]
            .iter()
            .any(|l| l.contains("waiting for the citizen to finish")),
        "the command waited: {:?}",
        &before[received..]
    );
    assert!(
        !before[last_end..]
            .iter()
            .any(|l| l.contains("submission sent")),
        "nothing was under way when it restarted"
    );
    drop(kiosk);

    // Forced: restarts in the middle of the session.
    let mut kiosk = Kiosk::start(&cfg, &["drill", "--skip-photos"]);
    desk.wait("a citizen at the kiosk", Duration::from_secs(30), |s| {
        s.in_use
    });
    let asked = Instant::now();
    desk.run(&["restart", KIOSK, "--now"]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(10)),
        "a forced restart is at once"
    );
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(
        !kiosk
            .log
            .iter()
            .any(|l| l.contains("waiting for the citizen to finish")),
        "a forced restart does not wait"
    );
    assert!(kiosk.log.iter().any(|l| l.contains("forced=true")));
    drop(kiosk);

    rt.block_on(server.shutdown());
}
