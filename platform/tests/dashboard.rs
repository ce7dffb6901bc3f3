//! How the hall is served, against the real platform on loopback: kiosks report journey events
//! and 好差评 with their own credentials (`POST /api/v1/fleet/journeys`), a redelivery counts once,
//! malformed reports change nothing; the manager's dashboard and its CSV show a scripted day's
//! figures exactly, per kiosk, per hall and for all, today and over 7 days.

mod common;

use chrono::{Duration, NaiveDateTime};
use common::{Browser, Hall, Kind, TestDb, add_user, client_with, today};
use hall_domain::api;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How a scripted journey ends.
enum End {
    Finished,
    /// Given up at this step (true: by the inactivity timeout).
    Abandoned(&'static str, bool),
}

struct Script {
    kind: &'static str,
    steps: &'static [&'static str],
    start: NaiveDateTime,
    /// Seconds from the start to the end.
    secs: i64,
    end: End,
    /// A rating `secs_after_end` after the end, with a reason.
    rating: Option<(&'static str, Option<&'static str>, i64)>,
}

fn at(day_offset: i64, h: u32, m: u32) -> NaiveDateTime {
    (today() + Duration::days(day_offset))
        .and_hms_opt(h, m, 0)
        .unwrap()
}

fn wire(t: NaiveDateTime) -> String {
    serde_json::to_value(WireTime(t))
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[derive(serde::Serialize)]
struct WireTime(#[serde(with = "hall_domain::api::time::local")] NaiveDateTime);

fn events(s: &Script) -> Vec<Value> {
    let journey = uuid::Uuid::new_v4().to_string();
    let ev = |event: &str, extra: Value, t: NaiveDateTime| {
        let mut e = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "journey": journey,
            "kind": s.kind,
            "event": event,
            "at": wire(t),
        });
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let mut out = vec![ev("started", json!({}), s.start)];
    for (i, step) in s.steps.iter().enumerate() {
        let t = s.start + Duration::seconds(s.secs * (i as i64 + 1) / (s.steps.len() as i64 + 1));
        out.push(ev("step", json!({ "step": step }), t));
    }
    let end = s.start + Duration::seconds(s.secs);
    match s.end {
        End::Finished => out.push(ev("finished", json!({}), end)),
        End::Abandoned(step, timed_out) => {
            let mut extra = json!({ "step": step });
            if timed_out {
                extra["timed_out"] = json!(true);
            }
            out.push(ev("abandoned", extra, end));
        }
    }
    if let Some((rating, reason, after)) = s.rating {
        let mut extra = json!({ "rating": rating });
        if let Some(r) = reason {
            extra["reason"] = json!(r);
        }
        out.push(ev("rated", extra, end + Duration::seconds(after)));
    }
    out
}

const SUBMIT: &[&str] = &[
    "identify",
    "items",
    "materials",
    "capture",
    "form",
    "review",
    "submitted",
];

/// The scripted day: (kiosk, journey), today unless said.
fn day() -> Vec<(&'static str, Script)> {
    let s = |kind, steps, start, secs, end, rating| Script {
        kind,
        steps,
        start,
        secs,
        end,
        rating,
    };
    vec![
        (
            "K-TEST",
            s(
                "submission",
                SUBMIT,
                at(0, 9, 10),
                300,
                End::Finished,
                Some(("very_satisfied", None, 10)),
            ),
        ),
        (
            "K-TEST",
            s(
                "submission",
                &["identify", "items", "materials", "capture", "form"],
                at(0, 10, 0),
                120,
                End::Abandoned("form", false),
                None,
            ),
        ),
        (
            "K-TEST",
            s(
                "lookup",
                &["lookup", "progress"],
                at(0, 11, 0),
                40,
                End::Finished,
                Some(("dissatisfied", Some("too_slow"), 10)),
            ),
        ),
        (
            "K-TEST",
            s(
                "lookup",
                &["lookup"],
                at(0, 13, 0),
                90,
                End::Abandoned("lookup", true),
                None,
            ),
        ),
        (
            "K-2",
            s(
                "payment",
                &["pay_entry", "payment", "paying", "paid"],
                at(0, 14, 0),
                200,
                End::Finished,
                Some(("satisfied", None, 10)),
            ),
        ),
        (
            "K-2",
            s("submission", SUBMIT, at(0, 15, 0), 600, End::Finished, None),
        ),
        (
            "K-EAST",
            s(
                "lookup",
                &["lookup", "progress"],
                at(0, 9, 30),
                30,
                End::Finished,
                Some(("basically_satisfied", None, 5)),
            ),
        ),
        (
            "K-EAST",
            s(
                "submission",
                &["identify", "items", "materials", "capture"],
                at(0, 16, 0),
                240,
                End::Abandoned("capture", false),
                None,
            ),
        ),
        // Yesterday: in the 7 days, not today.
        (
            "K-TEST",
            s(
                "lookup",
                &["lookup", "progress"],
                at(-1, 10, 0),
                20,
                End::Finished,
                None,
            ),
        ),
    ]
}

async fn report(client: &reqwest::Client, hall: &Hall, events: &[Value]) -> (StatusCode, Value) {
    let r = client
        .post(hall.url(api::FLEET_JOURNEYS))
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The value of a figure tile on the dashboard page.
fn tile(page: &str, figure: &str) -> String {
    let at = page
        .find(&format!("data-figure=\"{figure}\""))
        .unwrap_or_else(|| panic!("no {figure} tile"));
    let rest = &page[at..];
    let v = rest.find("class=\"tvalue\">").unwrap() + 15;
    rest[v..].split('<').next().unwrap().to_string()
}

/// The CSV as rows of cells (the byte-order mark dropped).
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str, kiosk: &str) -> String {
    let i = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]));
    let row = rows
        .iter()
        .find(|r| {
            if kiosk.is_empty() {
                r[2] == "all"
            } else {
                r[3] == kiosk
            }
        })
        .unwrap_or_else(|| panic!("no row for {kiosk:?}"));
    row[i].clone()
}

