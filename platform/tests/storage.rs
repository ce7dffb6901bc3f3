//! Storage across versions and instances: a schema-1 SQLite file is migrated in place, and two
//! platform instances share one PostgreSQL database.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::NaiveDate;
use common::{Kind, TestDb};
use hall_domain::api::{self, CaseView, Item};
use hall_platform::{DbUrl, RunningServer, ServerConfig, demo, spawn};
use serde_json::{Value, json};

async fn start(db: &DbUrl, seed_demo: bool) -> RunningServer {
    let mut config = ServerConfig::with_database(db.clone(), "127.0.0.1:0".parse().unwrap());
    config.today = NaiveDate::from_ymd_opt(2026, 11, 23);
    config.demo = seed_demo;
    config.sim_payer_delay = Duration::from_millis(100);
    // Dozens of submissions at once from one kiosk: more than a kiosk's rate allows.
    config.kiosk_rate = hall_platform::Rate {
        per_second: 1000,
        burst: 1000,
    };
    config.peer_rate = hall_platform::Rate {
        per_second: 100_000,
        burst: 100_000,
    };
    spawn(config).await.unwrap()
}

fn application(n: usize) -> Value {
    json!({
        "item_id": "project-filing",
        "applicant": {
            "name": demo::APPLICANT_NAME,
            "id_number": demo::APPLICANT_ID,
            "phone": demo::APPLICANT_PHONE
        },
        "organization": { "name": "", "credit_code": demo::CREDIT_CODE },
        "project": { "code": demo::PROJECT_CODE, "name": "" },
        "materials": [
            { "material_id": "filing-form", "status": "provided", "pages": 1 + n % 3 },
            { "material_id": "business-licence", "status": "provided", "pages": 1 },
            { "material_id": "compliance-pledge", "status": "committed", "pages": 0 }
        ],
        "identified_by": "typed",
        "kiosk_id": format!("K{:02}", n % 4)
    })
}

fn audit_verify(db: &TestDb) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hall-platform"))
        .args(["audit", "verify", "--db", &db.arg()])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_sqlite_file_is_migrated_in_place() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let DbUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    // A file as version 1 of the platform left it: its catalogue rows, a case, a key.
    {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
               applied_at TEXT NOT NULL);",
        )
        .unwrap();
        c.execute_batch(include_str!("../migrations/sqlite/0001_initial.sql"))
            .unwrap();
        c.execute_batch(
            "INSERT INTO schema_migrations VALUES (1, 'initial', '2026-11-01 00:00:00');
             INSERT INTO items VALUES ('land-presiting', '用地预审与选址意见书', 'Land', 1, 20, 0, NULL);
             INSERT INTO item_departments VALUES ('land-presiting', 0, '市自然资源和规划局', 'NR', 20);
             INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
               applicant_name, applicant_id_number, applicant_phone, project_code, project_name)
             VALUES ('2026110200000126', 'land-presiting', 3, '2026-11-02 09:30:00.5',
               '2026-11-30', '张建国', '420602195803120011', '13800138000',
               '2026-420600-47-01-000123', '襄阳市东津新区邻里中心项目');
             INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days)
             VALUES ('2026110200000126', 0, '市自然资源和规划局', 'NR', 3, '2026-11-02',
               '2026-11-30', 20);
             INSERT INTO meta VALUES ('catalogue_seeded', '1');",
        )
        .unwrap();
    }
    let server = start(&db.url, false).await;
    let base = format!("http://{}", server.addr);
    let health: Value = reqwest::get(format!("{base}/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["schema_version"],
        hall_platform::store::latest_version()
    );
    let kiosk = common::client_with(&server.enrol_kiosk("K-OLD", "测试大厅").await.unwrap());
    let case: CaseView = kiosk
        .get(format!("{base}{}", api::case_path("2026110200000126")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Read under catalogue version 1, the built-in catalogue it was submitted under.
    assert_eq!(case.item_en, "Land pre-examination and siting opinion");
    assert_eq!(case.nodes.len(), 1);
    let items: Vec<Item> = reqwest::get(format!("{base}{}", api::ITEMS))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 12);
    server.shutdown().await;
    // The applicant an earlier version wrote in the clear is sealed now, in the file and its WAL.
    let hall_platform::DbUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let mut files = std::fs::read(path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
        files.extend(wal);
    }
    for needle in ["420602195803120011", "13800138000", "张建国"] {
        let n = needle.as_bytes();
        assert!(
            !files.windows(n.len()).any(|w| w == n),
            "{needle} still in the clear"
        );
    }
    let (ok, out) = tokio::task::spawn_blocking(move || audit_verify(&db))
        .await
        .unwrap();
    // The rows from before are bound to the chain from now on (one baseline entry each).
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgresql_database() {
    let Some(db) = TestDb::fresh(Kind::Postgres).await else {
        return;
    };
    // Both start at once: one migrates and seeds, the other waits and finds it done.
    let (a, b) = tokio::join!(start(&db.url, true), start(&db.url, true));
    let bases = [format!("http://{}", a.addr), format!("http://{}", b.addr)];
    let http = common::client_with(&a.enrol_kiosk("K-SHARE", "测试大厅").await.unwrap());
    let mut tasks = Vec::new();
    for n in 0..48 {
        let http = http.clone();
        // Every key is sent twice, to different instances, at once.
        for copy in 0..2 {
            let url = format!("{}{}", bases[(n + copy) % 2], api::APPLICATIONS);
            let http = http.clone();
            tasks.push(tokio::spawn(async move {
                let resp = http
                    .post(url)
                    .header(api::IDEMPOTENCY_HEADER, format!("share-{n}"))
                    .json(&application(n))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
                let v: Value = resp.json().await.unwrap();
                (n, v)
            }));
        }
        let _ = http;
    }
    let mut by_key: HashMap<usize, Value> = HashMap::new();
    let mut codes = HashSet::new();
    for t in tasks {
        let (n, v) = t.await.unwrap();
        codes.insert(v["approval_code"].as_str().unwrap().to_string());
        if let Some(first) = by_key.get(&n) {
            assert_eq!(first, &v, "the two copies of key {n} got different answers");
        } else {
            by_key.insert(n, v);
        }
    }
    assert_eq!(
        codes.len(),
        48,
        "one case per key, whichever instance took it"
    );
    // Each instance sees the other's cases (秒批: approved at once).
    for (i, code) in codes.iter().enumerate() {
        let case: CaseView = http
            .get(format!("{}{}", bases[i % 2], api::case_path(code)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(case.status, hall_domain::Blzt::Approved);
    }
    a.shutdown().await;
    b.shutdown().await;
    let (ok, out) = tokio::task::spawn_blocking(move || audit_verify(&db))
        .await
        .unwrap();
    assert!(ok, "{out}");
    // catalogue, the demo's four cases and two notices (each with its state) and the demo, the
    // kiosk's enrolment (token, enrolled), 48 cases
    assert!(out.contains("intact: 58 entries"), "{out}");
}
