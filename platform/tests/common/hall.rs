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

/// A running platform and a client for it.
pub struct Hall {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
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
        edit(&mut config);
        let server = spawn(config).await.unwrap();
        let base = format!("http://{}", server.addr);
        Hall {
            server,
            base,
            http: reqwest::Client::new(),
        }
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
