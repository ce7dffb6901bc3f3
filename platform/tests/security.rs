//! The attacks an outsider on the hall's network would try, each against the real platform on
//! loopback over TLS (a private CA, as in a hall), each refused: citizen routes without a kiosk
//! credential, with a forged, revoked, help-desk or staff one; a kiosk reaching for another
//! kiosk's submission or payment order; a body that names another kiosk.

mod common;

use std::time::Duration;

use common::{make_certs, planning_permit};
use hall_domain::api;
use hall_platform::demo;
use hall_platform::fleet;
use hall_platform::store::Store;
use hall_platform::{DbUrl, RunningServer, ServerConfig, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The demo hall's platform over HTTPS, and a way to make clients that trust its CA.
struct Hall {
    server: RunningServer,
    base: String,
    ca: reqwest::Certificate,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Hall {
    async fn start() -> Hall {
        let dir = tempfile::tempdir().unwrap();
        let (ca, files) = make_certs(dir.path());
        let db = dir.path().join("platform.sqlite");
        let mut config = ServerConfig::demo_hall(db.clone(), "127.0.0.1:0".parse().unwrap());
        config.today = Some(common::today());
        config.sim_payer_delay = Duration::from_secs(3600);
        config.tls = Some(files);
        let server = spawn(config).await.unwrap();
        assert!(server.tls);
        let base = format!("https://127.0.0.1:{}", server.addr.port());
        let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        Hall {
            server,
            base,
            ca,
            db,
            _dir: dir,
        }
    }

    /// A client trusting the hall's CA, sending `bearer` (if any) with every request.
    fn client(&self, bearer: Option<&str>) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(b) = bearer {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {b}").parse().unwrap(),
            );
        }
        reqwest::Client::builder()
            .tls_certs_only([self.ca.clone()])
            .default_headers(headers)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    async fn kiosk(&self, id: &str) -> reqwest::Client {
        self.client(Some(
            &self.server.enrol_kiosk(id, "测试大厅").await.unwrap(),
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The store with the platform's keys (its audit entries are keyed).
    fn store(&self) -> Store {
        let url = DbUrl::Sqlite(self.db.clone());
        let keys = hall_platform::seal::Sealer::load(&hall_platform::SealKeys::made_for(&url));
        Store::open(&url)
            .unwrap()
            .with_sealer(std::sync::Arc::new(keys.unwrap()))
            .unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        db.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

async fn send(
    http: &reqwest::Client,
    method: Method,
    url: String,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = http
        .request(method, url)
        .header(api::IDEMPOTENCY_HEADER, "attack-1");
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

/// Every route that takes or returns anything about a case, an applicant, a fee notice or an
/// order, with a body that would work for an enrolled kiosk.
fn citizen_routes(order_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let card = json!({ "id_number": demo::APPLICANT_ID });
    vec![
        (
            Method::POST,
            api::APPLICATIONS.to_string(),
            Some(planning_permit("K-EVIL")),
        ),
        (
            Method::POST,
            api::APPLICATIONS_WITHDRAW.to_string(),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/api/v1/applications/by-key/attack-1".to_string(),
            None,
        ),
        (Method::GET, api::case_path(demo::CASE_APPROVED), None),
        (
            Method::POST,
            api::case_details_path(demo::CASE_APPROVED),
            Some(card.clone()),
        ),
        (
            Method::POST,
            api::CASES_BY_APPLICANT.to_string(),
            Some(card),
        ),
        (
            Method::GET,
            "/api/v1/cases/by-reference/900000000001".to_string(),
            None,
        ),
        (Method::GET, api::project_path(demo::PROJECT_CODE), None),
        (Method::GET, api::organization_path(demo::CREDIT_CODE), None),
        (Method::GET, api::fee_notice_path(demo::PAYMENT_CODE), None),
        (
            Method::POST,
            api::orders_path(demo::PAYMENT_CODE),
            Some(json!({ "method": "qr" })),
        ),
        (Method::GET, api::order_path(order_id), None),
        (
            Method::POST,
            api::order_cancel_path(order_id),
            Some(json!({})),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_kiosk_credential_every_citizen_route_answers_401_and_changes_nothing() {
    let hall = Hall::start().await;
    // A real pending order of an enrolled kiosk, for the order routes.
    let kiosk = hall.kiosk("K-01").await;
    let r = kiosk
        .post(hall.url(&api::orders_path(demo::PAYMENT_CODE)))
        .json(&json!({ "method": "qr" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let order: Value = r.json().await.unwrap();
    let order_id = order["order_id"].as_str().unwrap().to_string();

    // Credentials that are not a kiosk's: a help-desk token, a department's staff token, a
    // forged kiosk credential, a revoked kiosk's.
    let store = hall.store();
    let now = chrono::Local::now().naive_local();
    let helpdesk = store
        .write_blocking(|c| fleet::create_fleet_token(c, fleet::Role::Admin, "ops", now))
        .unwrap();
    let (staff, staff_sha) = hall_platform::staff::new_token();
    store
        .add_staff_token_blocking("自然资源和规划局", "desk", &staff_sha, now)
        .unwrap();
    let revoked = hall.server.enrol_kiosk("K-GONE", "测试大厅").await.unwrap();
    let r = hall
        .client(Some(&helpdesk))
        .post(hall.url(&api::fleet_kiosk_revoke_path("K-GONE")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let forged = format!("hkc_{}", "0".repeat(43));

    let before = (
        hall.count("SELECT count(*) FROM cases"),
        hall.count("SELECT count(*) FROM orders"),
        hall.count("SELECT count(*) FROM withdrawn_keys"),
        hall.count("SELECT count(*) FROM orders WHERE status = 'pending'"),
    );
    let callers = [
        ("no credential", None),
        ("a help-desk token", Some(helpdesk.as_str())),
        ("a staff token", Some(staff.as_str())),
        ("a forged kiosk credential", Some(forged.as_str())),
        ("a revoked kiosk's credential", Some(revoked.as_str())),
        ("a malformed header", Some("")),
    ];
    for (who, bearer) in callers {
        let http = hall.client(bearer);
        for (method, path, body) in citizen_routes(&order_id) {
            let r = send(&http, method.clone(), hall.url(&path), body.as_ref()).await;
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{who}: {method} {path}"
            );
            let ct = r
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert_eq!(ct, "application/problem+json", "{who}: {method} {path}");
            let text = r.text().await.unwrap();
            for secret in [demo::APPLICANT_NAME, demo::APPLICANT_ID, demo::PROJECT_NAME] {
                assert!(!text.contains(secret), "{who}: {method} {path}: {text}");
            }
        }
    }
    let after = (
        hall.count("SELECT count(*) FROM cases"),
        hall.count("SELECT count(*) FROM orders"),
        hall.count("SELECT count(*) FROM withdrawn_keys"),
        hall.count("SELECT count(*) FROM orders WHERE status = 'pending'"),
    );
    assert_eq!(before, after, "nothing changed");
    // The catalogue is public (it names items, never a person).
    let r = hall
        .client(None)
        .get(hall.url(api::ITEMS))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_of_a_case_is_the_credentials_never_the_bodys() {
    let hall = Hall::start().await;
    let kiosk = hall.kiosk("K-REAL").await;
    let r = kiosk
        .post(hall.url(api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, "body-names-another")
        .json(&planning_permit("K-SOMEONE-ELSE"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    let db = rusqlite::Connection::open(&hall.db).unwrap();
    let kiosk_id: String = db
        .query_row(
            "SELECT kiosk_id FROM cases WHERE approval_code = ?1",
            [&code],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kiosk_id, "K-REAL");
    let actor: String = db
        .query_row(
            "SELECT actor FROM audit_log WHERE subject = ?1 AND action = 'case.created'",
            [&code],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "kiosk:K-REAL");
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_cannot_withdraw_or_read_another_kiosks_submission() {
    let hall = Hall::start().await;
    let (a, b) = (hall.kiosk("K-A").await, hall.kiosk("K-B").await);
    let r = a
        .post(hall.url(api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, "shared-key")
        .json(&planning_permit(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();

    // Kiosk B, knowing (or guessing) A's key: its key is its own, so nothing of A's is touched.
    let by_key = "/api/v1/applications/by-key/shared-key";
    let seen: Value = b
        .get(hall.url(by_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["case"], Value::Null, "{seen}");
    let w: Value = b
        .post(hall.url(api::APPLICATIONS_WITHDRAW))
        .header(api::IDEMPOTENCY_HEADER, "shared-key")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(w["withdrawn"], false, "{w}");

    // A's submission stands, and A still reads it under its own key.
    let mine: Value = a
        .get(hall.url(by_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["active_cases"], 1, "{mine}");
    assert_eq!(mine["idempotency_key"], "shared-key");
    assert_eq!(mine["case"]["approval_code"], created["approval_code"]);
    // A retry by A of the same key answers the first answer (not refused by B's tombstone).
    let again = a
        .post(hall.url(api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, "shared-key")
        .json(&planning_permit(""))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["approval_code"], created["approval_code"]);
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_cannot_follow_or_cancel_another_kiosks_payment_order() {
    let hall = Hall::start().await;
    let (a, b) = (hall.kiosk("K-A").await, hall.kiosk("K-B").await);
    let order: Value = a
        .post(hall.url(&api::orders_path(demo::PAYMENT_CODE)))
        .json(&json!({ "method": "qr" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, api::order_path(id)),
        (Method::POST, api::order_cancel_path(id)),
    ] {
        let r = send(&b, method.clone(), hall.url(&path), Some(&json!({}))).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let mine: Value = a
        .get(hall.url(&api::order_path(id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["status"], "pending", "{mine}");
    let actor: String = rusqlite::Connection::open(&hall.db)
        .unwrap()
        .query_row(
            "SELECT actor FROM audit_log WHERE subject = ?1 AND action = 'order.created'",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "kiosk:K-A");
    hall.server.shutdown().await;
}

/// A platform in clear on loopback with short timeouts and room for two connections.
async fn tight() -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("p.sqlite"), "127.0.0.1:0".parse().unwrap());
    config.limits = hall_platform::serve::Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(1),
        request_deadline: Duration::from_secs(1),
        ..Default::default()
    };
    (spawn(config).await.unwrap(), dir)
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept an unfinished request open");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_request_is_closed() {
    use tokio::io::AsyncWriteExt;
    let (server, _dir) = tight().await;
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: hall\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = until_closed(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed only once the time was up"
    );
    // A body that never ends.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(
        format!(
            "POST {} HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"id_",
            api::CASES_BY_APPLICANT
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = until_closed(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_silent_ones_make_room() {
    let (server, _dir) = tight().await;
    // Two connections that say nothing take both places...
    let _a = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let health = format!("http://{}{}", server.addr, api::HEALTH);
    let started = std::time::Instant::now();
    // ...so the next is answered only once the header timeout closed them.
    let r = http.get(&health).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "answered before a place was free"
    );
    server.shutdown().await;
}

/// Someone with the database files (WAL included) finds no applicant's name, ID number or
/// phone, nor a payer's name; the platform, with its key file, still shows the applicant their
/// case and lists it by their card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_sealed_in_the_database_files() {
    let hall = Hall::start().await;
    let kiosk = hall.kiosk("K-01").await;
    let id_number = "110105194912310046";
    hall_domain::codes::validate_id_number(id_number).unwrap();
    let mut body = planning_permit("");
    body["applicant"]["name"] = json!("欧阳秀英");
    body["applicant"]["id_number"] = json!(id_number);
    body["applicant"]["phone"] = json!("13912345678");
    let r = kiosk
        .post(hall.url(api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, "sealed-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let created: Value = kiosk
        .post(hall.url(api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, "sealed-1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();

    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = hall.db.clone().into_os_string();
        p.push(suffix);
        if let Ok(b) = std::fs::read(&p) {
            files.extend(b);
        }
    }
    assert!(!files.is_empty());
    for needle in [
        id_number,
        "13912345678",
        "欧阳秀英",
        demo::APPLICANT_ID,
        demo::APPLICANT_NAME,
        demo::APPLICANT_PHONE,
    ] {
        let n = needle.as_bytes();
        assert!(
            !files.windows(n.len()).any(|w| w == n),
            "{needle} in the clear in the database files"
        );
    }

    // The applicant's own card opens the details (the name masked) and lists the case.
    let details: Value = kiosk
        .post(hall.url(&api::case_details_path(&code)))
        .json(&json!({ "id_number": id_number }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["applicant"], "欧***", "{details}");
    let mine: Vec<Value> = kiosk
        .post(hall.url(api::CASES_BY_APPLICANT))
        .json(&json!({ "id_number": id_number }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["approval_code"], code.as_str());
    hall.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_over_its_rate_waits_and_others_do_not() {
    let hall = Hall::start().await;
    let (a, b) = (hall.kiosk("K-A").await, hall.kiosk("K-B").await);
    let case = hall.url(&api::case_path(demo::CASE_APPROVED));
    let mut limited = None;
    // The default rate: 60 at once, then 10 a second.
    for n in 0..200 {
        let r = a.get(&case).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((n, r));
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (n, r) = limited.expect("the kiosk was limited");
    assert!(n >= 60, "limited after {n}");
    let wait: u64 = r.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(
        b.get(&case).send().await.unwrap().status(),
        StatusCode::OK,
        "another kiosk is not affected"
    );
    hall.server.shutdown().await;
}
