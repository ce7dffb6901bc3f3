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
        // 160 submissions at once from one kiosk: more than a kiosk's rate allows.
        config.kiosk_rate = hall_platform::Rate {
            per_second: 1000,
            burst: 1000,
        };
        config.peer_rate = hall_platform::Rate {
            per_second: 100_000,
            burst: 100_000,
        };
        servers.push(spawn(config).await.unwrap());
    }
    let bases: Arc<Vec<String>> = Arc::new(
        servers
            .iter()
            .map(|s| format!("http://{}", s.addr))
            .collect(),
    );
    // One kiosk, enrolled through the first instance (both share the database).
    let http = common::client_with(&servers[0].enrol_kiosk("K-CHAIN", "测试大厅").await.unwrap());
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

/// The chain binds the data: a status changed in the database directly (a case, one of its
/// nodes, a fee notice) fails `audit verify`, naming each row, though every entry still holds.
async fn a_status_changed_in_the_database_fails_verify(kind: Kind) {
    let db = fresh!(kind);
    let hall = common::Hall::start(&db.url).await;
    let created: Value = hall
        .apply("bound-1", &planning_permit(""))
        .await
        .json()
        .await
        .unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    hall.server.shutdown().await;
    let s = store(&db).await;
    let v = tokio::task::spawn_blocking(move || s.audit_verify_blocking().unwrap())
        .await
        .unwrap();
    assert!(matches!(v, Verdict::Intact { .. }), "{v:?}");

    db.batch(&format!(
        "UPDATE cases SET status = 9 WHERE approval_code = '{code}';
         UPDATE case_nodes SET status = 9 WHERE approval_code = '{late}' AND seq = 0;
         UPDATE fee_notices SET status = 'cancelled' WHERE payment_code = '{notice}';",
        late = hall_platform::demo::CASE_LATE,
        notice = hall_platform::demo::PAYMENT_CODE,
    ))
    .await;
    let s = store(&db).await;
    let v = tokio::task::spawn_blocking(move || s.audit_verify_blocking().unwrap())
        .await
        .unwrap();
    let Verdict::Unbound { rows, .. } = v else {
        panic!("{v:?}");
    };
    assert_eq!(rows.len(), 3, "{rows:?}");
    for subject in [
        code.as_str(),
        hall_platform::demo::CASE_LATE,
        hall_platform::demo::PAYMENT_CODE,
    ] {
        assert!(
            rows.iter().any(|r| r.contains(subject)),
            "{subject}: {rows:?}"
        );
    }
}

both!(a_status_changed_in_the_database_fails_verify);

/// The platform's key file moved away from beside its database (where a command would find it by
/// itself): its new place, and the directory that holds it.
fn keys_moved_away(db: &std::path::Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("seal-keys.toml");
    std::fs::rename(format!("{}.keys.toml", db.display()), &moved).unwrap();
    let keys = moved.display().to_string();
    (dir, keys)
}

