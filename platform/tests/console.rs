//! The web console against the real platform on loopback: accounts made with the command line,
//! sign-in, the must-change password, lockout, sessions and their cookie, the form token on every
//! change, roles, and a help call reaching a watching page through server-sent events.

mod common;

use std::time::Duration;

use common::{Browser, Hall, Kind, TestDb, add_user, encode};
use hall_domain::api;
use reqwest::StatusCode;
use serde_json::json;

async fn hall() -> (TestDb, Hall) {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let hall = Hall::start(&db.url).await;
    (db, hall)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_password_is_changed_before_anything_else_and_the_kiosks_are_shown() {
    let (db, hall) = hall().await;
    let (ok, out, err) = add_user(&db.arg(), "wang.li", "helpdesk", None);
    assert!(ok, "{err}");
    let first = out.split_whitespace().last().unwrap().to_string();
    assert_eq!(first.len(), 16, "{out}");

    let mut b = Browser::new(&hall.base);
    let (status, _, to) = b.sign_in("wang.li", &first).await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/password"))
    );
    // Nothing else until the password is changed.
    let (status, _, to) = b.get("/console/").await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/password"))
    );
    let (_, page, _) = b.get("/console/password").await;
    let token = Browser::token(&page);
    let (status, page, _) = b
        .post(
            "/console/password",
            &[
                ("csrf", &token),
                ("current", &first),
                ("new", "short"),
                ("again", "short"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("10"), "{page}");
    let (status, _, to) = b
        .post(
            "/console/password",
            &[
                ("csrf", &token),
                ("current", &first),
                ("new", "服务大厅-help-2026"),
                ("again", "服务大厅-help-2026"),
            ],
        )
        .await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/"))
    );
    let (status, page, _) = b.get("/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(common::KIOSK) && page.contains("测试大厅"),
        "{page}"
    );
    // The old password no longer works.
    let mut other = Browser::new(&hall.base);
    let (status, _, _) = other.sign_in("wang.li", &first).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    hall.server.shutdown().await;
}

