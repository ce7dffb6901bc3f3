//! A scripted day: the real kiosk binary runs `hall-kiosk drill` against the platform on
//! loopback, with ratings in turn and every third journey given up at the form. Every journey
//! event the kiosk tells is on the platform or still in its outbox, once, and makes sense
//! (`check_event`): started, each step, finished, the rating screen,
//! rated with its reason, and abandoned at the form.

#[path = "support/fleet.rs"]
mod support;

use std::time::Duration;

use hall_domain::api::{
    JourneyEvent, JourneyEventKind as E, JourneyKind, JourneyStep, Rating, RatingReason,
    check_event,
};
use support::{Hall, Kiosk};

/// The journey events waiting in the kiosk's outbox.
fn outbox_events(hall: &Hall) -> Vec<JourneyEvent> {
    let path = hall.dir.path().join("data").join("outbox.sqlite");
    let db = rusqlite::Connection::open(path).expect("outbox opens");
    let mut stmt = db
        .prepare("SELECT body FROM journey_events ORDER BY rowid")
        .expect("the journey table");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|b| serde_json::from_str(&b.expect("row")).expect("an event"))
        .collect()
}

/// The journey events the platform holds from the kiosk, read back from its database.
fn platform_events(hall: &Hall) -> Vec<JourneyEvent> {
    let db = rusqlite::Connection::open(hall.dir.path().join("platform.sqlite"))
        .expect("the platform's database");
    let mut stmt = db
        .prepare(
            "SELECT id, journey, kind, event, step, rating, reason, timed_out, at
             FROM journey_events",
        )
        .expect("the journey table");
    stmt.query_map([], |r| {
        let event = match r.get::<_, String>(3)?.as_str() {
            "started" => E::Started,
            "step" => E::Step,
            "finished" => E::Finished,
            "abandoned" => E::Abandoned,
            _ => E::Rated,
        };
        let rating = r
            .get::<_, Option<u8>>(5)?
            .and_then(|n| Rating::ALL.into_iter().find(|x| x.score() == n));
        let at: String = r.get(8)?;
        Ok(JourneyEvent {
            id: r.get(0)?,
            journey: r.get(1)?,
            kind: JourneyKind::parse(&r.get::<_, String>(2)?).expect("a kind"),
            event,
            step: r
                .get::<_, Option<String>>(4)?
                .and_then(|x| JourneyStep::parse(&x)),
            rating,
            reason: r
                .get::<_, Option<String>>(6)?
                .and_then(|x| RatingReason::parse(&x)),
            timed_out: r.get::<_, i64>(7)? != 0,
            at: chrono::NaiveDateTime::parse_from_str(&at, "%Y-%m-%d %H:%M:%S%.f").expect("a time"),
        })
    })
    .expect("rows")
    .map(|e| e.expect("an event"))
    .collect()
}

#[test]
fn a_scripted_day_of_finished_abandoned_and_rated_journeys() {
    let hall = Hall::start();
    let mut kiosk = Kiosk::start(
        &hall.cfg,
        &[
            "drill",
            "--skip-photos",
            "--journeys",
            "6",
            "--ratings",
            "5,dissatisfied:too_slow,skip",
            "--abandon-every",
            "3",
            "--abandon-at",
            "form",
        ],
    );
    assert!(
        kiosk.wait_exit(Duration::from_secs(240)),
        "the drill ends: {:?}",
        kiosk.log.iter().rev().take(20).collect::<Vec<_>>()
    );
    let done = kiosk
        .log
        .iter()
        .find(|l| l.contains("drill finished"))
        .expect("the drill's tally");
    for part in [
        "journeys=6",
        "finished=4",
        "abandoned=2",
        "rated=3",
        "skipped=1",
    ] {
        assert!(done.contains(part), "{part} in {done}");
    }
    // Every event the kiosk told is on the platform or still in its outbox, once; sorted by
    // when it happened.
    let mut events = platform_events(&hall);
    for e in outbox_events(&hall) {
        assert!(
            !events.iter().any(|p| p.id == e.id),
            "{e:?} both delivered and waiting"
        );
        events.push(e);
    }
    events.sort_by_key(|e| e.at);
    for e in &events {
        check_event(e).unwrap_or_else(|why| panic!("{why}: {e:?}"));
        assert_eq!(e.kind, JourneyKind::Submission);
    }
    let mut journeys: Vec<&str> = Vec::new();
    for e in &events {
        if !journeys.contains(&e.journey.as_str()) {
            journeys.push(&e.journey);
        }
    }
    assert_eq!(journeys.len(), 6, "six journeys, each its own id");
    let of = |j: &str| -> Vec<&JourneyEvent> { events.iter().filter(|e| e.journey == j).collect() };
    let count = |kind: E| events.iter().filter(|e| e.event == kind).count();
    assert_eq!(count(E::Started), 6);
    assert_eq!(count(E::Finished), 4);
    assert_eq!(count(E::Abandoned), 2);
    assert_eq!(count(E::Rated), 3);
    for (i, j) in journeys.iter().enumerate() {
        let evs = of(j);
        assert_eq!(evs[0].event, E::Started);
        let last = evs.last().expect("events");
        if (i + 1) % 3 == 0 {
            assert_eq!(
                (last.event, last.step, last.timed_out),
                (E::Abandoned, Some(JourneyStep::Form), false),
                "journey {}",
                i + 1
            );
            continue;
        }
        let steps: Vec<JourneyStep> = evs.iter().filter_map(|e| e.step).collect();
        assert!(
            steps.ends_with(&[
                JourneyStep::Review,
                JourneyStep::Submitted,
                JourneyStep::Rating
            ]),
            "journey {}: {steps:?}",
            i + 1
        );
        assert!(evs.iter().any(|e| e.event == E::Finished));
    }
    let rated: Vec<(Option<Rating>, Option<RatingReason>)> = events
        .iter()
        .filter(|e| e.event == E::Rated)
        .map(|e| (e.rating, e.reason))
        .collect();
    assert_eq!(
        rated,
        vec![
            (Some(Rating::VerySatisfied), None),
            (Some(Rating::Dissatisfied), Some(RatingReason::TooSlow)),
            (Some(Rating::VerySatisfied), None),
        ],
        "journeys 1, 2 and 5 rated; 4 skipped"
    );
}