/// Whoever can write the database can recompute the whole chain, but neither the entries' MACs
/// nor the signature of a checkpoint kept elsewhere, both made with the audit key outside the
/// database: `audit verify` with the key fails at the first rewritten entry, `--checkpoint`
/// fails once the chain was rewritten, and a checkpoint not signed with the key is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_chain_no_longer_extends_its_signed_checkpoint() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let hall = common::Hall::start(&db.url).await;
    for n in 0..3 {
        let r = hall.apply(&format!("cp-{n}"), &planning_permit("")).await;
        assert_eq!(r.status(), 201);
    }
    hall.server.shutdown().await;
    let hall_platform::DbUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let (_keydir, keys) = keys_moved_away(path);
    let dbarg = db.arg();
    let (ok, checkpoint, err) =
        common::cli(&["audit", "checkpoint", "--db", &dbarg, "--seal-keys", &keys]);
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let cp_file = dir.path().join("checkpoint.json");
    std::fs::write(&cp_file, &checkpoint).unwrap();
    let cp = cp_file.to_str().unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--db", &dbarg, "--seal-keys", &keys];
        args.extend_from_slice(extra);
        common::cli(&args)
    };
    let (ok, out, err) = verify(&["--checkpoint", cp]);
    assert!(ok && out.contains("extends the checkpoint"), "{out}{err}");

    // Someone with the database edits an early entry and recomputes every hash after it.
    let s = store(&db).await;
    let entries = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        let mut seq = 1;
        while let Some(h) = s.audit_hash_at_blocking(seq).unwrap() {
            all.push(h);
            seq += 1;
        }
        all.len() as i64
    })
    .await
    .unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    let rows: Vec<(i64, String, String, String, String, String)> = conn
        .prepare("SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len() as i64, entries);
    let mut prev = audit::GENESIS.to_string();
    for (seq, at, actor, action, subject, detail) in rows {
        let detail = if seq == 2 {
            detail.replace('}', ",\"forged\":true}")
        } else {
            detail
        };
        let hash = audit::entry_hash(seq, &at, &actor, &action, &subject, &detail, &prev);
        conn.execute(
            "UPDATE audit_log SET detail = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
            rusqlite::params![seq, detail, prev, hash],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("UPDATE audit_head SET hash = ?1 WHERE id = 1", [&prev])
        .unwrap();
    // The hashes alone hold again: without the key, verify cannot tell.
    let (ok, out, err) = common::cli(&["audit", "verify", "--db", &dbarg]);
    assert!(
        ok && out.contains("not checked"),
        "a recomputed chain holds by itself: {out}{err}"
    );
    // Every entry is keyed: the first rewritten one's MAC no longer holds under the audit key.
    let (ok, out, err) = verify(&[]);
    assert!(
        !ok && err.contains("entry 2") && err.contains("MAC does not match"),
        "{out}{err}"
    );
    // Stripping the MACs from there on does not help.
    conn.execute("UPDATE audit_log SET mac = NULL WHERE seq >= 2", [])
        .unwrap();
    let (ok, out, err) = verify(&[]);
    assert!(
        !ok && err.contains("entry 2") && err.contains("no MAC"),
        "{out}{err}"
    );
    // Stripping every MAC leaves an unkeyed chain that holds by itself; against the checkpoint
    // (kept off the machine) it does not.
    conn.execute("UPDATE audit_log SET mac = NULL", []).unwrap();
    drop(conn);
    let (ok, _, err) = verify(&["--checkpoint", cp]);
    assert!(!ok && err.contains("rewritten"), "{err}");
    // A checkpoint whose signature was not made with the audit key is refused.
    let forged = checkpoint.replace("\"mac\": \"", "\"mac\": \"00");
    std::fs::write(&cp_file, forged).unwrap();
    let (ok, _, err) = verify(&["--checkpoint", cp]);
    assert!(!ok && err.contains("not signed"), "{err}");
}

/// Without the audit key nothing is written after keyed entries: a command run without
/// `--seal-keys` is refused, and the chain stays keyed to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_unkeyed_is_written_after_keyed_entries() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let hall = common::Hall::start(&db.url).await;
    let r = hall.apply("keyed-1", &planning_permit("")).await;
    assert_eq!(r.status(), 201);
    hall.server.shutdown().await;
    let hall_platform::DbUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let (_keydir, keys) = keys_moved_away(path);
    let dbarg = db.arg();
    let token = [
        "fleet", "token", "create", "--role", "helpdesk", "--db", &dbarg,
    ];
    let (ok, out, err) = common::cli(&token);
    assert!(!ok && err.contains("audit log is keyed"), "{out}{err}");
    let mut with_keys = token.to_vec();
    with_keys.extend(["--seal-keys", &keys]);
    let (ok, out, err) = common::cli(&with_keys);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = common::cli(&["audit", "verify", "--db", &dbarg, "--seal-keys", &keys]);
    assert!(ok && out.contains("MAC holds"), "{out}{err}");
}
