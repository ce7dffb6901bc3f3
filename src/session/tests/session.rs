//! The session itself: time, help, language and size, spoken guidance, identify.

use super::*;

#[test]
fn card_outside_identify_is_not_kept() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.s.screen(), Screen::Lookup);
    assert_eq!(r.vm().identify.card_name_masked, "");
}

#[test]
fn timeout_warns_then_ends_and_wipes() {
    let mut r = Rig::new();
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::Large(true));
    r.act(Intent::HighContrast(true));
    r.act(Intent::StartSubmit);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Items(Ok(vec![item()])));
    assert!(r.vm().chrome.large_text);
    assert!(r.vm().chrome.high_contrast);
    r.advance(80);
    assert!(!r.vm().overlays.timeout_warning);
    r.advance(15);
    let vm = r.vm();
    assert!(vm.overlays.timeout_warning, "warned 25 s before the end");
    assert!(vm.overlays.timeout_seconds >= 20);
    r.act(Intent::Continue);
    assert!(
        !r.vm().overlays.timeout_warning,
        "continue extends the session"
    );
    r.advance(100);
    let fx = r.advance(25);
    assert!(
        fx.contains(&Effect::SessionEnded { timed_out: true }),
        "{fx:?}"
    );
    let vm = r.vm();
    assert_eq!(vm.chrome.screen, Screen::Home);
    assert_eq!(vm.chrome.lang, Lang::Zh);
    assert!(!vm.chrome.large_text);
    assert!(
        !vm.chrome.high_contrast,
        "high contrast resets with the session"
    );
    assert_eq!(vm.identify.card_name_masked, "");
    assert!(vm.apply.materials.is_empty());
    assert!(!r.s.in_use());
}

#[test]
fn waiting_pauses_the_timeout() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    assert_eq!(r.vm().overlays.busy, Busy::LookingUp);
    r.advance(300);
    assert_eq!(
        r.s.screen(),
        Screen::Lookup,
        "no timeout while the platform is asked"
    );
    assert!(!r.vm().overlays.timeout_warning);
}

#[test]
fn answers_for_an_ended_session_are_dropped() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let generation = r.s.generation();
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.act(Intent::Finish);
    r.act(Intent::StartLookup);
    let fx = r.s.handle_reply(generation, Input::Case(Ok(case())), r.t);
    assert!(fx.is_empty());
    assert_eq!(r.s.screen(), Screen::Lookup);
    assert_eq!(r.vm().lookup.case_item, "");
}

#[test]
fn help_keeps_the_session() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let fx = r.input(Input::Device(DeviceEvent::HelpButton));
    assert_eq!(fx, vec![Effect::RequestHelp]);
    assert!(r.vm().overlays.help_shown);
    r.advance(600);
    assert_eq!(
        r.s.screen(),
        Screen::Lookup,
        "no timeout while staff are coming"
    );
    r.act(Intent::HelpClose);
    assert!(!r.vm().overlays.help_shown);
}

#[test]
fn language_and_text_size_only_change_on_home() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::Large(true));
    assert_eq!(
        r.vm().chrome.lang,
        Lang::Zh,
        "the switches are on the home screen only"
    );
    assert!(!r.vm().chrome.large_text);
    r.act(Intent::Back);
    assert!(r.act(Intent::Lang(Lang::En)).is_empty());
    r.act(Intent::Large(true));
    r.act(Intent::HighContrast(true));
    assert!(r.vm().chrome.large_text);
    assert!(r.vm().chrome.high_contrast);
    assert_eq!(r.vm().chrome.lang, Lang::En);
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert_eq!(r.vm().chrome.lang, Lang::Zh);
    assert!(!r.vm().chrome.large_text);
    assert!(!r.vm().chrome.high_contrast);
}

