//! Field updates' releases and downloads against the real platform on loopback (SQLite and
//! PostgreSQL): `hall-platform release add` (checked, refused when the bundle differs from its
//! release or the version is taken, nothing stored then), the admin's upload over HTTP, and the
//! bundle's download by a kiosk it is rolled out to, resumed with `Range`.

mod common;

use common::Kind;
use common::updates::{COMPATIBLE, Updates, hex, release_files, send_slowly, system};
use hall_domain::api::{self, Release, UpdateState};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

const HALL: &str = "东津新区政务服务中心";

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn releases_are_stored_checked_and_never_twice(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let desk = u.token("helpdesk", "desk").await;

    // Good: copied, checked, listed.
    let bytes = u.add_release("2026.12.1", 300_000).await;
    assert_eq!(files_in(u.releases.path()), vec!["2026.12.1.raucb"]);
    let stored = std::fs::read(u.releases.path().join("2026.12.1.raucb")).unwrap();
    assert_eq!(stored, bytes);
    let (ok, out, _) = u.cli(&["release", "list"]).await;
    assert!(
        ok && out.contains("2026.12.1") && out.contains(COMPATIBLE),
        "{out}"
    );
    let r = u.get(&desk, api::FLEET_RELEASES).await;
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Vec<Release> = r.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sha256, hex(&Sha256::digest(&bytes)));
    assert_eq!(listed[0].size, 300_000);

    // The same version again: refused, nothing changed.
    let (sidecar, _) = release_files(u.work.path(), "2026.12.1", 1000);
    let (ok, _, err) = u
        .cli(&["release", "add", &sidecar.display().to_string()])
        .await;
    assert!(!ok && err.contains("stored already"), "{err}");
    assert_eq!(
        std::fs::read(u.releases.path().join("2026.12.1.raucb")).unwrap(),
        bytes
    );

    // A bundle that is not what its release says: refused, nothing stored.
    let (sidecar, mut other) = release_files(u.work.path(), "2026.12.2", 5000);
    other[17] ^= 1;
    std::fs::write(u.work.path().join("hall-kiosk-2026.12.2.raucb"), &other).unwrap();
    let (ok, _, err) = u
        .cli(&["release", "add", &sidecar.display().to_string()])
        .await;
    assert!(
        !ok && err.contains("SHA-256") && err.contains("nothing was stored"),
        "{err}"
    );
    other.push(0);
    std::fs::write(u.work.path().join("hall-kiosk-2026.12.2.raucb"), &other).unwrap();
    let (ok, _, err) = u
        .cli(&["release", "add", &sidecar.display().to_string()])
        .await;
    assert!(!ok && err.contains("bytes"), "{err}");
    assert_eq!(files_in(u.releases.path()), vec!["2026.12.1.raucb"]);
    assert_eq!(
        db.scalar("SELECT count(*) FROM releases").await,
        1,
        "nothing recorded"
    );
    u.server.shutdown().await;
}

