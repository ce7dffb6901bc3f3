//! Field updates for the tests: a platform with its own releases directory, release files as the
//! release script writes them, fleet tokens, kiosks and their heartbeats with a system report.

use std::path::{Path, PathBuf};

use hall_domain::api::{
    self, DeviceHealth, DeviceState, Heartbeat, HeartbeatAnswer, SystemReport, UpdateState,
};
use hall_platform::{RunningServer, ServerConfig, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::TestDb;

pub const COMPATIBLE: &str = "hall-kiosk-x86";

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bundle of `len` bytes (not a real RAUC bundle: the platform never opens it) and its
/// sidecar `<version>.json` beside it, in `dir`. Returns the sidecar's path and the bytes.
pub fn release_files(dir: &Path, version: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ version.len() as u8)
        .collect();
    let bundle = format!("hall-kiosk-{version}.raucb");
    std::fs::write(dir.join(&bundle), &bytes).unwrap();
    let sidecar = json!({
        "version": version,
        "compatible": COMPATIBLE,
        "root_sha256": hex(&Sha256::digest(format!("root {version}").as_bytes())),
        "bundle": bundle,
        "size": len,
        "sha256": hex(&Sha256::digest(&bytes)),
    });
    let path = dir.join(format!("{version}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&sidecar).unwrap()).unwrap();
    (path, bytes)
}

/// A platform on loopback whose releases are kept in a directory of the test's own.
pub struct Updates {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    pub releases: tempfile::TempDir,
    pub work: tempfile::TempDir,
    pub db_arg: String,
}

impl Updates {
    pub async fn start(db: &TestDb) -> Updates {
        Self::start_with(db, |_| {}).await
    }

    /// [`Self::start`] with the configuration changed first.
    pub async fn start_with(db: &TestDb, change: impl FnOnce(&mut ServerConfig)) -> Updates {
        let releases = tempfile::tempdir().unwrap();
        let mut config =
            ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
        config.releases_dir = releases.path().to_path_buf();
        change(&mut config);
        let server = spawn(config).await.unwrap();
        let base = format!("http://{}", server.addr);
        Updates {
            server,
            base,
            http: reqwest::Client::new(),
            releases,
            work: tempfile::tempdir().unwrap(),
            db_arg: db.arg(),
        }
    }

    /// Runs `hall-platform` with this database and releases directory after the arguments.
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--db".to_string(),
            self.db_arg.clone(),
            "--releases".to_string(),
            self.releases.path().display().to_string(),
        ]);
        super::cli_async(all).await
    }

    /// Stores a release through `hall-platform release add`; its bytes.
    pub async fn add_release(&self, version: &str, len: usize) -> Vec<u8> {
        let (sidecar, bytes) = release_files(self.work.path(), version, len);
        let (ok, out, err) = self
            .cli(&["release", "add", &sidecar.display().to_string()])
            .await;
        assert!(ok, "release add: {out}{err}");
        bytes
    }

    pub async fn token(&self, role: &str, label: &str) -> String {
        let (ok, out, err) = self
            .cli(&["fleet", "token", "create", "--role", role, "--label", label])
            .await;
        assert!(ok, "{err}");
        out.trim().to_string()
    }

    pub async fn kiosk(&self, id: &str, hall: &str) -> String {
        self.server.enrol_kiosk(id, hall).await.unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Starts a rollout as `admin`; its id.
    pub async fn start_rollout(&self, admin: &str, body: Value) -> Value {
        let r = self.post(admin, api::FLEET_ROLLOUTS, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        r.json().await.unwrap()
    }

    pub async fn rollout(&self, token: &str, id: &str) -> Value {
        let r = self.get(token, &api::fleet_rollout_path(id)).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// A heartbeat with this system report; the answer.
    pub async fn beat(&self, credential: &str, system: Option<SystemReport>) -> HeartbeatAnswer {
        let hb = Heartbeat {
            version: "1.4.2".into(),
            uptime_secs: 60,
            boot_id: "6f1c0a52-9d2b-4c55-8a0e-3a1f2b7c9d10".into(),
            devices: DeviceHealth {
                printer: DeviceState::Ok,
                reader: DeviceState::Ok,
                camera: DeviceState::Ok,
                scanner: DeviceState::Ok,
            },
            in_use: false,
            last_error: None,
            system,
        };
        let r = self
            .http
            .post(format!("{}{}", self.base, api::FLEET_HEARTBEAT))
            .bearer_auth(credential)
            .json(&hb)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// What an A/B kiosk running `version` says of its system.
/// Sends `head` and then `body` in eight parts over some 2.5 s (well past the 1 s a test
/// server's request bodies get), and reads the whole answer; the seconds it took.
pub async fn send_slowly(
    addr: std::net::SocketAddr,
    head: &str,
    body: &[u8],
) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    for part in body.chunks(body.len() / 8 + 1) {
        tcp.write_all(part).await.unwrap();
        tcp.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(320)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut answer),
    )
    .await
    .unwrap()
    .unwrap();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

pub fn system(version: &str, update: UpdateState) -> SystemReport {
    SystemReport {
        os_version: version.into(),
        slot: Some("A".into()),
        compatible: Some(COMPATIBLE.into()),
        root_sha256: Some("ab".repeat(32)),
        update,
    }
}