#[test]
fn each_screen_speaks_its_prompt_once_and_again_on_repeat() {
    let mut r = Rig::new();
    let speaks = |fx: &[Effect]| -> Vec<(&'static str, Lang)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Speak(s) => Some((s.prompt, s.lang)),
                _ => None,
            })
            .collect()
    };
    assert!(
        speaks(&r.raw_advance(1)).is_empty(),
        "an idle kiosk is quiet"
    );
    assert_eq!(
        speaks(&r.raw_act(Intent::Lang(Lang::En))),
        vec![("home", Lang::En)]
    );
    assert_eq!(
        speaks(&r.raw_act(Intent::StartLookup)),
        vec![("lookup", Lang::En)]
    );
    assert!(
        speaks(&r.raw_act(Intent::Key('2'))).is_empty(),
        "typing is quiet"
    );
    assert_eq!(
        speaks(&r.raw_act(Intent::Repeat)),
        vec![("lookup", Lang::En)]
    );
    assert_eq!(r.raw_act(Intent::Quiet), vec![Effect::StopSpeech]);
    assert_eq!(speaks(&r.raw_act(Intent::Help)), vec![("help", Lang::En)]);
    assert_eq!(
        speaks(&r.raw_act(Intent::HelpClose)),
        vec![("lookup", Lang::En)]
    );
}

#[test]
fn volume_and_speed_step_within_bounds_and_reset_with_the_session() {
    let mut r = Rig::new();
    r.raw_act(Intent::StartLookup);
    for _ in 0..9 {
        r.raw_act(Intent::Louder(true));
    }
    let fx = r.raw_act(Intent::Faster(false));
    let Some(Effect::Speak(s)) = fx.first() else {
        panic!("a change is heard at once: {fx:?}");
    };
    assert_eq!((s.volume, s.rate), (5, 1));
    r.raw_act(Intent::Faster(false));
    assert_eq!(
        (r.vm().chrome.voice_volume, r.vm().chrome.voice_rate),
        (5, 1)
    );
    let fx = r.raw_act(Intent::Finish);
    assert!(fx.contains(&Effect::StopSpeech), "speech stops at the end");
    assert_eq!(
        (r.vm().chrome.voice_volume, r.vm().chrome.voice_rate),
        (i32::from(super::VOICE_VOLUME), i32::from(super::VOICE_RATE))
    );
}

/// While a prompt sounds the screen offers to stop it; stopping silences it at once, and a
/// new session starts quiet.
#[test]
fn a_sounding_prompt_can_be_stopped_from_the_screen() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    assert!(!r.vm().chrome.speaking);
    r.advance(10);
    let idle_before = r.vm().overlays.timeout_seconds;
    r.raw_input(Input::Speaking(true));
    assert!(r.vm().chrome.speaking);
    assert_eq!(
        r.vm().overlays.timeout_seconds,
        idle_before,
        "sound is not a touch"
    );
    let fx = r.raw_act(Intent::Quiet);
    assert_eq!(fx, vec![Effect::StopSpeech]);
    assert!(!r.vm().chrome.speaking);
    r.raw_input(Input::Speaking(true));
    r.act(Intent::Finish);
    assert!(
        !r.vm().chrome.speaking,
        "the next person does not see a stop button"
    );
}

#[test]
fn the_timeout_warning_is_spoken() {
    let mut r = Rig::new();
    r.raw_act(Intent::StartLookup);
    let fx = r.raw_advance(95);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Speak(s) if s.prompt == "timeout")),
        "{fx:?}"
    );
}

// ---- maintenance and identify -----------------------------------------------------------------

#[test]
fn identify_shows_the_kiosk_id_until_touched_or_a_minute_passed() {
    let mut r = Rig::new();
    assert_eq!(r.vm().overlays.identify_id, "");
    r.s.identify(r.t + Duration::from_secs(60));
    assert_eq!(r.vm().overlays.identify_id, "kiosk-01");
    r.advance(59);
    assert_eq!(r.vm().overlays.identify_id, "kiosk-01");
    r.advance(1);
    assert_eq!(r.vm().overlays.identify_id, "");

    r.s.identify(r.t + Duration::from_secs(60));
    r.act(Intent::IdentifyClose);
    assert_eq!(r.vm().overlays.identify_id, "");
}