async fn an_admin_uploads_a_bundle(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    let desk = u.token("helpdesk", "desk").await;
    let (_, bytes) = release_files(u.work.path(), "2026.12.3", 2 * 1024 * 1024 + 7);
    let sha = hex(&Sha256::digest(&bytes));
    let query = |sha: &str, size: usize| {
        format!(
            "{}{}?version=2026.12.3&compatible={COMPATIBLE}&root_sha256={}&size={size}&sha256={sha}",
            u.base,
            api::FLEET_RELEASES,
            "cd".repeat(32)
        )
    };
    let send = |token: &str, url: String, body: Vec<u8>| {
        u.http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    // The help desk may not; a wrong digest or size stores nothing.
    let r = send(&desk, query(&sha, bytes.len()), bytes.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&admin, query(&"0".repeat(64), bytes.len()), bytes.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(&admin, query(&sha, bytes.len() - 1), bytes.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        files_in(u.releases.path()).is_empty(),
        "{:?}",
        files_in(u.releases.path())
    );
    // The admin's good upload.
    let r = send(&admin, query(&sha, bytes.len()), bytes.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let release: Release = r.json().await.unwrap();
    assert_eq!(
        (release.size, release.sha256.as_str()),
        (bytes.len() as u64, sha.as_str())
    );
    assert_eq!(
        std::fs::read(u.releases.path().join("2026.12.3.raucb")).unwrap(),
        bytes
    );
    // Once.
    let r = send(&admin, query(&sha, bytes.len()), bytes.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(files_in(u.releases.path()), vec!["2026.12.3.raucb"]);
    assert_eq!(
        db.scalar("SELECT count(*) FROM audit_log WHERE action = 'release.added'")
            .await
            + db.scalar("SELECT count(*) FROM audit_pending WHERE action = 'release.added'")
                .await,
        1
    );
    u.server.shutdown().await;
}

async fn a_kiosk_resumes_its_download(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    let bytes = u.add_release("2026.12.4", 3 * 1024 * 1024 + 11).await;
    let sha = hex(&Sha256::digest(&bytes));
    let k1 = u.kiosk("K-01", HALL).await;
    let k2 = u.kiosk("K-02", HALL).await;
    let path = api::release_bundle_path("2026.12.4");
    let url = format!("{}{path}", u.base);

    // No credential: 401; a kiosk nothing was rolled out to: 404, no hint.
    let r = u.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = u.get(&k1, &path).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    u.start_rollout(&admin, json!({"release": "2026.12.4", "kiosk_id": "K-01"}))
        .await;
    let answer = u
        .beat(&k1, Some(system("2026.11.1", UpdateState::Idle)))
        .await;
    let offer = answer.update.expect("offered");
    assert_eq!(offer.bundle_path, path);
    assert_eq!(
        (offer.size, offer.sha256.as_str()),
        (bytes.len() as u64, sha.as_str())
    );
    let r = u.get(&k2, &path).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "K-02 is not in the rollout"
    );
    let r = u.get(&k1, &api::release_bundle_path("2099.1.1")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Half, then the connection drops.
    let mut r = u.get(&k1, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.headers()["etag"], format!("\"{sha}\"").as_str());
    assert_eq!(r.content_length(), Some(bytes.len() as u64));
    let mut got = Vec::new();
    while got.len() < bytes.len() / 2 {
        let chunk = r.chunk().await.unwrap().expect("more");
        got.extend_from_slice(&chunk);
    }
    drop(r);
    // Resumed where it broke off.
    let r = u
        .http
        .get(&url)
        .bearer_auth(&k1)
        .header("range", format!("bytes={}-", got.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes {}-{}/{}", got.len(), bytes.len() - 1, bytes.len()).as_str()
    );
    got.extend_from_slice(&r.bytes().await.unwrap());
    assert_eq!(got.len(), bytes.len());
    assert_eq!(hex(&Sha256::digest(&got)), sha);

    // Beyond the end: 416 with the size.
    let r = u
        .http
        .get(&url)
        .bearer_auth(&k1)
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{}", bytes.len()).as_str()
    );
    u.server.shutdown().await;
}

async fn an_upload_cut_off_stores_nothing(kind: Kind) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    let (_, bytes) = release_files(u.work.path(), "2026.12.5", 1024 * 1024);
    let sha = hex(&Sha256::digest(&bytes));
    let mut tcp = tokio::net::TcpStream::connect(u.server.addr).await.unwrap();
    let head = format!(
        "POST {}?version=2026.12.5&compatible={COMPATIBLE}&root_sha256={}&size={}&sha256={sha} HTTP/1.1\r\n\
         Host: {}\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        api::FLEET_RELEASES,
        "cd".repeat(32),
        bytes.len(),
        u.server.addr,
        bytes.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
    tcp.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let during = files_in(u.releases.path());
    assert!(
        during.len() == 1 && during[0].starts_with(".incoming-"),
        "half of it is being written to a temporary file: {during:?}"
    );
    // The connection drops half-way.
    tcp.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut rest),
    )
    .await;
    drop(tcp);
    // Nothing named, nothing left half-written, nothing recorded.
    for _ in 0..50 {
        if files_in(u.releases.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        files_in(u.releases.path()).is_empty(),
        "{:?}",
        files_in(u.releases.path())
    );
    assert_eq!(db.scalar("SELECT count(*) FROM releases").await, 0);
    // The same release sent whole afterwards is stored.
    let r = u
        .http
        .post(format!(
            "{}{}?version=2026.12.5&compatible={COMPATIBLE}&root_sha256={}&size={}&sha256={sha}",
            u.base,
            api::FLEET_RELEASES,
            "cd".repeat(32),
            bytes.len()
        ))
        .bearer_auth(&admin)
        .header("content-type", "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(files_in(u.releases.path()), vec!["2026.12.5.raucb"]);
    u.server.shutdown().await;
}

async fn a_slow_download_is_not_cut_by_the_timeouts(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start_with(&db, |c| {
        c.limits.header_read_timeout = std::time::Duration::from_millis(500);
        c.limits.request_deadline = std::time::Duration::from_millis(500);
    })
    .await;
    let admin = u.token("admin", "admin").await;
    let bytes = u.add_release("2026.12.6", 16 * 1024 * 1024).await;
    let k = u.kiosk("K-01", HALL).await;
    u.start_rollout(&admin, json!({"release": "2026.12.6", "kiosk_id": "K-01"}))
        .await;
    u.beat(&k, Some(system("2026.11.1", UpdateState::Idle)))
        .await;
    let started = std::time::Instant::now();
    let mut r = u.get(&k, &api::release_bundle_path("2026.12.6")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut got = Vec::with_capacity(bytes.len());
    while let Some(chunk) = r.chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
        // A kiosk at a bounded rate (6 MB/s): the whole takes several times the server's
        // timeouts.
        let due = std::time::Duration::from_secs_f64(got.len() as f64 / 6e6);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    assert!(
        started.elapsed() > std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes);
    u.server.shutdown().await;
}

async fn an_admins_slow_upload_outlasts_the_request_deadline(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start_with(&db, |c| {
        c.limits.request_deadline = std::time::Duration::from_secs(1);
    })
    .await;
    let admin = u.token("admin", "admin").await;
    let (_, bytes) = release_files(u.work.path(), "2026.12.7", 512 * 1024);
    let sha = hex(&Sha256::digest(&bytes));
    let head = format!(
        "POST {}?version=2026.12.7&compatible={COMPATIBLE}&root_sha256={}&size={}&sha256={sha} HTTP/1.1\r\n\
         Host: {}\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        api::FLEET_RELEASES,
        "cd".repeat(32),
        bytes.len(),
        u.server.addr,
        bytes.len()
    );
    let (answer, took) = send_slowly(u.server.addr, &head, &bytes).await;
    assert!(took > std::time::Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(files_in(u.releases.path()), vec!["2026.12.7.raucb"]);
    u.server.shutdown().await;
}

both!(
    an_admins_slow_upload_outlasts_the_request_deadline,
    a_slow_download_is_not_cut_by_the_timeouts,
    an_upload_cut_off_stores_nothing,
    releases_are_stored_checked_and_never_twice,
    an_admin_uploads_a_bundle,
    a_kiosk_resumes_its_download,
);
