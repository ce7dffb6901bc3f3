//! 好差评 at the end of a completed journey, and the journey events the session tells.

use hall_domain::api::{
    JourneyEventKind as E, JourneyKind, JourneyStep as S, Rating, RatingReason,
};

use super::*;

/// The events as (event, step, rating, reason, timed out), all of one journey of `kind`.
fn story(r: &Rig, kind: JourneyKind) -> Vec<(E, Option<S>)> {
    let first = r.events.first().expect("events");
    for e in &r.events {
        assert_eq!(e.journey, first.journey, "one journey: {:?}", r.events);
        assert_eq!(e.kind, kind);
        assert_eq!(e.journey.len(), 36, "a UUID");
    }
    r.events.iter().map(|e| (e.event, e.step)).collect()
}

/// Every event makes sense to the platform, stamped as the runtime stamps it.
fn all_check(r: &Rig) {
    for n in &r.events {
        let e = crate::journeys::event(n.clone(), local_now());
        hall_domain::api::check_event(&e).unwrap_or_else(|why| panic!("{why}: {e:?}"));
    }
}

fn submitted(r: &mut Rig) {
    to_review(r);
    r.act(Intent::Submit);
    r.input(Input::Submitted(Ok(created())));
    assert_eq!(r.s.screen(), Screen::Submitted);
}

#[test]
fn a_finished_submission_is_rated_and_told_step_by_step() {
    let mut r = Rig::new();
    submitted(&mut r);
    r.input(Input::Printed(Ok(())));
    let fx = r.act(Intent::Finish);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::SessionEnded { .. })),
        "the rating first"
    );
    assert_eq!(r.s.screen(), Screen::Rating);
    assert_eq!(r.vm().submit.review_name, "", "the journey's data is gone");
    assert!(r.s.in_use());
    r.act(Intent::Rate(Rating::VerySatisfied));
    assert_eq!(r.s.screen(), Screen::Home);
    let vm = r.vm();
    assert_eq!(vm.overlays.thanks, view::Thanks::Rated);
    assert_eq!(vm.overlays.take_reminder, TakeReminder::CardReceipt);
    assert_eq!(
        story(&r, JourneyKind::Submission),
        vec![
            (E::Started, None),
            (E::Step, Some(S::Identify)),
            (E::Step, Some(S::Items)),
            (E::Step, Some(S::Materials)),
            (E::Step, Some(S::Capture)),
            (E::Step, Some(S::Form)),
            (E::Step, Some(S::Review)),
            (E::Step, Some(S::Submitted)),
            (E::Finished, None),
            (E::Step, Some(S::Rating)),
            (E::Rated, None),
        ]
    );
    let rated = r.events.last().expect("rated");
    assert_eq!(rated.rating, Some(Rating::VerySatisfied));
    assert_eq!(rated.reason, None);
    all_check(&r);
}

#[test]
fn a_submission_given_up_at_the_form_is_abandoned_there_and_asks_nothing() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Items(Ok(vec![item()])));
    r.act(Intent::PickItem("jsgcghxkz".into()));
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    r.act(Intent::Next);
    r.act(Intent::SkipCapture);
    assert_eq!(r.s.screen(), Screen::Form);
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert_eq!(
        r.s.screen(),
        Screen::Home,
        "no rating for a journey not done"
    );
    let last = r.events.last().expect("abandoned");
    assert_eq!((last.event, last.step), (E::Abandoned, Some(S::Form)));
    assert!(!last.timed_out);
    assert!(!r.events.iter().any(|e| e.event == E::Finished));
    all_check(&r);
}

#[test]
fn a_timeout_abandons_where_the_person_was_and_asks_nothing() {
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed("42060026110200000017");
    r.act(Intent::Next);
    r.input(Input::Notice(Ok(notice())));
    assert_eq!(r.s.screen(), Screen::Payment);
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    assert_eq!(
        story(&r, JourneyKind::Payment),
        vec![
            (E::Started, None),
            (E::Step, Some(S::PayEntry)),
            (E::Step, Some(S::Payment)),
            (E::Abandoned, Some(S::Payment)),
        ]
    );
    assert!(r.events.last().is_some_and(|e| e.timed_out));
    all_check(&r);

    // Walked away on the rating screen: nothing more is told, nothing shown.
    let mut r = Rig::new();
    submitted(&mut r);
    r.input(Input::Printed(Ok(())));
    r.act(Intent::Finish);
    let told = r.events.len();
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.events.len(), told, "{:?}", &r.events[told..]);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);

    // Walked away from the finished journey's own screen: finished, not abandoned.
    let mut r = Rig::new();
    submitted(&mut r);
    r.input(Input::Printed(Ok(())));
    let told = r.events.len();
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.events.len(), told);
}

