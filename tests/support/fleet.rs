//! A hall with fleet control for tests and benchmarks: the platform on loopback, tokens made
//! by the admin, the kiosk binary run as systemd would, and the help desk's `kioskctl`.

#![allow(dead_code)]

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

pub const KIOSK: &str = "e2e-07";

pub fn kioskctl() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_hall-kiosk"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let bin = dir.join("kioskctl");
    if !bin.exists() {
        // `cargo test --workspace` builds it; a lone `cargo test --test fleet_e2e` may not have.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = dir.ends_with("release");
        let mut args = vec!["build", "-p", "hall-platform", "--bin", "kioskctl"];
        if release {
            args.push("--release");
        }
        let ok = Command::new(cargo)
            .args(&args)
            .status()
            .expect("cargo runs");
        assert!(ok.success(), "kioskctl builds");
    }
    bin
}

pub struct Desk {
    pub base: String,
    pub token: String,
    pub bin: PathBuf,
}

impl Desk {
    pub fn run(&self, args: &[&str]) -> String {
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

    pub fn show(&self) -> KioskStatus {
        let text = self.run(&["--json", "show", KIOSK]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("kioskctl show --json: {e}: {text}"))
    }

    /// Waits until the kiosk's status satisfies `cond`.
    pub fn wait(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&KioskStatus) -> bool,
    ) -> Instant {
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

pub struct Kiosk {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
}

impl Kiosk {
    pub fn start(cfg: &Path, args: &[&str]) -> Kiosk {
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

    pub fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.log.push(l);
        }
    }

    /// Waits for a log line containing `part`.
    pub fn wait_line(&mut self, part: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Ok(l) => {
                    let hit = l.contains(part);
                    self.log.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        false
    }

    /// Waits for the process to exit by itself (as after a restart command).
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
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

/// A running hall: platform, the kiosk's configuration (with a one-time enrolment token), and
/// the help desk.
pub struct Hall {
    pub rt: tokio::runtime::Runtime,
    pub server: Option<hall_platform::RunningServer>,
    pub cfg: PathBuf,
    pub enrol: String,
    pub desk: Desk,
    pub dir: tempfile::TempDir,
}

impl Hall {
    pub fn start() -> Hall {
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let db_path = dir.path().join("platform.sqlite");
        let mut config =
            hall_platform::ServerConfig::demo_hall(db_path.clone(), ([127, 0, 0, 1], 0).into());
        config.fleet_heartbeat_secs = 1;
        config.fleet_offline_after = Duration::from_secs(3);
        let server = rt
            .block_on(hall_platform::spawn(config))
            .expect("platform starts");
        let base = format!("http://{}", server.addr);

        // The admin makes a help-desk token and the kiosk's enrolment token.
        // With the platform's keys: its audit entries are keyed, and so must these be.
        let url = DbUrl::Sqlite(db_path.clone());
        let keys = hall_platform::seal::Sealer::load(&hall_platform::SealKeys::made_for(&url))
            .expect("the platform's key file");
        let store = Store::open(&url)
            .and_then(|s| s.with_sealer(std::sync::Arc::new(keys)))
            .expect("store");
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

        Hall {
            rt,
            server: Some(server),
            cfg,
            enrol,
            desk,
            dir,
        }
    }
}

impl Drop for Hall {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}
