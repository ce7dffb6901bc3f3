//! A platform started for a test, on loopback, with a fixed "today", and the requests the tests
//! send it.

use std::time::Duration;

use chrono::NaiveDate;
use hall_domain::api;
use hall_platform::{DbUrl, RunningServer, ServerConfig, spawn};
use serde_json::Value;

/// Monday 23 November 2026: the day every test hall lives on.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// The kiosk the test hall's client speaks for.
pub const KIOSK: &str = "K-TEST";

/// A running platform and a client for it, speaking as the enrolled kiosk [`KIOSK`].
pub struct Hall {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    /// [`KIOSK`]'s credential.
    pub credential: String,
    /// Clients of the other kiosks enrolled so far.
    kiosks: tokio::sync::Mutex<std::collections::HashMap<String, reqwest::Client>>,
}

/// A client that sends `credential` as `Authorization: Bearer` with every request.
pub fn client_with(credential: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {credential}")).unwrap();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

impl Hall {
    /// Starts the demo hall's platform on `db` (demo data, [`today`], a simulated payer who
    /// confirms within 300 ms),
    /// with `edit` applied to its configuration.
    pub async fn start_with(db: &DbUrl, edit: impl FnOnce(&mut ServerConfig)) -> Hall {
        let mut config = ServerConfig::with_database(db.clone(), "127.0.0.1:0".parse().unwrap());
        config.demo = true;
        config.today = Some(today());
        config.sim_payer_delay = Duration::from_millis(300);
        // The tests send bursts no kiosk would (dozens of concurrent submissions from one
        // credential); the rate itself is tested in security.rs.
        config.kiosk_rate = hall_platform::Rate {
            per_second: 1000,
            burst: 1000,
        };
        config.peer_rate = hall_platform::Rate {
            per_second: 100_000,
            burst: 100_000,
        };
        edit(&mut config);
        let server = spawn(config).await.unwrap();
        let base = format!("http://{}", server.addr);
        let credential = server.enrol_kiosk(KIOSK, "测试大厅").await.unwrap();
        Hall {
            server,
            base,
            http: client_with(&credential),
            credential,
            kiosks: Default::default(),
        }
    }

    /// A client for another kiosk (enrolled the first time it is asked for).
    pub async fn kiosk(&self, kiosk_id: &str) -> reqwest::Client {
        let mut kiosks = self.kiosks.lock().await;
        if let Some(c) = kiosks.get(kiosk_id) {
            return c.clone();
        }
        let c = client_with(&self.server.enrol_kiosk(kiosk_id, "测试大厅").await.unwrap());
        kiosks.insert(kiosk_id.to_string(), c.clone());
        c
    }

    pub async fn start(db: &DbUrl) -> Hall {
        Self::start_with(db, |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http.post(self.url(path)).send().await.unwrap()
    }

    /// Submits an application under an idempotency key.
    pub async fn apply(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(api::APPLICATIONS))
            .header(api::IDEMPOTENCY_HEADER, key)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}
