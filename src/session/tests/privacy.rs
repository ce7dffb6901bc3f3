//! Privacy on screen and paper, and nothing of one person left for the next.

use super::*;

#[test]
fn full_name_and_id_number_only_on_the_review_of_ones_own_submission() {
    let mut r = Rig::new();
    let mut w = Watch::new();
    let act = |r: &mut Rig, w: &mut Watch, i: Intent| step(r, w, Input::Act(i));

    // A whole submission with the card.
    act(&mut r, &mut w, Intent::StartSubmit);
    step(&mut r, &mut w, Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.vm().identify.card_name_masked, "张**");
    step(&mut r, &mut w, Input::Items(Ok(vec![item()])));
    act(&mut r, &mut w, Intent::PickItem("jsgcghxkz".into()));
    act(
        &mut r,
        &mut w,
        Intent::Material("m2".into(), Some(MaterialStatus::Tolerated)),
    );
    act(&mut r, &mut w, Intent::Next);
    act(&mut r, &mut w, Intent::Shoot);
    step(&mut r, &mut w, Input::Photo(Ok(still())));
    act(&mut r, &mut w, Intent::Next);
    for c in "20264206004701000123".chars() {
        act(&mut r, &mut w, Intent::Key(c));
    }
    step(
        &mut r,
        &mut w,
        Input::Project(
            "20264206004701000123".into(),
            Ok(ProjectInfo {
                code: "2026-420600-47-01-000123".into(),
                name: "邻里中心项目".into(),
                construction_unit: Some(credit_code()),
            }),
        ),
    );
    step(
        &mut r,
        &mut w,
        Input::Organization(
            credit_code(),
            Ok(OrganizationInfo {
                credit_code: credit_code(),
                name: "襄阳市某建设有限公司".into(),
            }),
        ),
    );
    act(&mut r, &mut w, Intent::Focus(view::Field::ContactPhone));
    for c in "13800138000".chars() {
        act(&mut r, &mut w, Intent::Key(c));
    }
    act(&mut r, &mut w, Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().submit.review_name, "张建国");
    act(&mut r, &mut w, Intent::Submit);
    step(&mut r, &mut w, Input::Submitted(Ok(created())));
    assert_eq!(r.s.screen(), Screen::Submitted);
    step(&mut r, &mut w, Input::Printed(Ok(())));
    act(&mut r, &mut w, Intent::Reprint);
    step(&mut r, &mut w, Input::Printed(Ok(())));
    act(&mut r, &mut w, Intent::Finish);
    act(&mut r, &mut w, Intent::Skip);
    act(&mut r, &mut w, Intent::DismissReminder);

    // A lookup, with the applicant's card on the progress screen.
    act(&mut r, &mut w, Intent::StartLookup);
    for c in approval_code().as_str().chars() {
        act(&mut r, &mut w, Intent::Key(c));
    }
    act(&mut r, &mut w, Intent::Next);
    step(&mut r, &mut w, Input::Case(Ok(case())));
    let fx = step(&mut r, &mut w, Input::Device(DeviceEvent::CardRead(card())));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::CaseDetails { approval_code: c, .. } if *c == approval_code().to_string())),
        "{fx:?}"
    );
    step(&mut r, &mut w, Input::Details(Ok(details())));
    assert_eq!(r.vm().lookup.case_applicant, "张**");
    assert_eq!(r.vm().lookup.case_project, "邻里中心项目");
    act(&mut r, &mut w, Intent::PrintSlip);
    step(&mut r, &mut w, Input::Printed(Ok(())));

    // A payment from the case.
    act(
        &mut r,
        &mut w,
        Intent::PayNotice("42060026110200000017".into()),
    );
    act(&mut r, &mut w, Intent::Next);
    step(&mut r, &mut w, Input::Notice(Ok(notice())));
    act(&mut r, &mut w, Intent::PayQr);
    step(
        &mut r,
        &mut w,
        Input::Order(Ok(order(OrderStatus::Pending))),
    );
    step(&mut r, &mut w, Input::Order(Ok(order(OrderStatus::Paid))));
    assert_eq!(r.s.screen(), Screen::Paid);
    step(&mut r, &mut w, Input::Printed(Ok(())));
    act(&mut r, &mut w, Intent::Finish);
    act(&mut r, &mut w, Intent::Rate(Rating::Satisfied));

    assert_eq!(w.receipts, 4, "two submission receipts, a slip, a payment");
    assert!(!w.seen_on.is_empty(), "the review shows one's own data");
    assert!(
        w.seen_on.iter().all(|s| *s == Screen::Review),
        "full name or ID number seen on {:?}",
        w.seen_on
    );
}