/// A signed-in person of `role` (password given on standard input: no change forced).
async fn signed_in(db: &TestDb, hall: &Hall, name: &str, role: &str) -> Browser {
    let (ok, _, err) = add_user(&db.arg(), name, role, Some("a-long-enough-password"));
    assert!(ok, "{err}");
    let mut b = Browser::new(&hall.base);
    let (status, _, to) = b.sign_in(name, "a-long-enough-password").await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/"))
    );
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_and_then_lock_the_account() {
    let (db, hall) = hall().await;
    let (ok, _, err) = add_user(&db.arg(), "li.na", "helpdesk", Some("the-right-password"));
    assert!(ok, "{err}");
    let mut b = Browser::new(&hall.base);
    for n in 1..=4 {
        let (status, page, _) = b.sign_in("li.na", "not-the-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
        assert!(page.contains("用户名或密码不正确"), "{page}");
    }
    // An unknown name gets the same answer.
    let (status, page, _) = b.sign_in("nobody", "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("用户名或密码不正确"), "{page}");
    let (status, page, _) = b.sign_in("li.na", "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("已锁定"), "{page}");
    // Locked: even the right password is refused, and no session cookie is given.
    let (status, page, _) = b.sign_in("li.na", "the-right-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        page.contains("已锁定") && !b.cookies.contains_key("hall_console"),
        "{page}"
    );
    // An admin's reset unlocks it.
    let (ok, _, err) = add_user(&db.arg(), "li.na", "helpdesk", Some("a-new-right-password"));
    assert!(ok, "{err}");
    let (status, _, _) = b.sign_in("li.na", "a-new-right-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_without_a_session_and_the_session_cookie_is_guarded() {
    let (db, hall) = hall().await;
    let mut anon = Browser::new(&hall.base);
    for page in ["/console/", "/console/kiosks/K-TEST", "/console/password"] {
        let (status, _, to) = anon.get(page).await;
        assert_eq!(
            (status, to.as_deref()),
            (StatusCode::SEE_OTHER, Some("/console/login")),
            "{page}"
        );
    }
    for part in [
        "/console/kiosks/live",
        "/console/kiosks/K-TEST/live",
        "/console/events",
    ] {
        let (status, _, _) = anon.get(part).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{part}");
    }
    let (status, _, _) = anon
        .post(
            "/console/kiosks/K-TEST/command",
            &[("csrf", "x"), ("kind", "reboot")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A forged cookie is no session.
    anon.cookies
        .insert("hall_console".into(), "hcs_0123456789abcdef".into());
    let (status, _, _) = anon.get("/console/kiosks/live").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The sign-in form wants its own token.
    let mut b = Browser::new(&hall.base);
    let (ok, _, err) = add_user(
        &db.arg(),
        "zhao",
        "helpdesk",
        Some("a-long-enough-password"),
    );
    assert!(ok, "{err}");
    let (status, _, _) = b
        .post(
            "/console/login",
            &[
                ("csrf", "guess"),
                ("name", "zhao"),
                ("password", "a-long-enough-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page, _) = b.get("/console/login").await;
    let token = Browser::token(&page);
    let r = b
        .http
        .post(format!("{}/console/login", hall.base))
        .header("cookie", b.cookie_header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("csrf", token.as_str()),
            ("name", "zhao"),
            ("password", "a-long-enough-password"),
        ]))
        .send()
        .await
        .unwrap();
    let set = b.keep(&r);
    let session = set
        .iter()
        .find(|c| c.starts_with("hall_console="))
        .expect("a session cookie");
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=",
    ] {
        assert!(session.contains(flag), "{flag} in {session}");
    }
    let headers = r.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    // Signing out ends the session on the platform, not only in the browser.
    let stolen = b.cookies["hall_console"].clone();
    let (_, page, _) = b.get("/console/").await;
    let token = Browser::token(&page);
    let (status, _, to) = b.post("/console/logout", &[("csrf", &token)]).await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
    let mut thief = Browser::new(&hall.base);
    thief.cookies.insert("hall_console".into(), stolen);
    let (status, _, _) = thief.get("/console/kiosks/live").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    hall.server.shutdown().await;
}

fn commands_of(db: &TestDb) -> i64 {
    let hall_platform::DbUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(
        "SELECT COUNT(*) FROM fleet_commands WHERE kiosk_id = ?1",
        [common::KIOSK],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_needs_the_form_token_and_a_manager_changes_nothing() {
    let (db, hall) = hall().await;
    let mut desk = signed_in(&db, &hall, "desk", "helpdesk").await;
    let (_, page, _) = desk.get("/console/kiosks/K-TEST").await;
    assert!(
        page.contains("/console/kiosks/K-TEST/command"),
        "the help desk has the actions"
    );
    let token = Browser::token(&page);
    for bad in ["", "guess", &token[..token.len() - 1]] {
        let (status, _, _) = desk
            .post(
                "/console/kiosks/K-TEST/command",
                &[("csrf", bad), ("kind", "restart_app"), ("force", "0")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "token {bad:?}");
    }
    assert_eq!(commands_of(&db), 0);
    let (status, _, to) = desk
        .post(
            "/console/kiosks/K-TEST/command",
            &[("csrf", &token), ("kind", "restart_app"), ("force", "0")],
        )
        .await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/kiosks/K-TEST"))
    );
    assert_eq!(commands_of(&db), 1);
    let (_, page, _) = desk.get("/console/kiosks/K-TEST").await;
    assert!(
        page.contains("等待终端领取") && page.contains("console:desk"),
        "{page}"
    );

    let mut manager = signed_in(&db, &hall, "boss", "manager").await;
    let (status, page, _) = manager.get("/console/kiosks/K-TEST").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("/command"),
        "a manager has no action buttons"
    );
    let token = Browser::token(&page);
    let (status, _, _) = manager
        .post(
            "/console/kiosks/K-TEST/command",
            &[("csrf", &token), ("kind", "reboot"), ("force", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(commands_of(&db), 1);
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_call_reaches_a_watching_page_and_is_taken_and_done() {
    let (db, hall) = hall().await;
    let mut desk = signed_in(&db, &hall, "desk", "helpdesk").await;
    let (_, page, _) = desk.get("/console/").await;
    assert!(page.contains("data-help=\"0\""), "{page}");
    // The page's event stream.
    let mut events = desk
        .http
        .get(format!("{}/console/events", hall.base))
        .header("cookie", desk.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The kiosk asks for help.
    let r = hall
        .http
        .post(format!("{}{}", hall.base, api::FLEET_HELP))
        .json(&json!({ "needs_help": true, "note": "读卡器没有反应" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = String::new();
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: fleet") {
                return seen;
            }
        }
        seen
    })
    .await
    .expect("an event within 5 s of the help call");
    assert!(got.contains("event: fleet"), "{got}");
    let (_, live, _) = desk.get("/console/kiosks/live").await;
    assert!(
        live.contains("data-help=\"1\"") && live.contains("class=\"help\""),
        "{live}"
    );
    assert!(live.contains("读卡器没有反应"), "{live}");
    // Taken, then done.
    let (_, page, _) = desk.get("/console/kiosks/K-TEST").await;
    let token = Browser::token(&page);
    let (status, _, _) = desk
        .post("/console/kiosks/K-TEST/help/take", &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, live, _) = desk.get("/console/kiosks/live").await;
    assert!(live.contains("desk"), "taken by desk: {live}");
    let (status, _, _) = desk
        .post("/console/kiosks/K-TEST/help/done", &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, live, _) = desk.get("/console/kiosks/live").await;
    assert!(live.contains("data-help=\"0\""), "{live}");

    // The kiosk's last seven days: its start, its printer out of paper, the call and its answer.
    let hb = json!({
        "version": "0.1.0", "uptime_secs": 60, "boot_id": "b-1", "in_use": false,
        "devices": { "printer": "paper_out", "reader": "ok", "camera": "ok", "scanner": "ok" },
    });
    for _ in 0..2 {
        let r = hall
            .http
            .post(format!("{}{}", hall.base, api::FLEET_HEARTBEAT))
            .json(&hb)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let (_, page, _) = desk.get("/console/kiosks/K-TEST").await;
    let history = &page[page.find("最近7天").expect("the history section")..];
    for said in [
        "开机，版本 0.1.0",
        "打印机：缺纸",
        "求助：读卡器没有反应",
        "求助已处理",
    ] {
        assert!(history.contains(said), "{said} in {history}");
    }
    // A second heartbeat with the same state adds nothing.
    assert_eq!(history.matches("打印机：缺纸").count(), 1, "{history}");
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_users_enrols_and_revokes_kiosks_in_the_browser_and_nobody_else_can() {
    let (db, hall) = hall().await;
    let mut desk = signed_in(&db, &hall, "desk", "helpdesk").await;
    let (status, _, _) = desk.get("/console/admin").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the help desk has no admin page"
    );
    let (_, page, _) = desk.get("/console/kiosks/K-TEST").await;
    assert!(!page.contains("/revoke"), "nor a revoke button");
    let token = Browser::token(&page);
    let (status, _, _) = desk
        .post("/console/kiosks/K-TEST/revoke", &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut admin = signed_in(&db, &hall, "root", "admin").await;
    let (status, page, _) = admin.get("/console/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("desk") && page.contains("运维值守"), "{page}");
    let token = Browser::token(&page);
    // A user added here gets a first password, shown once, that signs in (and must be changed).
    let (status, page, _) = admin
        .post(
            "/console/admin/users",
            &[("csrf", &token), ("name", "zhou"), ("role", "manager")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at = page.find("class=\"secret\">").expect("the password shown") + 15;
    let first = page[at..].split('<').next().unwrap().to_string();
    assert_eq!(first.len(), 16, "{first}");
    let mut zhou = Browser::new(&hall.base);
    let (status, _, to) = zhou.sign_in("zhou", &first).await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/password"))
    );
    let (_, page, _) = admin.get("/console/admin").await;
    assert!(
        page.contains("zhou") && !page.contains(&first),
        "shown only once"
    );
    // An enrolment token made here enrols a kiosk.
    let (status, page, _) = admin
        .post(
            "/console/admin/enrol-tokens",
            &[("csrf", &token), ("kiosk", "K-NEW"), ("hall", "二楼")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at = page.find("class=\"secret\">").expect("the token shown") + 15;
    let enrolment = page[at..].split('<').next().unwrap().to_string();
    let r = reqwest::Client::new()
        .post(format!("{}{}", hall.base, api::FLEET_ENROL))
        .json(&json!({ "enrolment_token": enrolment }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Revoking: confirmed on the page; the kiosk's credential stops working at once.
    let (_, page, _) = admin.get("/console/kiosks/K-TEST").await;
    assert!(page.contains("/console/kiosks/K-TEST/revoke") && page.contains("data-confirm"));
    let (status, _, _) = admin
        .post("/console/kiosks/K-TEST/revoke", &[("csrf", "forged")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = admin
        .post("/console/kiosks/K-TEST/revoke", &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let r = hall
        .http
        .post(format!("{}{}", hall.base, api::FLEET_HELP))
        .json(&json!({ "needs_help": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    hall.server.shutdown().await;
}
