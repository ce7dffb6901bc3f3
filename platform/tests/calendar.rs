//! Years without a holiday calendar: time limits reaching into them count weekends only, and the
//! answers say the due date is provisional; `hall-platform calendar check` names such years.

mod common;

use chrono::NaiveDate;
use common::{Kind, TestDb, cli, planning_permit};
use hall_domain::api;
use hall_platform::{ServerConfig, spawn};
use serde_json::{Value, json};

fn application() -> Value {
    let mut body = planning_permit("K-C");
    body["materials"][3] =
        json!({ "material_id": "civil-defence-plan", "status": "provided", "pages": 3 });
    body
}

/// A test fixture in the format of `domain/data/holidays-YYYY.toml`; not an official
/// arrangement.
const FIXTURE_2027: &str =
    "year = 2027\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n";

async fn submit_on(db: &TestDb, today: &str, holidays: Vec<std::path::PathBuf>) -> (Value, Value) {
    let mut config = ServerConfig::with_database(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.today = Some(NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap());
    config.holiday_files = holidays;
    // The demo registry holds the project the application names.
    config.demo = true;
    let server = spawn(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = common::client_with(&server.enrol_kiosk("K-CAL", "测试大厅").await.unwrap());
    let created: Value = http
        .post(format!("{base}{}", api::APPLICATIONS))
        .header(api::IDEMPOTENCY_HEADER, format!("cal-{today}"))
        .json(&application())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    let case: Value = http
        .get(format!("{base}{}", api::case_path(&code)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.shutdown().await;
    (created, case)
}

async fn due_dates_in_a_year_without_calendar_are_provisional(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    // Ten working days from Monday 23 Nov 2026 end in 2026: a calendar year.
    let (created, case) = submit_on(&db, "2026-11-23", Vec::new()).await;
    assert_eq!(created["due_date_provisional"], false, "{created}");
    assert_eq!(case["due_date_provisional"], false, "{case}");
    assert!(case.get("calendar_missing_years").is_none());

    // From Monday 28 Dec 2026 they reach into 2027, which has no calendar: weekends only
    // (1 Jan 2027, a Friday, counts as a working day), and provisional.
    let (created, case) = submit_on(&db, "2026-12-28", Vec::new()).await;
    assert_eq!(created["due_date_provisional"], true, "{created}");
    assert_eq!(case["due_date_provisional"], true);
    assert_eq!(case["calendar_missing_years"], json!([2027]));
    let due = created["due_date"].as_str().unwrap();
    // 29, 30, 31 Dec, 1 Jan, 4-8 Jan, 11 Jan: the tenth working day.
    assert_eq!(due, "2027-01-11");

    // With the year's file added the same submission is counted with it and is not provisional.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holidays-2027.toml");
    std::fs::write(&file, FIXTURE_2027).unwrap();
    let db2 = TestDb::fresh(kind).await.unwrap();
    let (created, case) = submit_on(&db2, "2026-12-28", vec![file]).await;
    assert_eq!(created["due_date_provisional"], false);
    assert_eq!(case["due_date_provisional"], false);
    assert_eq!(created["due_date"], "2027-01-12");
}

both!(due_dates_in_a_year_without_calendar_are_provisional);

#[test]
fn calendar_check_names_the_missing_years() {
    let (ok, out, err) = cli(&["calendar", "check", "--today", "2026-11-23"]);
    assert!(!ok);
    assert!(out.contains("2026"), "{out}");
    assert!(err.contains("2027"), "{err}");
    let (ok, _, err) = cli(&["calendar", "check", "--today", "2026-11-23", "--ahead", "0"]);
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holidays-2027.toml");
    std::fs::write(&file, FIXTURE_2027).unwrap();
    let (ok, out, err) = cli(&[
        "calendar",
        "check",
        "--today",
        "2026-11-23",
        "--holidays",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("2026, 2027"), "{out}");
    std::fs::write(
        &file,
        "year = 2027\nholidays = [[\"not a date\", \"x\"]]\nworkdays = []\n",
    )
    .unwrap();
    let (ok, _, err) = cli(&["calendar", "check", "--holidays", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("holiday file"), "{err}");
}
