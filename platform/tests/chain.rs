//! The audit chain under concurrent submissions: on PostgreSQL a submission's entry is recorded
//! pending in its transaction and linked into the chain after the commit, many at a time, by
//! whichever instance gets the turn. The chain must stay one unbroken chain, every receipt's
//! verification code must be its case's entry, and entries left pending are linked on start.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{Kind, TestDb, planning_permit};
use hall_domain::api;
use hall_platform::audit::{self, Verdict};
use hall_platform::store::Store;
use hall_platform::{ServerConfig, spawn};
use serde_json::{Value, json};

fn application(n: usize) -> Value {
    let mut body = planning_permit(&format!("K{:02}", n % 4));
    body["materials"][0]["pages"] = json!(1 + n % 5);
    body
}

async fn store(db: &TestDb) -> Store {
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || Store::open(&url))
        .await
        .unwrap()
        .unwrap()
}

async fn concurrent_submissions_keep_one_chain(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    // Two instances on one database (on SQLite, two servers on one file).
    let mut servers = Vec::new();
    for _ in 0..2 {
        // The demo registry holds the project the applications name.
        let mut config =
            ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
        config.demo = true;
        servers.push(spawn(config).await.unwrap());
    }
    let bases: Arc<Vec<String>> = Arc::new(
        servers
            .iter()
            .map(|s| format!("http://{}", s.addr))
            .collect(),
    );
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for n in 0..80 {
        let (http, bases) = (http.clone(), Arc::clone(&bases));
        tasks.push(tokio::spawn(async move {
            let base = &bases[n % 2];
            let r = http
                .post(format!("{base}{}", api::APPLICATIONS))
                .header(api::IDEMPOTENCY_HEADER, format!("chain-{n}"))
                .json(&application(n))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            // A retry through the other instance answers the same, code included.
            let again: Value = http
                .post(format!("{}{}", bases[(n + 1) % 2], api::APPLICATIONS))
                .header(api::IDEMPOTENCY_HEADER, format!("chain-{n}"))
                .json(&application(n))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(v, again);
            (
                v["approval_code"].as_str().unwrap().to_string(),
                v["verification_code"].as_str().unwrap().to_string(),
            )
        }));
    }
    let mut codes = HashMap::new();
    for t in tasks {
        let (code, verification) = t.await.unwrap();
        assert!(codes.insert(code, verification).is_none());
    }
    assert_eq!(codes.len(), 80);
    for s in servers {
        s.shutdown().await;
    }
    let s = store(&db).await;
    let (verdict, entries) = tokio::task::spawn_blocking(move || {
        let v = s.audit_verify_blocking().unwrap();
        let mut e = HashMap::new();
        for code in codes.keys() {
            let list = s.audit_for_blocking(code).unwrap();
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].action, "case.created");
            e.insert(code.clone(), audit::verification_code(&list[0].hash));
        }
        (v, (e, codes))
    })
    .await
    .unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    let (from_chain, from_answers) = entries;
    assert_eq!(from_chain, from_answers);
}

/// An entry recorded pending by an instance that stopped before linking it is linked when the
/// database is next opened, at the end of the chain.
async fn pending_entries_are_linked_on_start(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    let s = store(&db).await;
    drop(s);
    db.batch(
        "INSERT INTO audit_pending (at, actor, action, subject, detail)
         VALUES ('2026-11-23 10:00:00.000', 'kiosk:K-P', 'case.created', 'left-pending', '{}')",
    )
    .await;
    let s = store(&db).await;
    let (verdict, entries, left) = tokio::task::spawn_blocking(move || {
        (
            s.audit_verify_blocking().unwrap(),
            s.audit_for_blocking("left-pending").unwrap(),
            s.link_pending_blocking().unwrap(),
        )
    })
    .await
    .unwrap();
    let Verdict::Intact { entries: n, head } = verdict else {
        panic!("{verdict:?}");
    };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].seq, n, "linked at the end of the chain");
    assert_eq!(entries[0].hash, head);
    assert_eq!(left, 0);
}

both!(
    concurrent_submissions_keep_one_chain,
    pending_entries_are_linked_on_start
);
