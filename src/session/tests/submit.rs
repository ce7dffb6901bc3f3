//! Submitting an application: identification, items, materials, the form, the receipt.

use super::*;
use crate::session::view::ReceiptState;

#[test]
fn submit_with_card_end_to_end() {
    let mut r = Rig::new();
    to_review(&mut r);
    let vm = r.vm();
    assert_eq!(
        vm.submit.review_name, "张建国",
        "own data unmasked on review"
    );
    assert_eq!(vm.submit.review_id_number, id_number());
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit {
        idempotency_key,
        request,
        ..
    }) = fx.first().cloned()
    else {
        panic!("expected a submit effect, got {fx:?}");
    };
    assert_eq!(request.applicant.name, "张建国");
    assert_eq!(request.applicant.phone, "13800138000");
    assert_eq!(request.identified_by.as_deref(), Some("id_card"));
    assert_eq!(request.project.code, "2026-420600-47-01-000123");
    assert_eq!(
        request.materials,
        vec![
            MaterialSubmission {
                material_id: "m1".into(),
                status: MaterialStatus::Provided,
                pages: 1
            },
            MaterialSubmission {
                material_id: "m2".into(),
                status: MaterialStatus::Tolerated,
                pages: 0
            },
        ]
    );
    assert_eq!(r.vm().overlays.busy, Busy::Submitting);
    // A second tap while waiting does nothing.
    assert!(r.act(Intent::Submit).is_empty());

    let fx = r.input(Input::Submitted(Ok(created())));
    assert_eq!(r.s.screen(), Screen::Submitted);
    let Some(Effect::Print(receipt)) = fx.first() else {
        panic!("expected a print, got {fx:?}");
    };
    let Receipt::Submission(rc) = receipt.as_ref() else {
        panic!("expected a submission receipt");
    };
    assert_eq!(
        rc.id_number_masked,
        "420***********".to_string() + &id_number()[14..]
    );
    assert_eq!(rc.applicant_masked, "张**");
    assert_eq!(rc.approval_code_grouped, approval_code().grouped());
    assert_eq!(rc.pending.len(), 1);
    assert!(
        rc.note.contains("AB12-CD34"),
        "the verification code is printed"
    );
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Printing);
    assert_eq!(
        r.vm().submit.approval_code_grouped,
        approval_code().grouped()
    );
    r.input(Input::Printed(Ok(())));
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Printed);
    assert!(!idempotency_key.is_empty());
}

#[test]
fn offline_submit_retries_with_the_same_key() {
    let mut r = Rig::new();
    to_review(&mut r);
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit {
        idempotency_key: first,
        ..
    }) = fx.first().cloned()
    else {
        panic!("no submit");
    };
    r.input(Input::Submitted(Err(ApiError::Unreachable(
        "refused".into(),
    ))));
    assert_eq!(r.s.screen(), Screen::Offline);
    assert!(!r.vm().chrome.platform_ok);
    let fx = r.act(Intent::Retry);
    let Some(Effect::Submit {
        idempotency_key: second,
        ..
    }) = fx.first().cloned()
    else {
        panic!("retry must send again, got {fx:?}");
    };
    assert_eq!(first, second, "exactly once: the same idempotency key");
    assert_eq!(r.s.screen(), Screen::Review);
}

#[test]
fn refused_submission_shows_field_problems_in_the_language() {
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Submit);
    let problem = Problem {
        kind: "about:blank".into(),
        title: "invalid".into(),
        status: 422,
        detail: None,
        errors: vec![FieldError {
            field: "materials[0].pages".into(),
            code: "missing".into(),
            message: "缺少必交材料：建设用地权属证明".into(),
            message_en: "Required material missing: land-rights proof".into(),
        }],
    };
    r.input(Input::Submitted(Err(ApiError::Refused(problem))));
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(
        r.vm().submit.review_problems,
        vec!["缺少必交材料：建设用地权属证明"]
    );
}

