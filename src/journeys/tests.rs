use std::sync::{Arc, Mutex};

use hall_domain::api::{
    self, JourneyEventKind, JourneyKind, JourneyReportAnswer, JourneyStep, Rating, RatingReason,
};

use super::*;

fn note(n: u32, event: JourneyEventKind) -> JourneyNote {
    JourneyNote {
        journey: format!("00000000-0000-4000-8000-{n:012}"),
        kind: JourneyKind::Submission,
        event,
        step: matches!(event, JourneyEventKind::Step | JourneyEventKind::Abandoned)
            .then_some(JourneyStep::Form),
        rating: (event == JourneyEventKind::Rated).then_some(Rating::VeryDissatisfied),
        reason: (event == JourneyEventKind::Rated).then_some(RatingReason::NotDone),
        timed_out: false,
    }
}

fn at() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
        .and_then(|d| d.and_hms_opt(10, 30, 0))
        .unwrap_or_default()
}

#[test]
fn journey_events_survive_reopening_and_go_once_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let events: Vec<JourneyEvent> = (0..5)
        .map(|i| event(note(i, JourneyEventKind::Step), at()))
        .collect();
    {
        let o = Outbox::open(&path).unwrap();
        for e in &events {
            o.put_journey_event(e).unwrap();
        }
        o.put_journey_event(&events[0]).unwrap();
        assert_eq!(
            o.journey_events_len().unwrap(),
            5,
            "the same id is one event"
        );
    }
    let o = Outbox::open(&path).unwrap();
    assert_eq!(o.journey_events(100).unwrap(), events, "in order, whole");
    assert_eq!(o.journey_events(2).unwrap(), events[..2]);
    o.remove_journey_events(&[events[0].id.clone(), events[1].id.clone()])
        .unwrap();
    assert_eq!(o.journey_events(100).unwrap(), events[2..]);
    assert!(o.is_empty().unwrap(), "submissions are apart");
}

#[test]
fn an_outbox_of_the_previous_version_gains_the_journey_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    {
        // The outbox as the previous version left it, with a submission waiting.
        let db = Connection::open(&path).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE outbox (
                idempotency_key TEXT PRIMARY KEY,
                local_reference TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL,
                told INTEGER NOT NULL DEFAULT 0,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                created_at TEXT NOT NULL DEFAULT (datetime('now')),
                abandoned INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE orders (
                order_id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL DEFAULT (datetime('now'))
             );
             INSERT INTO orders (order_id) VALUES ('o-1');",
        )
        .unwrap();
    }
    let o = Outbox::open(&path).unwrap();
    assert_eq!(o.orders().unwrap(), vec!["o-1".to_string()], "kept");
    assert_eq!(o.journey_events_len().unwrap(), 0);
    let e = event(note(1, JourneyEventKind::Started), at());
    o.put_journey_event(&e).unwrap();
    drop(o);
    let o = Outbox::open(&path).unwrap();
    assert_eq!(o.journey_events(10).unwrap(), vec![e]);
}

#[test]
fn a_damaged_row_does_not_block_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let o = Outbox::open(&dir.path().join("outbox.sqlite")).unwrap();
    o.db()
        .unwrap()
        .execute(
            "INSERT INTO journey_events (id, body) VALUES ('x', '{not json')",
            [],
        )
        .unwrap();
    let e = event(note(1, JourneyEventKind::Finished), at());
    o.put_journey_event(&e).unwrap();
    assert_eq!(o.journey_events(10).unwrap(), vec![e]);
    assert_eq!(o.journey_events_len().unwrap(), 1);
}

/// What the platform stand-in does with the next report.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Ok,
    Down,
    Malformed,
}

#[derive(Clone)]
struct Platform {
    answer: Arc<Mutex<Answer>>,
    reports: Arc<Mutex<Vec<JourneyReport>>>,
}

