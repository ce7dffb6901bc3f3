//! Staff at the kiosk: the PIN pad and the maintenance screen.

use super::*;

#[test]
fn the_pin_is_kept_as_a_salted_argon2id_hash() {
    let a = hash_pin("123456").unwrap();
    let b = hash_pin("123456").unwrap();
    assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
    assert_ne!(a, b, "a new salt every time");
    assert!(verify_pin(&a, "123456") && verify_pin(&b, "123456"));
    assert!(!verify_pin(&a, "123457"));
    assert!(check_pin_hash(&a).is_ok());
    // The former unsalted SHA-256 (printf %s 123456 | sha256sum) is no hash the kiosk accepts.
    let sha = "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92";
    assert!(check_pin_hash(sha).is_err());
    assert!(!verify_pin(sha, "123456"));
    // Another algorithm is refused, even a valid PHC string.
    assert!(check_pin_hash("$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo").is_err());
    assert!(!verify_pin("", "123456"));
}

#[test]
fn the_right_pin_opens_maintenance_and_leaving_forgets_it() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    assert!(r.vm().staff.pin_shown);
    r.typed(PIN);
    assert_eq!(r.vm().staff.pin_digits, PIN.len() as i32);
    r.act(Intent::Backspace);
    r.act(Intent::Key(PIN.chars().last().unwrap()));
    let fx = r.act(Intent::Next);
    assert_eq!(
        fx,
        vec![Effect::HelpAnswered],
        "staff at the kiosk answer its help request"
    );
    let vm = r.vm();
    assert_eq!(vm.chrome.screen, Screen::Maintenance);
    assert!(!vm.staff.pin_shown);
    assert_eq!(vm.chrome.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(vm.chrome.kiosk_id, "kiosk-01");
    assert!(r.s.in_use(), "a help-desk restart waits for the staff");

    // leaving returns home; opening again asks for the PIN again
    r.act(Intent::Back);
    assert_eq!(r.vm().chrome.screen, Screen::Home);
    r.act(Intent::Staff);
    assert_eq!(r.vm().staff.pin_digits, 0);
    r.act(Intent::Next);
    assert!(r.vm().staff.pin_shown, "an empty PIN opens nothing");
    assert_eq!(r.vm().chrome.screen, Screen::Home);
}

#[test]
fn no_configured_pin_no_pad() {
    let mut r = Rig::new();
    r.act(Intent::Staff);
    assert!(!r.vm().staff.pin_shown);
}

#[test]
fn three_wrong_pins_lock_the_pad_for_a_minute() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    for n in 1..=3 {
        r.typed("111111");
        r.act(Intent::Next);
        let vm = r.vm();
        assert!(vm.staff.pin_wrong, "wrong PIN {n} is said");
        assert_eq!(vm.staff.pin_digits, 0);
        assert_eq!(vm.chrome.screen, Screen::Home);
    }
    assert_eq!(r.vm().staff.pin_locked_seconds, 60);
    // locked: even the right PIN does not open
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().chrome.screen, Screen::Home);
    // the lockout outlives the pad (closing and opening it again)
    r.act(Intent::Back);
    assert!(!r.vm().staff.pin_shown);
    r.advance(30);
    r.act(Intent::Staff);
    assert_eq!(r.vm().staff.pin_locked_seconds, 30);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().chrome.screen, Screen::Home);
    r.advance(31);
    assert_eq!(r.vm().staff.pin_locked_seconds, 0);
    r.act(Intent::Clear);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().chrome.screen, Screen::Maintenance);
}

#[test]
fn maintenance_effects_and_device_checks() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.act(Intent::TestPrint), vec![Effect::TestPrint]);
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::Printing);
    r.input(Input::Printed(Err("out of paper".into())));
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::PrintFailed);
    assert_eq!(
        r.vm().chrome.screen,
        Screen::Maintenance,
        "no error screen for staff"
    );
    r.act(Intent::TestPrint);
    r.input(Input::Printed(Ok(())));
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::Printed);
    assert_eq!(r.act(Intent::PaperReplaced), vec![Effect::PaperReplaced]);

    // a card and a scan are tested here, not taken into a journey; the card is masked
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    let vm = r.vm();
    assert!(
        !vm.staff.maint_card.contains("张建国"),
        "{}",
        vm.staff.maint_card
    );
    assert!(
        vm.staff.maint_card.ends_with("0011"),
        "{}",
        vm.staff.maint_card
    );
    assert!(!vm.staff.maint_card.contains(&id_number()[..14]));
    r.input(Input::Device(DeviceEvent::Scanned(
        "2026110200000118".into(),
    )));
    assert_eq!(r.vm().staff.maint_scan, "2026110200000118");
    assert_eq!(r.vm().chrome.screen, Screen::Maintenance);

    // the camera: a picture shown, or a failure said; nothing of it outlives maintenance
    assert_eq!(r.act(Intent::Shoot), vec![Effect::CaptureStill]);
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::Capturing);
    r.input(Input::Photo(Err("no frame".into())));
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::PhotoFailed);
    assert!(r.vm().apply.capture_preview.is_none());
    r.act(Intent::Shoot);
    r.input(Input::Photo(Ok(still())));
    assert_eq!(r.vm().staff.maint_note, view::MaintNote::Photo);
    assert!(r.vm().apply.capture_preview.is_some());

    assert_eq!(r.act(Intent::Restart), vec![Effect::RestartApp]);
    r.act(Intent::Back);
    assert!(r.vm().apply.capture_preview.is_none());
}

#[test]
fn idle_maintenance_and_pin_pad_return_home() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    r.typed("48");
    r.advance(121);
    let vm = r.vm();
    assert!(!vm.staff.pin_shown, "the pad closes when left alone");
    assert_eq!(vm.staff.pin_digits, 0);

    r.act(Intent::Staff);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().chrome.screen, Screen::Maintenance);
    let fx = r.advance(121);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: true }));
    assert_eq!(r.vm().chrome.screen, Screen::Home);
    r.act(Intent::Staff);
    assert!(r.vm().staff.pin_shown, "the PIN is asked again");
}