#[test]
fn printer_failure_is_never_shown_as_printed() {
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Submit);
    r.input(Input::Submitted(Ok(created())));
    r.input(Input::Printed(Err("缺纸".into())));
    assert_eq!(r.s.screen(), Screen::PrinterError);
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Failed);
    assert_eq!(
        r.vm().submit.approval_code_grouped,
        approval_code().grouped()
    );
    // Skip: back on the submitted screen, still saying it was not printed.
    r.act(Intent::Skip);
    assert_eq!(r.s.screen(), Screen::Submitted);
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Failed);
    // Retry prints again.
    r.act(Intent::Reprint);
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Printing);
}

#[test]
fn printer_out_of_paper_before_printing() {
    let mut r = Rig::new();
    to_review(&mut r);
    r.input(Input::Device(DeviceEvent::Health(
        DeviceKind::Printer,
        kiosk_drivers::Health::Absent("缺纸".into()),
    )));
    r.act(Intent::Submit);
    let fx = r.input(Input::Submitted(Ok(created())));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Print(_))),
        "no job is started on a printer that cannot finish it"
    );
    assert_eq!(r.s.screen(), Screen::PrinterError);
    assert_eq!(r.vm().submit.receipt_state, ReceiptState::Failed);
}

#[test]
fn typed_identity_is_checked_before_going_on() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.act(Intent::IdentifyTyping);
    let mut wrong = id_number();
    let last = if wrong.ends_with('1') { "2" } else { "1" };
    wrong.replace_range(17..18, last);
    r.typed(&wrong);
    assert_eq!(r.vm().identify.id_number.error, view::FieldError::Check);
    r.act(Intent::Backspace);
    r.typed(&id_number()[17..]);
    assert!(r.vm().identify.id_number.ok);
    r.act(Intent::Next);
    assert_eq!(
        r.s.screen(),
        Screen::Identify,
        "name and phone still missing"
    );
    assert_eq!(r.vm().entry.focus, view::Field::ApplicantName);
    assert_eq!(
        r.vm().identify.applicant_name.error,
        view::FieldError::Empty
    );
    assert_eq!(r.vm().identify.phone.error, view::FieldError::Empty);
    type_word(&mut r, "zhangsan", &["张", "三"]);
    let fx = r.act(Intent::Next);
    assert!(fx.is_empty());
    assert_eq!(r.vm().entry.focus, view::Field::Phone);
    r.typed("13800138000");
    let fx = r.act(Intent::Next);
    assert_eq!(fx, vec![Effect::LoadItems]);
    assert_eq!(r.s.screen(), Screen::Items);
}

#[test]
fn pinyin_keyboard_edits_the_name() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.act(Intent::IdentifyTyping);
    r.act(Intent::Focus(view::Field::ApplicantName));
    assert_eq!(
        r.vm().identify.applicant_name.keypad,
        view::KeypadKind::Pinyin
    );
    type_word(&mut r, "lixiu", &["李"]);
    assert_eq!(r.vm().entry.ime.letters, "xiu");
    r.act(Intent::Backspace);
    assert_eq!(
        r.vm().entry.ime.letters,
        "xi",
        "backspace takes a letter first"
    );
    r.act(Intent::Backspace);
    r.act(Intent::Backspace);
    assert_eq!(r.vm().entry.ime.letters, "");
    assert_eq!(r.vm().identify.applicant_name.value, "李");
    r.act(Intent::Backspace);
    assert_eq!(
        r.vm().identify.applicant_name.value,
        "",
        "then a chosen character"
    );
    r.typed("wang");
    assert!(!r.vm().entry.ime.has_prev);
    r.act(Intent::CandidatePage(true));
    assert!(r.vm().entry.ime.has_prev);
    r.act(Intent::Clear);
    let vm = r.vm();
    assert_eq!(
        (
            vm.identify.applicant_name.value.as_str(),
            vm.entry.ime.letters.as_str()
        ),
        ("", "")
    );
    // A card read after all: the typed name is dropped, the card's is used.
    r.typed("wang");
    r.act(Intent::Candidate(0));
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.vm().identify.applicant_name.value, "");
}