#[test]
fn the_details_need_the_applicants_card() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Ok(case())));
    let vm = r.vm();
    assert_eq!(vm.lookup.case_card, view::CaseCard::None);
    assert_eq!(
        (
            vm.lookup.case_applicant.as_str(),
            vm.lookup.case_project.as_str()
        ),
        ("", "")
    );
    assert!(vm.lookup.nodes.iter().all(|n| n.opinion.is_empty()));
    // Someone else's card: refused, nothing more shown, the status stays.
    let fx = r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert!(
        matches!(fx.as_slice(), [Effect::CaseDetails { .. }]),
        "{fx:?}"
    );
    assert_eq!(r.vm().overlays.busy, Busy::CheckingCard);
    let refused = ApiError::Refused(Problem {
        kind: "https://platform.hall.example/problems/forbidden".into(),
        title: "Forbidden".into(),
        status: 403,
        detail: None,
        errors: Vec::new(),
    });
    r.input(Input::Details(Err(refused)));
    let vm = r.vm();
    assert_eq!(vm.chrome.screen, Screen::Progress);
    assert_eq!(vm.lookup.case_card, view::CaseCard::NotApplicant);
    assert_eq!(vm.lookup.case_applicant, "");
    assert!(vm.lookup.nodes.iter().all(|n| n.opinion.is_empty()));
    assert_eq!(vm.lookup.nodes.len(), 2);
    // Too many tries are told as such.
    r.input(Input::Device(DeviceEvent::CardRemoved));
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    let limited = ApiError::Refused(Problem {
        kind: "https://platform.hall.example/problems/too-many-attempts".into(),
        title: "Too many attempts".into(),
        status: 429,
        detail: None,
        errors: Vec::new(),
    });
    r.input(Input::Details(Err(limited)));
    assert_eq!(r.vm().lookup.case_card, view::CaseCard::Limited);
    // The applicant's card: the details, opinions by node.
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Details(Ok(details())));
    let vm = r.vm();
    assert_eq!(vm.lookup.case_card, view::CaseCard::Shown);
    assert_eq!(vm.lookup.case_applicant, "张**");
    assert_eq!(vm.lookup.nodes[0].opinion, "请补充总平面图");
    assert_eq!(vm.lookup.nodes[1].opinion, "");
    // Back to the code: the details go; another case is checked with the same card at once.
    r.act(Intent::Back);
    assert_eq!(r.vm().lookup.case_applicant, "");
    r.act(Intent::Next);
    let fx = r.input(Input::Case(Ok(case())));
    assert!(
        matches!(fx.as_slice(), [Effect::CaseDetails { .. }]),
        "{fx:?}"
    );
}

#[test]
fn a_card_on_the_lookup_screen_lists_ones_own_cases() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let fx = r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert!(
        matches!(fx.as_slice(), [Effect::CasesByCard { .. }]),
        "{fx:?}"
    );
    assert_eq!(r.vm().overlays.busy, Busy::FindingCases);
    let summary = CaseSummary {
        approval_code: approval_code().to_string(),
        item: "建设工程规划许可证".into(),
        item_en: "Construction Project Planning Permit".into(),
        status: Blzt::CorrectionsAsked,
        status_text: "补正（开始）".into(),
        submitted_at: NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    };
    r.input(Input::MyCases(Ok(vec![summary])));
    let vm = r.vm();
    assert_eq!(vm.lookup.my_cases_state, view::MyCasesState::Listed);
    assert_eq!(
        vm.lookup.my_cases[0].code_grouped,
        approval_code().grouped()
    );
    // Only a listed case opens; it opens with its details, the card being the applicant's.
    assert!(
        r.act(Intent::OpenCase("2026110200000999".into()))
            .is_empty()
    );
    let fx = r.act(Intent::OpenCase(approval_code().to_string()));
    assert_eq!(fx, vec![Effect::LookupCase(approval_code().to_string())]);
    let fx = r.input(Input::Case(Ok(case())));
    assert!(
        matches!(fx.as_slice(), [Effect::CaseDetails { .. }]),
        "{fx:?}"
    );
    r.input(Input::Details(Ok(details())));
    assert_eq!(r.vm().lookup.case_card, view::CaseCard::Shown);
    assert_eq!(r.vm().lookup.case_project, "邻里中心项目");
    // Back to the list, back to typing, back home.
    r.act(Intent::Back);
    assert_eq!(r.vm().lookup.my_cases_state, view::MyCasesState::Listed);
    r.act(Intent::Back);
    assert_eq!(
        (r.s.screen(), r.vm().lookup.my_cases_state),
        (Screen::Lookup, view::MyCasesState::None)
    );
    // No cases, or too many lists: said, and typing the code still works.
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::MyCases(Ok(Vec::new())));
    assert_eq!(r.vm().lookup.my_cases_state, view::MyCasesState::Empty);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::MyCases(Err(ApiError::Refused(Problem {
        kind: "https://platform.hall.example/problems/too-many-attempts".into(),
        title: "Too many attempts".into(),
        status: 429,
        detail: None,
        errors: Vec::new(),
    }))));
    assert_eq!(r.vm().lookup.my_cases_state, view::MyCasesState::Limited);
    r.act(Intent::Back);
    r.act(Intent::Back);
    assert_eq!(r.s.screen(), Screen::Home);
}