#[test]
fn a_lookup_is_finished_when_the_progress_shows() {
    let mut r = Rig::new();
    // Scanned on the home screen: the journey starts without a touch.
    r.input(Input::Device(DeviceEvent::Scanned(
        approval_code().to_string(),
    )));
    r.input(Input::Case(Ok(case())));
    assert_eq!(r.s.screen(), Screen::Progress);
    r.act(Intent::Back);
    r.input(Input::Device(DeviceEvent::Scanned(
        approval_code().to_string(),
    )));
    r.input(Input::Case(Ok(case())));
    r.act(Intent::Finish);
    r.act(Intent::Skip);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.vm().overlays.thanks, view::Thanks::Used);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::Nothing);
    assert_eq!(
        story(&r, JourneyKind::Lookup),
        vec![
            (E::Started, None),
            (E::Step, Some(S::Lookup)),
            (E::Step, Some(S::Progress)),
            (E::Finished, None),
            (E::Step, Some(S::Lookup)),
            (E::Step, Some(S::Progress)),
            (E::Step, Some(S::Rating)),
        ],
        "finished once; skipped: no rating told"
    );
    all_check(&r);
    // The thanks goes by itself, sooner than a reminder to take something.
    r.advance(THANKS.as_secs() + 1);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
}

#[test]
fn a_paid_notice_is_finished_and_a_poor_rating_carries_its_reason() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    r.input(Input::Order(Ok(order(OrderStatus::Paid))));
    assert_eq!(r.s.screen(), Screen::Paid);
    r.act(Intent::Finish);
    assert_eq!(r.s.screen(), Screen::Rating);
    let fx = r.raw_act(Intent::Rate(Rating::VeryDissatisfied));
    assert_eq!(r.s.screen(), Screen::Rating, "the reasons next");
    assert_eq!(r.vm().rate.chosen, Some(Rating::VeryDissatisfied));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Speak(s) if s.prompt == "rating-reason"))
    );
    // Back to the levels, and a poor one again.
    r.act(Intent::Back);
    assert_eq!(r.vm().rate.chosen, None);
    r.act(Intent::Rate(Rating::Dissatisfied));
    r.act(Intent::RateReason(RatingReason::TooSlow));
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(
        story(&r, JourneyKind::Payment),
        vec![
            (E::Started, None),
            (E::Step, Some(S::PayEntry)),
            (E::Step, Some(S::Payment)),
            (E::Step, Some(S::Paying)),
            (E::Step, Some(S::Paid)),
            (E::Finished, None),
            (E::Step, Some(S::Rating)),
            (E::Rated, None),
        ]
    );
    let rated = r.events.last().expect("rated");
    assert_eq!(rated.rating, Some(Rating::Dissatisfied));
    assert_eq!(rated.reason, Some(RatingReason::TooSlow));
    all_check(&r);
}

#[test]
fn a_poor_rating_without_a_reason_and_a_skip_at_once() {
    // The reason is never required: skipping it keeps the rating.
    let mut r = Rig::new();
    submitted(&mut r);
    r.act(Intent::Finish);
    r.act(Intent::Rate(Rating::VeryDissatisfied));
    r.act(Intent::Skip);
    let rated = r.events.last().expect("rated");
    assert_eq!(rated.event, E::Rated);
    assert_eq!(
        (rated.rating, rated.reason),
        (Some(Rating::VeryDissatisfied), None)
    );
    assert_eq!(r.s.screen(), Screen::Home);
    all_check(&r);

    // One touch of 跳过 (or 结束办理) ends it: no rating told.
    let mut r = Rig::new();
    submitted(&mut r);
    r.act(Intent::Finish);
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert!(!r.events.iter().any(|e| e.event == E::Rated));
    assert_eq!(r.vm().overlays.thanks, view::Thanks::Used);
}

#[test]
fn back_home_from_the_first_screen_abandons_and_a_notice_paid_from_progress_is_a_new_journey() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.act(Intent::Back);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(
        story(&r, JourneyKind::Submission),
        vec![
            (E::Started, None),
            (E::Step, Some(S::Identify)),
            (E::Abandoned, Some(S::Identify)),
        ]
    );

    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.input(Input::Case(Ok(case())));
    r.act(Intent::PayNotice("42060026110200000017".into()));
    assert_eq!(r.s.screen(), Screen::PayEntry);
    let kinds: Vec<_> = r.events.iter().map(|e| (e.kind, e.event)).collect();
    assert_eq!(
        kinds[kinds.len() - 3..],
        [
            (JourneyKind::Lookup, E::Finished),
            (JourneyKind::Payment, E::Started),
            (JourneyKind::Payment, E::Step),
        ]
    );
    assert_ne!(r.events[0].journey, r.events.last().expect("pay").journey);
    all_check(&r);
}

#[test]
fn an_error_shown_at_once_counts_the_screen_under_it() {
    let mut r = Rig::new();
    submitted(&mut r);
    // The receipt did not print: the printer's error over the submitted screen.
    r.input(Input::Printed(Err("缺纸".into())));
    assert_eq!(r.s.screen(), Screen::PrinterError);
    r.act(Intent::Finish);
    assert_eq!(
        r.s.screen(),
        Screen::Rating,
        "the journey was done all the same"
    );
    let steps: Vec<_> = r.events.iter().filter_map(|e| e.step).collect();
    assert!(steps.ends_with(&[S::Submitted, S::PrinterError, S::Rating]));
}