#[test]
fn typed_name_goes_with_the_submission() {
    let mut r = Rig::new();
    typed_identity_to_the_project_code(&mut r);
    r.input(Input::Project(
        "20264206004701000123".into(),
        Ok(ProjectInfo {
            code: "2026-420600-47-01-000123".into(),
            name: "邻里中心项目".into(),
            construction_unit: Some(credit_code()),
        }),
    ));
    assert!(
        !r.vm().apply.project_name_shown,
        "the registry's name needs no typing"
    );
    r.input(Input::Organization(
        credit_code(),
        Ok(OrganizationInfo {
            credit_code: credit_code(),
            name: "襄阳市某建设有限公司".into(),
        }),
    ));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().submit.review_name, "张建国");
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit { request, .. }) = fx.first().cloned() else {
        panic!("expected a submit effect, got {fx:?}");
    };
    assert_eq!(request.applicant.name, "张建国");
    assert_eq!(request.applicant.id_number, id_number());
    assert_eq!(request.identified_by.as_deref(), Some("typed"));
    assert_eq!(request.project.name, "邻里中心项目");
}

#[test]
fn unknown_project_code_goes_on_with_the_name_typed() {
    let mut r = Rig::new();
    identify_typing(&mut r);
    r.act(Intent::PickItem("jsgcghxkz".into()));
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    r.act(Intent::Next);
    r.act(Intent::Shoot);
    r.input(Input::Photo(Ok(still())));
    r.act(Intent::Next);
    r.typed("20264206004701000123");
    assert!(!r.vm().apply.project_name_shown);
    r.input(Input::Project(
        "20264206004701000123".into(),
        Err(crate::client::ApiError::NotFound),
    ));
    let vm = r.vm();
    assert_eq!(
        vm.apply.project_code.error,
        view::FieldError::UnknownProject
    );
    assert!(
        vm.apply.project_name_shown,
        "the registry does not know it: type the name"
    );
    // Correcting the code hides the name until the registry answers again.
    r.act(Intent::Backspace);
    assert!(!r.vm().apply.project_name_shown);
    let fx = r.act(Intent::Key('3'));
    assert_eq!(
        fx,
        vec![Effect::LookupProject("20264206004701000123".into())]
    );
    r.input(Input::Project(
        "20264206004701000123".into(),
        Err(crate::client::ApiError::NotFound),
    ));
    assert!(r.vm().apply.project_name_shown);
    r.act(Intent::Focus(view::Field::CreditCode));
    r.typed(&credit_code());
    r.input(Input::Organization(
        credit_code(),
        Ok(OrganizationInfo {
            credit_code: credit_code(),
            name: "襄阳市某建设有限公司".into(),
        }),
    ));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Form);
    assert_eq!(r.vm().entry.focus, view::Field::ProjectName);
    assert_eq!(
        r.vm().apply.project_name_typed.error,
        view::FieldError::Empty
    );
    type_word(&mut r, "laojiuxiaoqugaizao", &["老旧小区", "改造"]);
    assert_eq!(r.vm().apply.project_name_typed.value, "老旧小区改造");
    let fx = r.act(Intent::Next);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LookupProject(_))),
        "not asked again: {fx:?}"
    );
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().apply.project_name, "老旧小区改造");
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit { request, .. }) = fx.first().cloned() else {
        panic!("expected a submit effect, got {fx:?}");
    };
    assert_eq!(request.project.name, "老旧小区改造");
    assert_eq!(request.project.code, "2026-420600-47-01-000123");
}

#[test]
fn materials_rules() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Items(Ok(vec![item()])));
    r.act(Intent::PickItem("jsgcghxkz".into()));
    // m1 is not tolerable: the choice is refused.
    r.act(Intent::Material(
        "m1".into(),
        Some(MaterialStatus::Tolerated),
    ));
    assert_eq!(
        r.vm().apply.materials[0].choice,
        Some(MaterialStatus::Provided)
    );
    r.act(Intent::Material("m1".into(), None));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Materials);
    assert_eq!(
        r.vm().apply.materials_error,
        view::MaterialsError::RequiredMissing
    );
    r.act(Intent::Material(
        "m3".into(),
        Some(MaterialStatus::Committed),
    ));
    assert_eq!(
        r.vm().apply.materials[2].choice,
        Some(MaterialStatus::Committed)
    );
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    assert!(
        !r.vm().apply.materials[1].deadline.is_empty(),
        "容缺 shows its deadline"
    );
}