async fn scripted(kind: Kind) {
    let Some(db) = TestDb::fresh(kind).await else {
        return;
    };
    let hall = Hall::start(&db.url).await;
    let k2 = hall.kiosk("K-2").await;
    let east = client_with(&hall.server.enrol_kiosk("K-EAST", "东区大厅").await.unwrap());
    let mut sent: Vec<(&str, Vec<Value>)> = Vec::new();
    for (kiosk, script) in day() {
        sent.push((kiosk, events(&script)));
    }
    let client = |k: &str| match k {
        "K-TEST" => hall.http.clone(),
        "K-2" => k2.clone(),
        _ => east.clone(),
    };
    let mut total = 0;
    for kiosk in ["K-TEST", "K-2", "K-EAST"] {
        let all: Vec<Value> = sent
            .iter()
            .filter(|(k, _)| *k == kiosk)
            .flat_map(|(_, e)| e.clone())
            .collect();
        total += all.len();
        let (status, answer) = report(&client(kiosk), &hall, &all).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({ "accepted": all.len(), "duplicates": 0 }));
        // Delivered again (the kiosk never heard the answer): counted once.
        let (status, answer) = report(&client(kiosk), &hall, &all).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer, json!({ "accepted": 0, "duplicates": all.len() }));
    }
    assert_eq!(
        db.scalar("SELECT count(*) FROM journey_events").await,
        total as i64
    );

    let (ok, _, err) = add_user(&db.arg(), "zhao.min", "manager", Some("manager-password-1"));
    assert!(ok, "{err}");
    let mut b = Browser::new(&hall.base);
    b.cookies.insert("hall_lang".into(), "en".into());
    b.sign_in("zhao.min", "manager-password-1").await;

    // Today, every hall.
    let (status, page, _) = b.get("/console/dashboard?period=today").await;
    assert_eq!(status, StatusCode::OK);
    for (figure, value) in [
        ("sessions", "8"),
        ("submissions", "2"),
        ("lookups", "2"),
        ("abandoned", "3"),
        // 35 50 90 120 | 210 240 310 600 s: (120 + 210) / 2, rounded up.
        ("median", "2 min 45 s"),
        // Very satisfied, satisfied and basically satisfied over all four ratings.
        ("satisfaction", "75.0%"),
    ] {
        assert_eq!(tile(&page, figure), value, "{figure}");
    }
    assert!(page.contains("Form") && page.contains("Photographing materials"));

    let (status, csv, _) = b.get("/console/dashboard.csv?period=today").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with('\u{feff}'));
    let r = rows(&csv);
    assert_eq!(r.len(), 1 + 3 + 1, "{csv}");
    for (kiosk, col, value) in [
        ("K-TEST", "sessions", "4"),
        ("K-TEST", "submissions", "1"),
        ("K-TEST", "lookups", "1"),
        ("K-TEST", "abandoned", "2"),
        ("K-TEST", "timed_out", "1"),
        ("K-TEST", "median_session_s", "105"),
        ("K-TEST", "ratings", "2"),
        ("K-TEST", "satisfaction_pct", "50.0"),
        ("K-TEST", "Dissatisfied", "1"),
        ("K-TEST", "abandoned at: Application · Form", "1"),
        (
            "K-TEST",
            "abandoned at: Progress lookup · Entering the approval code",
            "1",
        ),
        ("K-2", "sessions", "2"),
        ("K-2", "submissions", "1"),
        ("K-2", "median_session_s", "405"),
        ("K-2", "Satisfied", "1"),
        ("K-EAST", "sessions", "2"),
        (
            "K-EAST",
            "abandoned at: Application · Photographing materials",
            "1",
        ),
        ("", "sessions", "8"),
        ("", "submissions", "2"),
        ("", "lookups", "2"),
        ("", "abandoned", "3"),
        ("", "median_session_s", "165"),
        ("", "ratings", "4"),
        ("", "satisfaction_pct", "75.0"),
        ("", "Very satisfied", "1"),
        ("", "Basically satisfied", "1"),
    ] {
        assert_eq!(column(&r, col, kiosk), value, "{kiosk} {col}");
    }

    // One hall.
    let hall_q = "/console/dashboard.csv?period=today&hall=%E6%B5%8B%E8%AF%95%E5%A4%A7%E5%8E%85";
    let (_, csv, _) = b.get(hall_q).await;
    let r = rows(&csv);
    assert_eq!(r.len(), 1 + 2 + 1, "{csv}");
    assert_eq!(column(&r, "sessions", ""), "6");
    // Seven days: yesterday's lookup too.
    let (_, csv, _) = b.get("/console/dashboard.csv?period=7d").await;
    let r = rows(&csv);
    assert_eq!(column(&r, "sessions", ""), "9");
    assert_eq!(column(&r, "lookups", ""), "3");
    assert_eq!(
        column(&r, "from", ""),
        (today() - Duration::days(6)).to_string()
    );

    // The wall display: reloads itself, no controls.
    let (_, wall, _) = b.get("/console/dashboard?period=today&wall=1").await;
    assert!(wall.contains("http-equiv=\"refresh\""));
    assert!(!wall.contains("Export CSV") && !wall.contains("/console/logout"));
    assert_eq!(tile(&wall, "sessions"), "8");

    // Nothing without a session.
    let mut nobody = Browser::new(&hall.base);
    let (status, body, _) = nobody.get("/console/dashboard.csv?period=today").await;
    assert_ne!(status, StatusCode::OK);
    assert!(!body.contains("K-TEST"));
    let (status, _, to) = nobody.get("/console/dashboard").await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_day_is_counted_exactly_on_sqlite() {
    scripted(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_day_is_counted_exactly_on_postgres() {
    scripted(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_reports_need_the_kiosk_credential_and_make_sense() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let hall = Hall::start(&db.url).await;
    let script = Script {
        kind: "lookup",
        steps: &["lookup"],
        start: at(0, 9, 0),
        secs: 20,
        end: End::Finished,
        rating: Some(("dissatisfied", Some("hard_to_use"), 3)),
    };
    let good = events(&script);
    // No credential, or a made-up one: 401, nothing kept.
    let anon = reqwest::Client::new();
    assert_eq!(
        report(&anon, &hall, &good).await.0,
        StatusCode::UNAUTHORIZED
    );
    let forged = client_with("hkc_not-a-credential");
    assert_eq!(
        report(&forged, &hall, &good).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Events that do not make sense: the whole report is refused.
    let mut bad = good.clone();
    bad[0]["step"] = json!("lookup"); // a start takes no step
    assert_eq!(
        report(&hall.http, &hall, &bad).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last]["rating"] = json!("satisfied"); // a reason goes with a poor rating only
    assert_eq!(
        report(&hall.http, &hall, &bad).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut bad = good.clone();
    bad[0]["id"] = json!("not-a-uuid");
    assert_eq!(
        report(&hall.http, &hall, &bad).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let many: Vec<Value> = (0..201).map(|_| good[0].clone()).collect();
    assert_eq!(
        report(&hall.http, &hall, &many).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        report(&hall.http, &hall, &[]).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(db.scalar("SELECT count(*) FROM journey_events").await, 0);

    // A kiosk whose clock runs ahead: its event is dated on arrival.
    let mut ahead = good.clone();
    ahead.truncate(1);
    ahead[0]["at"] = json!("2099-01-01T10:00:00+08:00");
    let (status, _) = report(&hall.http, &hall, &ahead).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        db.scalar("SELECT count(*) FROM journey_events WHERE at LIKE '2099%'")
            .await,
        0
    );
    let (status, answer) = report(&hall.http, &hall, &good).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["accepted"], good.len() - 1);
    // The kiosk the events belong to is the credential's, with its hall.
    assert_eq!(
        db.scalar(
            "SELECT count(*) FROM journey_events WHERE kiosk_id = 'K-TEST' AND hall = '测试大厅'"
        )
        .await,
        good.len() as i64
    );
}
