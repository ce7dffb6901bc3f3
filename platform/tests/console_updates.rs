//! Field updates in the web console against the real platform on loopback: the releases page,
//! an admin's upload (the bundle as it is, checked), starting a rollout to a share of a hall,
//! widening, stopping and resuming it with the form token; the rollout's page with each kiosk's
//! progress and the reason of a rollback; a manager and the help desk only read; every admin
//! change in the audit chain.

mod common;

use common::updates::{Updates, hex, release_files, send_slowly, system};
use common::{Browser, Kind, add_user};
use hall_domain::api::UpdateState;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const HALL: &str = "东津新区政务服务中心";

async fn signed_in(u: &Updates, name: &str, role: &str) -> Browser {
    let (ok, _, err) = add_user(&u.db_arg, name, role, Some("a-long-enough-password"));
    assert!(ok, "{err}");
    let mut b = Browser::new(&u.base);
    let (status, _, _) = b.sign_in(name, "a-long-enough-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    b
}

async fn rollouts_from_the_console(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let mut kiosks = Vec::new();
    for i in 0..6 {
        kiosks.push(u.kiosk(&format!("K-{i}"), HALL).await);
    }
    let mut admin = signed_in(&u, "admin.zhao", "admin").await;
    let mut manager = signed_in(&u, "boss", "manager").await;
    let mut desk = signed_in(&u, "desk.li", "helpdesk").await;

    // The admin uploads a release the way the page's script does.
    let (_, page, _) = admin.get("/console/updates").await;
    let token = Browser::token(&page);
    assert!(page.contains("上传版本"), "{page}");
    let (_, bytes) = release_files(u.work.path(), "2026.12.9", 100_000);
    let sha = hex(&Sha256::digest(&bytes));
    let upload = |b: &Browser, token: &str, sha: &str| {
        b.http
            .post(format!(
                "{}/console/updates/upload?version=2026.12.9&compatible=hall-kiosk-x86&root_sha256={}&size={}&sha256={sha}",
                u.base,
                "ab".repeat(32),
                bytes.len()
            ))
            .header("cookie", b.cookie_header())
            .header("x-console-token", token)
            .header("content-type", "application/octet-stream")
            .body(bytes.clone())
    };
    let (status, text, _) = admin.send(upload(&admin, &token, &"0".repeat(64))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("SHA-256"), "{text}");
    let (status, _, _) = admin.send(upload(&admin, "not-the-token", &sha)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, mpage, _) = manager.get("/console/updates").await;
    assert!(
        !mpage.contains("上传版本") && !mpage.contains("开始发布"),
        "a manager reads only"
    );
    let mtoken = Browser::token(&mpage);
    let (status, _, _) = manager.send(upload(&manager, &mtoken, &sha)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text, _) = admin.send(upload(&admin, &token, &sha)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(
        std::fs::read(u.releases.path().join("2026.12.9.raucb")).unwrap(),
        bytes
    );

    // A rollout to half the hall, stopping at the first failure.
    let start = [
        ("csrf", token.as_str()),
        ("release", "2026.12.9"),
        ("target", "hall"),
        ("hall", HALL),
        ("kiosk", "K-0"),
        ("percent", "50"),
        ("stop_on_failure", "1"),
    ];
    let dtoken = Browser::token(&desk.get("/console/updates").await.1);
    let mut as_desk = start;
    as_desk[0].1 = &dtoken;
    let (status, _, _) = desk.post("/console/updates/rollouts", &as_desk).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the help desk does not roll out"
    );
    let (status, _, to) = admin.post("/console/updates/rollouts", &start).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to = to.unwrap();
    let id = to.rsplit('/').next().unwrap().to_string();

    // The kiosks it reaches learn of it; one rolls back.
    let mut reached = Vec::new();
    for c in &kiosks {
        if u.beat(c, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some()
        {
            reached.push(c.clone());
        }
    }
    assert!(!reached.is_empty());
    let back = UpdateState::RolledBack {
        release: "2026.12.9".into(),
        reason: "读卡器自检失败".into(),
    };
    u.beat(&reached[0], Some(system("2026.11.1", back))).await;
    let (status, page, _) = admin.get(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("已停止") && page.contains("读卡器自检失败") && page.contains("已回滚"),
        "{page}"
    );
    assert!(page.contains("继续发布"), "an admin may resume");
    let (_, live, _) = manager.get(&format!("{to}/live")).await;
    assert!(
        live.contains("读卡器自检失败") && live.contains("失败 1"),
        "{live}"
    );
    let (_, mpage, _) = manager.get(&to).await;
    assert!(!mpage.contains("继续发布"), "a manager reads only");
    let (status, _, _) = manager
        .post(
            &format!("{to}/change"),
            &[("csrf", &mtoken), ("action", "resume")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Resume, widen, stop; a stale form token changes nothing.
    let change = format!("/console/rollouts/{id}/change");
    let (status, _, _) = admin
        .post(&change, &[("csrf", "stale"), ("action", "resume")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for form in [
        vec![("csrf", token.as_str()), ("action", "resume")],
        vec![
            ("csrf", token.as_str()),
            ("action", "widen"),
            ("percent", "100"),
        ],
        vec![("csrf", token.as_str()), ("action", "stop")],
    ] {
        let (status, _, _) = admin.post(&change, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{form:?}");
    }
    let (_, page, _) = admin.get(&to).await;
    assert!(
        page.contains("stopped by fleet:console:admin.zhao") || page.contains("console:admin.zhao"),
        "{page}"
    );
    assert_eq!(
        db.scalar(&format!("SELECT count(*) FROM audit_log WHERE subject = 'rollout:{id}' AND actor LIKE '%console:admin.zhao%'")).await,
        4,
        "started, resumed, widened, stopped"
    );
    // The kiosk list shows the system and its update state.
    let (_, list, _) = desk.get("/console/").await;
    assert!(
        list.contains("2026.11.1") && list.contains("分区 A"),
        "{list}"
    );
    u.server.shutdown().await;
}

/// A bundle takes long to arrive: a signed-in admin's upload from the console outlasts the
/// deadline every other request body has (1 s here), as the API's does.
async fn a_slow_console_upload_outlasts_the_request_deadline(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start_with(&db, |c| {
        c.limits.request_deadline = std::time::Duration::from_secs(1);
    })
    .await;
    let mut admin = signed_in(&u, "admin.zhao", "admin").await;
    let (_, page, _) = admin.get("/console/updates").await;
    let token = Browser::token(&page);
    let (_, bytes) = release_files(u.work.path(), "2026.12.8", 512 * 1024);
    let sha = hex(&Sha256::digest(&bytes));
    let head = format!(
        "POST /console/updates/upload?version=2026.12.8&compatible=hall-kiosk-x86&root_sha256={}&size={}&sha256={sha} HTTP/1.1\r\n\
         Host: {}\r\nCookie: {}\r\nX-Console-Token: {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        "ab".repeat(32),
        bytes.len(),
        u.server.addr,
        admin.cookie_header(),
        bytes.len()
    );
    let (answer, took) = send_slowly(u.server.addr, &head, &bytes).await;
    assert!(took > std::time::Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(
        std::fs::read(u.releases.path().join("2026.12.8.raucb")).unwrap(),
        bytes
    );
    u.server.shutdown().await;
}

both!(
    rollouts_from_the_console,
    a_slow_console_upload_outlasts_the_request_deadline
);