/// A stand-in for the platform's endpoint on loopback: it checks the credential and each event
/// as the platform does, and keeps the reports it took.
async fn platform() -> (String, Platform) {
    use axum::http::{HeaderMap, StatusCode};
    let p = Platform {
        answer: Arc::new(Mutex::new(Answer::Ok)),
        reports: Arc::default(),
    };
    let state = p.clone();
    let app = axum::Router::new().route(
        api::FLEET_JOURNEYS,
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(report): axum::Json<JourneyReport>| {
                let p = state.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if auth != "Bearer hkc_kiosk" {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    let answer = *p.answer.lock().unwrap();
                    if answer == Answer::Down {
                        return Err(StatusCode::SERVICE_UNAVAILABLE);
                    }
                    let well_formed = !report.events.is_empty()
                        && report.events.len() <= JOURNEY_EVENTS_MAX
                        && report.events.iter().all(|e| check_event(e).is_ok());
                    if answer == Answer::Malformed || !well_formed {
                        return Err(StatusCode::UNPROCESSABLE_ENTITY);
                    }
                    let n = report.events.len() as u32;
                    p.reports.lock().unwrap().push(report);
                    Ok(axum::Json(JourneyReportAnswer {
                        accepted: n,
                        duplicates: 0,
                    }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), p)
}

#[tokio::test]
async fn events_are_delivered_in_batches_kept_through_an_outage_and_a_malformed_batch_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let (base, p) = platform().await;
    let client = FleetClient::new(&base, "hkc_kiosk").unwrap();

    let kinds = [
        JourneyEventKind::Started,
        JourneyEventKind::Step,
        JourneyEventKind::Finished,
        JourneyEventKind::Rated,
    ];
    let events: Vec<JourneyEvent> = (0..(JOURNEY_EVENTS_MAX as u32 + 50))
        .map(|i| event(note(i / 4, kinds[i as usize % 4]), at()))
        .collect();
    let o = Outbox::open(&path).unwrap();
    for e in &events {
        o.put_journey_event(e).unwrap();
    }

    // The platform is down: nothing goes, everything stays, through a restart too.
    *p.answer.lock().unwrap() = Answer::Down;
    let err = deliver_journeys(&o, &client).await.unwrap_err();
    assert!(
        matches!(err, JourneyDeliveryError::Fleet(FleetError::Unreachable(_))),
        "{err}"
    );
    drop(o);
    let o = Outbox::open(&path).unwrap();
    assert_eq!(o.journey_events_len().unwrap(), events.len());

    // A wrong credential is no reason to drop anything either.
    let stranger = FleetClient::new(&base, "hkc_other").unwrap();
    *p.answer.lock().unwrap() = Answer::Ok;
    assert!(deliver_journeys(&o, &stranger).await.is_err());
    assert_eq!(o.journey_events_len().unwrap(), events.len());

    // Back: two batches, the first of the largest size, in order; then none are left.
    let round = deliver_journeys(&o, &client).await.unwrap();
    assert_eq!(
        round,
        JourneyRound {
            delivered: events.len(),
            dropped: 0
        }
    );
    assert_eq!(o.journey_events_len().unwrap(), 0);
    {
        let reports = p.reports.lock().unwrap();
        let sizes: Vec<usize> = reports.iter().map(|r| r.events.len()).collect();
        assert_eq!(sizes, vec![JOURNEY_EVENTS_MAX, 50]);
        let got: Vec<JourneyEvent> = reports.iter().flat_map(|r| r.events.clone()).collect();
        assert_eq!(got, events, "every event whole, in order");
        let json = serde_json::to_string(&*reports).unwrap();
        assert!(json.contains("\"rating\":\"very_dissatisfied\""), "{json}");
        assert!(json.contains("\"reason\":\"not_done\""));
    }

    // A report the platform refuses as malformed is dropped, not retried for ever.
    let e = event(note(9, JourneyEventKind::Started), at());
    o.put_journey_event(&e).unwrap();
    *p.answer.lock().unwrap() = Answer::Malformed;
    let round = deliver_journeys(&o, &client).await.unwrap();
    assert_eq!(
        round,
        JourneyRound {
            delivered: 0,
            dropped: 1
        }
    );
    assert_eq!(o.journey_events_len().unwrap(), 0);

    // An event the kiosk's own check refuses never leaves it, and blocks nothing.
    let mut bad = event(note(10, JourneyEventKind::Started), at());
    bad.step = Some(JourneyStep::Form);
    let good = event(note(11, JourneyEventKind::Started), at());
    o.put_journey_event(&bad).unwrap();
    o.put_journey_event(&good).unwrap();
    *p.answer.lock().unwrap() = Answer::Ok;
    let round = deliver_journeys(&o, &client).await.unwrap();
    assert_eq!(
        round,
        JourneyRound {
            delivered: 1,
            dropped: 1
        }
    );
    assert_eq!(
        p.reports.lock().unwrap().last().map(|r| r.events.clone()),
        Some(vec![good])
    );
}
