//! Two platform instances on one PostgreSQL tell each other of the fleet's changes
//! (LISTEN/NOTIFY): a console watching one instance hears of a help call made to the other, and a
//! kiosk's command poll waiting on one instance is answered as soon as a command is issued on the
//! other (well before its 15 s look at the database).

mod common;

use std::time::{Duration, Instant};

use common::{Hall, Kind, TestDb};
use hall_domain::api;
use hall_platform::console_rules::ConsoleRole;
use hall_platform::{ServerConfig, spawn};
use reqwest::StatusCode;
use serde_json::json;

/// Signs in to a console and returns the session's cookie header.
async fn sign_in(base: &str, name: &str, password: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .unwrap();
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next().map(str::to_string))
            .unwrap()
    };
    let login = cookie(&page, "hall_console_login");
    let token = login.split_once('=').unwrap().1.to_string();
    let r = http
        .post(format!("{base}/console/login"))
        .header("cookie", &login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&name={name}&password={password}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    cookie(&r, "hall_console")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_tell_each_other() {
    let Some(db) = TestDb::fresh(Kind::Postgres).await else {
        return;
    };
    // Instance A, with the kiosk enrolled; instance B on the same database.
    let a = Hall::start(&db.url).await;
    let mut config = ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.demo = true;
    config.today = Some(common::today());
    let b = spawn(config).await.unwrap();
    let b_base = format!("http://{}", b.addr);
    a.server
        .console_user("desk", ConsoleRole::Helpdesk, "a-long-enough-password")
        .await
        .unwrap();

    // A console on A watches; the kiosk's help call goes to B.
    let session = sign_in(&a.base, "desk", "a-long-enough-password").await;
    let mut events = reqwest::Client::new()
        .get(format!("{}/console/events", a.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let r = a
        .http
        .post(format!("{b_base}{}", api::FLEET_HELP))
        .json(&json!({ "needs_help": true }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let heard = tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = String::new();
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: fleet") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        heard,
        Ok(true),
        "the console on A hears of the help call made to B"
    );

    // The kiosk waits for a command on A; the help desk issues one on B.
    let poll = {
        let http = a.http.clone();
        let url = format!("{}{}", a.base, api::fleet_poll_path(10));
        tokio::spawn(async move {
            let r = http.get(url).send().await.unwrap();
            (r.status(), Instant::now(), r.text().await.unwrap())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let desk = {
        let (ok, out, err) = common::cli(&[
            "fleet",
            "token",
            "create",
            "--db",
            &db.arg(),
            "--role",
            "helpdesk",
            "--label",
            "desk",
        ]);
        assert!(ok, "{err}");
        out.trim().to_string()
    };
    let issued = Instant::now();
    let r = common::client_with(&desk)
        .post(format!("{b_base}{}", api::FLEET_COMMANDS))
        .json(&json!({ "kind": "identify", "kiosk_id": common::KIOSK }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, answered, body) = poll.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("identify"), "{body}");
    let took = answered.duration_since(issued);
    // The poll looks at the database only every 15 s on PostgreSQL: an answer well within that
    // came from the notification.
    assert!(
        took < Duration::from_secs(3),
        "answered {took:?} after the command was issued"
    );
    b.shutdown().await;
    a.server.shutdown().await;
}

/// A kiosk credential revoked on one instance is refused there at once and on the other
/// instance within the 5 s it may be trusted without a database read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_credential_revoked_on_one_instance_is_refused_on_the_other_within_5_s() {
    let Some(db) = TestDb::fresh(Kind::Postgres).await else {
        return;
    };
    let a = Hall::start(&db.url).await;
    let mut config = ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.demo = true;
    config.today = Some(common::today());
    let b = spawn(config).await.unwrap();
    let on_b = format!(
        "http://{}{}",
        b.addr,
        api::fee_notice_path(hall_platform::demo::PAYMENT_CODE)
    );
    // B has just found the credential valid: it may trust it for 5 s.
    let r = a.http.get(&on_b).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin = {
        let (ok, out, err) = common::cli(&[
            "fleet",
            "token",
            "create",
            "--db",
            &db.arg(),
            "--role",
            "admin",
            "--label",
            "ops",
        ]);
        assert!(ok, "{err}");
        out.trim().to_string()
    };
    let r = common::client_with(&admin)
        .post(a.url(&format!("/api/v1/fleet/kiosks/{}/revoke", common::KIOSK)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let revoked = Instant::now();
    let r = a
        .get(&api::fee_notice_path(hall_platform::demo::PAYMENT_CODE))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "at once where it was revoked"
    );
    let refused = loop {
        let r = a.http.get(&on_b).send().await.unwrap();
        if r.status() == StatusCode::UNAUTHORIZED {
            break revoked.elapsed();
        }
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            revoked.elapsed() < Duration::from_secs(8),
            "still accepted on B"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        refused <= Duration::from_millis(5500),
        "refused on B {refused:?} after the revocation"
    );
    b.shutdown().await;
    a.server.shutdown().await;
}