#[test]
fn take_your_card_and_receipt_at_the_end() {
    // A submission with the card: finish → the reminder, in the person's language and size,
    // until the card leaves the reader.
    let mut r = Rig::new();
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::Large(true));
    to_review(&mut r);
    // This reader can tell that the card stays on it.
    r.input(Input::Device(DeviceEvent::CardStays));
    r.act(Intent::Submit);
    r.input(Input::Submitted(Ok(created())));
    r.input(Input::Printed(Ok(())));
    r.act(Intent::Finish);
    assert_eq!(r.s.screen(), Screen::Rating);
    let fx = r.raw_act(Intent::Skip);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Speak(s) if s.prompt == "take-card-receipt" && s.lang == Lang::En)),
        "{fx:?}"
    );
    let vm = r.vm();
    assert_eq!(vm.chrome.screen, Screen::Home);
    assert_eq!(vm.overlays.take_reminder, TakeReminder::CardReceipt);
    assert_eq!((vm.chrome.lang, vm.chrome.large_text), (Lang::En, true));
    assert!(
        !r.s.in_use(),
        "the session is over: the reminder holds nothing of it"
    );
    // The card still on the reader keeps it past the usual time...
    r.advance(REMINDER.as_secs() + 1);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::CardReceipt);
    // ...until it is taken.
    r.input(Input::Device(DeviceEvent::CardRemoved));
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::Receipt);
    r.advance(1);
    assert_eq!(
        r.vm().overlays.take_reminder,
        TakeReminder::None,
        "the usual time has passed"
    );
    assert_eq!(r.vm().chrome.lang, Lang::Zh);

    // A reader that cannot tell: the usual time.
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Finish);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::Card);
    r.advance(REMINDER.as_secs());
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    // A card forgotten on the reader does not hold the screen forever.
    let mut r = Rig::new();
    to_review(&mut r);
    r.input(Input::Device(DeviceEvent::CardStays));
    r.act(Intent::Finish);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::Card);
    r.advance(REMINDER_CARD_MAX.as_secs() + 1);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    // A touch closes it at once, and the next person can start.
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Finish);
    r.act(Intent::StartLookup);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    assert_eq!(r.s.screen(), Screen::Lookup);

    // A progress slip: take the slip (and the card when one was read).
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Ok(case())));
    r.act(Intent::PrintSlip);
    let fx = r.raw_input(Input::Printed(Ok(())));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Speak(s) if s.prompt == "take-receipt"))
    );
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::Receipt);
    assert_eq!(r.s.screen(), Screen::Progress);
    r.advance(REMINDER.as_secs());
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    // Nothing read, nothing printed: no reminder.
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.act(Intent::Finish);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
    // A timeout: the person has gone; the screen is left free.
    let mut r = Rig::new();
    to_review(&mut r);
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.vm().overlays.take_reminder, TakeReminder::None);
}

#[test]
fn nothing_of_a_session_is_left_for_the_next() {
    let fresh = Rig::new().vm();
    // Finished (the reminder taken away by a touch).
    let mut r = Rig::new();
    busy_session(&mut r);
    r.act(Intent::Finish);
    // The rating screen holds nothing of the journey.
    let rating = r.vm();
    assert_eq!(rating.chrome.screen, Screen::Rating);
    r.act(Intent::Rate(Rating::BasicallySatisfied));
    let reminder = r.vm();
    assert_eq!(reminder.overlays.take_reminder, TakeReminder::CardReceipt);
    let all = format!("{reminder:?}{rating:?}");
    for private in [
        "张",
        "邻里中心",
        "2026 1102",
        "4206002611",
        "R456",
        "o-1",
        "pay.hall",
        "T123",
    ] {
        assert!(!all.contains(private), "{private} left on the reminder");
    }
    assert_eq!(reminder.apply.capture_preview, None);
    r.act(Intent::DismissReminder);
    assert_eq!(r.vm(), fresh, "finished: the screen is as for a new person");
    // Timed out in the middle of a payment.
    let mut r = Rig::new();
    busy_session(&mut r);
    r.act(Intent::Back);
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(
        r.vm(),
        fresh,
        "timed out: the screen is as for a new person"
    );
    // And the next person's lookup starts empty.
    r.act(Intent::StartLookup);
    let vm = r.vm();
    assert_eq!(vm.lookup.lookup_code.value, "");
    assert_eq!(
        (vm.lookup.case_item.as_str(), vm.lookup.case_card),
        ("", view::CaseCard::None)
    );
    r.act(Intent::Back);
    r.act(Intent::StartPay);
    assert_eq!(r.vm().pay.pay_code.value, "");
}
