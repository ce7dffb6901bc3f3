//! The help desk's view of what a kiosk submitted, by idempotency key (the check "every
//! submission the applicant was told about exactly once, none untold"): over HTTP with a fleet
//! token and with `kioskctl cases`.

mod common;

use common::{Kind, TestDb, planning_permit};
use hall_domain::api;
use hall_platform::{ServerConfig, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn run(bin: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .env_remove("KIOSKCTL_TOKEN")
        .env_remove("KIOSKCTL_PLATFORM")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosks_cases_without_its_keys() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    // The demo registry holds the project the applications name.
    let server = spawn(ServerConfig {
        demo: true,
        ..ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap())
    })
    .await
    .unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let arg = db.arg();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(
            env!("CARGO_BIN_EXE_hall-platform"),
            &[
                "fleet", "token", "create", "--db", &arg, "--role", "helpdesk",
            ],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    let token = out.trim().to_string();

    let kiosk = common::client_with(&server.enrol_kiosk("K-31", "测试大厅").await.unwrap());
    let mut codes = Vec::new();
    for key in ["told-1", "untold-1"] {
        let v: Value = kiosk
            .post(format!("{base}{}", api::APPLICATIONS))
            .header(api::IDEMPOTENCY_HEADER, key)
            .json(&planning_permit("K-31"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(v["approval_code"].as_str().unwrap().to_string());
    }
    let r = kiosk
        .post(format!("{base}/api/v1/applications/withdraw"))
        .header(api::IDEMPOTENCY_HEADER, "untold-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let path = format!("{base}/api/v1/fleet/kiosks/K-31/applications");
    assert_eq!(
        http.get(&path).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let list: Vec<Value> = http
        .get(&path)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    // The help desk sees the cases, never the kiosk's idempotency keys.
    assert!(
        list.iter().all(|c| c.get("idempotency_key").is_none()),
        "{list:?}"
    );
    let by_code = |k: &str| list.iter().find(|c| c["approval_code"] == k).unwrap();
    assert_eq!(by_code(&codes[0])["active"], true);
    assert_eq!(by_code(&codes[1])["active"], false);
    assert_eq!(by_code(&codes[1])["status"], 2);

    let b = base.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(
            env!("CARGO_BIN_EXE_kioskctl"),
            &["--platform", &b, "--token", &token, "cases", "K-31"],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(!out.contains("told-1"), "{out}");
    let told = out.lines().find(|l| l.contains(&codes[0])).unwrap();
    assert!(told.trim_end().ends_with("yes"), "{out}");
    let untold = out.lines().find(|l| l.contains(&codes[1])).unwrap();
    assert!(untold.trim_end().ends_with("no"), "{out}");
    server.shutdown().await;
}