#[test]
fn missing_camera_offers_to_skip_photos() {
    let mut r = Rig::new();
    r.input(Input::Device(DeviceEvent::Health(
        DeviceKind::Camera,
        kiosk_drivers::Health::Absent("unplugged".into()),
    )));
    r.act(Intent::StartSubmit);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Items(Ok(vec![item()])));
    r.act(Intent::PickItem("jsgcghxkz".into()));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::CameraError);
    assert!(!r.vm().chrome.camera_ok);
    r.act(Intent::Skip);
    assert_eq!(r.s.screen(), Screen::Form);
}

#[test]
fn offline_intake_keeps_the_submission_and_says_so() {
    let mut r = Rig::offline_intake();
    to_review(&mut r);
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit {
        idempotency_key,
        local_reference,
        ..
    }) = fx.first().cloned()
    else {
        panic!("no submit");
    };
    assert!(crate::outbox::is_local_reference(&local_reference));
    let fx = r.input(Input::Submitted(Err(ApiError::Unreachable("down".into()))));
    assert_eq!(
        fx,
        vec![Effect::AcceptOffline {
            idempotency_key: idempotency_key.clone()
        }]
    );
    assert_eq!(r.s.screen(), Screen::Review, "not told before it is stored");
    let fx = r.input(Input::OfflineStored(Ok(())));
    assert_eq!(r.s.screen(), Screen::Submitted);
    let vm = r.vm();
    assert!(vm.submit.offline_accepted);
    assert_eq!(vm.submit.approval_code, local_reference);
    let Some(Effect::Print(receipt)) = fx.first() else {
        panic!("a provisional receipt is printed");
    };
    let Receipt::Submission(rc) = receipt.as_ref() else {
        panic!("submission receipt");
    };
    assert_eq!(rc.approval_code, local_reference);
    assert!(rc.note.contains("临时受理"));
}

#[test]
fn offline_intake_that_cannot_be_stored_is_not_claimed() {
    let mut r = Rig::offline_intake();
    to_review(&mut r);
    r.act(Intent::Submit);
    r.input(Input::Submitted(Err(ApiError::Unreachable("down".into()))));
    r.input(Input::OfflineStored(Err("disk full".into())));
    assert_eq!(r.s.screen(), Screen::Offline);
    assert!(!r.vm().submit.offline_accepted);
}

#[test]
fn registry_unreachable_the_project_name_may_be_typed() {
    let mut r = Rig::offline_intake();
    typed_identity_to_the_project_code(&mut r);
    r.input(Input::Project(
        "20264206004701000123".into(),
        Err(ApiError::Unreachable("down".into())),
    ));
    assert!(
        r.vm().apply.project_name_shown,
        "no registry: the name can be typed"
    );
    r.act(Intent::Focus(view::Field::CreditCode));
    r.typed(&credit_code());
    r.act(Intent::Focus(view::Field::ContactPhone));
    r.act(Intent::Clear);
    r.typed("13800138000");
    // Optional: the platform fills the name in on delivery when it is not typed.
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    r.act(Intent::Back);
    r.act(Intent::Focus(view::Field::ProjectName));
    r.typed("zongheloux");
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Form, "letters left without a choice");
    assert_eq!(
        r.vm().apply.project_name_typed.error,
        view::FieldError::Composing
    );
    r.act(Intent::Backspace);
    type_word(&mut r, "", &["综合楼"]);
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().apply.project_name, "综合楼");
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit { request, .. }) = fx.first().cloned() else {
        panic!("expected a submit effect, got {fx:?}");
    };
    assert_eq!(request.project.name, "综合楼");
    assert_eq!(request.applicant.name, "张建国");
}

// ---- privacy on screen and paper ----------------------------------------------------------------
