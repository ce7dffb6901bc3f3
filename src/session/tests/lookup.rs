//! Looking up a case by its approval code (typed, scanned, or shown to the camera).

use super::*;

#[test]
fn lookup_typed_with_a_typo_is_caught_before_asking() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let mut typo = approval_code().to_string();
    let c = if typo.ends_with('5') { "6" } else { "5" };
    typo.replace_range(15..16, c);
    r.typed(&typo);
    assert_eq!(r.vm().lookup.lookup_code.error, view::FieldError::Check);
    assert!(
        r.act(Intent::Next).is_empty(),
        "no lookup with a bad check digit"
    );
}

#[test]
fn lookup_shows_the_timeline_in_the_language() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let code = approval_code().to_string();
    r.typed(&code[..15]);
    // The last digit of a code that checks out asks at once: no "look up" touch.
    let fx = r.act(Intent::Key(code.chars().last().unwrap()));
    assert_eq!(fx, vec![Effect::LookupCase(code.clone())]);
    assert!(r.act(Intent::Next).is_empty(), "asked once");
    r.input(Input::Case(Ok(case())));
    let vm = r.vm();
    assert_eq!(vm.chrome.screen, Screen::Progress);
    assert_eq!(vm.lookup.nodes.len(), 2);
    assert_eq!(vm.lookup.nodes_late, 1);
    assert_eq!(vm.lookup.nodes[0].overdue_days, 4);
    assert_eq!(
        vm.lookup.case_applicant, "",
        "who applied only after the applicant's card"
    );
    assert_eq!(vm.lookup.case_notices[0].total, "12,345.00");
    // Printing a progress slip: dated by the clock the runtime gave, not read by the session.
    let fx = r.act(Intent::PrintSlip);
    let Some(Effect::Print(slip)) = fx.first() else {
        panic!("no print: {fx:?}");
    };
    let Receipt::Progress(slip) = slip.as_ref() else {
        panic!("not a progress slip");
    };
    assert_eq!(slip.printed_at, "2026-11-23 09:41");
    r.input(Input::Printed(Ok(())));
    let later = NaiveDate::from_ymd_opt(2027, 1, 4)
        .and_then(|d| d.and_hms_opt(16, 5, 0))
        .unwrap();
    r.input(Input::Clock(later));
    let fx = r.act(Intent::Reprint);
    let Some(Effect::Print(slip)) = fx.first() else {
        panic!("no reprint: {fx:?}");
    };
    let Receipt::Progress(slip) = slip.as_ref() else {
        panic!("not a progress slip");
    };
    assert_eq!(slip.printed_at, "2027-01-04 16:05");
    // Pay from the case
    r.input(Input::Printed(Ok(())));
    r.act(Intent::PayNotice("42060026110200000017".into()));
    assert_eq!(r.s.screen(), Screen::PayEntry);
    assert_eq!(r.vm().pay.pay_code.value, "42060026110200000017");
}

#[test]
fn scanned_receipt_on_home_starts_a_lookup() {
    let mut r = Rig::new();
    let fx = r.input(Input::Device(DeviceEvent::Scanned(
        approval_code().to_string(),
    )));
    assert_eq!(fx, vec![Effect::LookupCase(approval_code().to_string())]);
    let fx = r.raw_input(Input::Case(Err(ApiError::NotFound)));
    assert_eq!(fx, vec![Effect::CameraScanning(true)]);
    assert_eq!(r.s.screen(), Screen::Lookup);
    assert_eq!(r.vm().lookup.lookup_error, view::LookupError::NotFound);
}

#[test]
fn qr_on_lookup_screen_turns_camera_on_and_reads() {
    let mut r = Rig::new();
    let fx = r.raw_act(Intent::StartLookup);
    assert!(fx.contains(&Effect::CameraScanning(true)), "{fx:?}");
    let fx = r.raw_input(Input::Device(DeviceEvent::QrSeen(format!(
        "https://hall.example/c/{}",
        approval_code()
    ))));
    assert!(fx.contains(&Effect::LookupCase(approval_code().to_string())));
    assert!(
        fx.contains(&Effect::CameraScanning(false)),
        "no scanning while waiting"
    );
    let fx = r.raw_input(Input::Case(Ok(case())));
    assert!(
        fx.iter()
            .all(|e| matches!(e, Effect::Speak(_) | Effect::Journey(_))),
        "the camera stays off: {fx:?}"
    );
    // A hostile payload changes nothing.
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let fx = r.input(Input::Device(DeviceEvent::QrSeen("\u{0}DROP TABLE".into())));
    assert!(fx.is_empty());
    assert_eq!(r.vm().lookup.lookup_error, view::LookupError::NotACode);
}

#[test]
fn lookup_offline_then_retry() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Err(ApiError::Unreachable("timeout".into()))));
    assert_eq!(r.s.screen(), Screen::Offline);
    let fx = r.act(Intent::Retry);
    assert_eq!(fx, vec![Effect::LookupCase(approval_code().to_string())]);
    r.input(Input::Case(Ok(case())));
    assert_eq!(r.s.screen(), Screen::Progress);
}
