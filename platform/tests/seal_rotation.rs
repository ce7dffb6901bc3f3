//! Rotating the key of personal data at rest, as `docs/security.md` tells an operator to: data
//! sealed under key 1; key 2 added as the first key; `hall-platform seal rewrap`; key 1 dropped;
//! the platform still opens every applicant and payer (SQLite and PostgreSQL).

mod common;

use common::{Hall, Kind, cli_async};
use hall_domain::api;
use hall_platform::{SealKeys, demo};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A key file: `index_key` and `audit_key` of `base`, `seal_keys` as given.
fn key_file(base: &toml::Table, seal_keys: Vec<String>) -> String {
    let mut t = base.clone();
    t.insert(
        "seal_keys".into(),
        toml::Value::Array(seal_keys.into_iter().map(toml::Value::String).collect()),
    );
    toml::to_string(&t).unwrap()
}

fn seal_keys_of(t: &toml::Table) -> Vec<String> {
    t["seal_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// What a kiosk sees of the demo applicant's case and of a fee notice's payer: both opened from
/// their sealed values.
async fn reads_back(hall: &Hall) {
    let details: Value = hall
        .post_json(
            &api::case_details_path(demo::CASE_APPROVED),
            &json!({ "id_number": demo::APPLICANT_ID }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(details["applicant"], "张**", "{details}");
    let notice = hall.get(&api::fee_notice_path(demo::PAYMENT_CODE)).await;
    assert_eq!(notice.status(), StatusCode::OK);
    let notice: Value = notice.json().await.unwrap();
    assert!(
        notice["payer"].as_str().is_some_and(|p| !p.is_empty()),
        "{notice}"
    );
}

async fn a_key_is_rotated_with_rewrap_and_the_old_key_dropped(kind: Kind) {
    let db = fresh!(kind);
    let dir = tempfile::tempdir().unwrap();
    let (ok, first, _) = cli_async(vec!["seal".into(), "keygen".into()]).await;
    assert!(ok);
    let (ok, second, _) = cli_async(vec!["seal".into(), "keygen".into()]).await;
    assert!(ok);
    let first: toml::Table = first.parse().unwrap();
    let second: toml::Table = second.parse().unwrap();
    let (old, new) = (seal_keys_of(&first), seal_keys_of(&second));
    let write = |name: &str, body: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let only_old = write("old.toml", key_file(&first, old.clone()));
    let both = write(
        "both.toml",
        key_file(&first, new.iter().chain(old.iter()).cloned().collect()),
    );
    let only_new = write("new.toml", key_file(&first, new.clone()));

    // The demo's applicants and payers, sealed under the old key.
    let hall = Hall::start_with(&db.url, |c| c.seal_keys = SealKeys::File(only_old.clone())).await;
    reads_back(&hall).await;
    hall.server.shutdown().await;

    // The new key first: everything sealed again under it.
    let rewrap = |keys: &std::path::Path| {
        cli_async(vec![
            "seal".into(),
            "rewrap".into(),
            "--db".into(),
            db.arg(),
            "--seal-keys".into(),
            keys.display().to_string(),
        ])
    };
    let (ok, out, err) = rewrap(&both).await;
    assert!(ok, "{err}");
    let resealed: usize = out.trim().parse().unwrap();
    assert!(resealed >= 4, "only {resealed} values resealed");
    let (ok, out, err) = rewrap(&both).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "0",
        "a second rewrap finds nothing under an old key"
    );

    // The old key gone: everything still opens.
    let hall = Hall::start_with(&db.url, |c| c.seal_keys = SealKeys::File(only_new.clone())).await;
    reads_back(&hall).await;
    hall.server.shutdown().await;
}

both!(a_key_is_rotated_with_rewrap_and_the_old_key_dropped);

/// Given no key file, `serve` may fall back on the one a demo platform made beside the
/// database, and says so in its log, naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_when_it_uses_the_key_file_beside_the_database() {
    let db = fresh!(Kind::Sqlite);
    // A demo platform on this database made its key file beside it.
    let hall = Hall::start(&db.url).await;
    hall.server.shutdown().await;
    let beside = db.keys();
    assert!(std::path::Path::new(&beside).exists());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hall-platform"))
        .args(["serve", "--db", &db.arg(), "--listen", "127.0.0.1:0"])
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("found beside the database") && log.contains(&beside),
        "{log}"
    );
}
