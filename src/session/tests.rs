//! State-machine tests: every transition that matters, driven directly.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hall_domain::api::*;
use hall_domain::{ApprovalCode, Blzt};
use kiosk_drivers::camera::Still;
use kiosk_drivers::idcard::{CardKind, IdCard, ValidTo};
use kiosk_drivers::{DeviceEvent, DeviceKind};
use std::sync::Arc;

use super::*;

fn item() -> Item {
    Item {
        id: "jsgcghxkz".into(),
        name: "建设工程规划许可证".into(),
        name_en: "Construction Project Planning Permit".into(),
        department: "自然资源和规划局".into(),
        department_en: "Natural Resources and Planning".into(),
        stage: 2,
        time_limit_days: 10,
        instant: false,
        fee_note: None,
        materials: vec![
            Material {
                id: "m1".into(),
                name: "建设用地权属证明".into(),
                name_en: "Land-rights proof".into(),
                required: true,
                tolerable: false,
                tolerance_days: None,
                commitment_allowed: false,
            },
            Material {
                id: "m2".into(),
                name: "工程设计图纸".into(),
                name_en: "Engineering drawings".into(),
                required: true,
                tolerable: true,
                tolerance_days: Some(10),
                commitment_allowed: false,
            },
            Material {
                id: "m3".into(),
                name: "申请表".into(),
                name_en: "Application form".into(),
                required: false,
                tolerable: false,
                tolerance_days: None,
                commitment_allowed: true,
            },
        ],
    }
}

fn id_number() -> String {
    let body = "42060219580312001";
    format!("{body}{}", hall_domain::codes::id_check_char(body).unwrap())
}

fn card() -> IdCard {
    IdCard {
        kind: CardKind::Resident,
        name: "张建国".into(),
        name_en: String::new(),
        sex_code: 1,
        nation: "汉".into(),
        birth: "19580312".into(),
        address: "湖北省襄阳市樊城区".into(),
        id_number: id_number(),
        authority: "襄阳市公安局樊城分局".into(),
        valid_from: "20100101".into(),
        valid_to: ValidTo::LongTerm,
        travel_permit: String::new(),
        issue_count: String::new(),
        photo: vec![1, 2, 3],
    }
}

fn credit_code() -> String {
    let body = "91420600MA4K12345";
    format!(
        "{body}{}",
        hall_domain::codes::credit_check_char(body).unwrap()
    )
}

fn approval_code() -> ApprovalCode {
    ApprovalCode::from_parts(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), 42)
}

fn still() -> Arc<Still> {
    Arc::new(Still {
        width: 2,
        height: 1,
        rgb: vec![255; 6],
        jpeg: vec![0xFF, 0xD8, 0xFF, 0xD9],
    })
}

/// The effects a journey's test looks at: without the camera switching and the spoken prompts
/// (the voice tests use `raw_act`).
fn without_camera(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::CameraScanning(_) | Effect::Speak(_) | Effect::StopSpeech
            )
        })
        .collect()
}

/// The local time the tests' sessions are told: Monday 23 November 2026, 09:41.
fn local_now() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(9, 41, 0))
        .unwrap_or_default()
}

struct Rig {
    s: Session,
    t: Instant,
}

impl Rig {
    fn offline_intake() -> Self {
        let t = Instant::now();
        let cfg = SessionConfig {
            offline_intake: true,
            ..SessionConfig::default()
        };
        Rig {
            s: Session::new(cfg, t, local_now()),
            t,
        }
    }
    fn new() -> Self {
        let t = Instant::now();
        Rig {
            s: Session::new(SessionConfig::default(), t, local_now()),
            t,
        }
    }
    /// Effects other than camera switching (tested on their own with the raw calls).
    fn act(&mut self, i: Intent) -> Vec<Effect> {
        without_camera(self.s.handle(Input::Act(i), self.t))
    }
    fn input(&mut self, i: Input) -> Vec<Effect> {
        without_camera(self.s.handle(i, self.t))
    }
    fn raw_act(&mut self, i: Intent) -> Vec<Effect> {
        self.s.handle(Input::Act(i), self.t)
    }
    fn raw_input(&mut self, i: Input) -> Vec<Effect> {
        self.s.handle(i, self.t)
    }
    fn raw_advance(&mut self, secs: u64) -> Vec<Effect> {
        self.t += Duration::from_secs(secs);
        self.s.handle(Input::Tick, self.t)
    }
    fn advance(&mut self, secs: u64) -> Vec<Effect> {
        self.t += Duration::from_secs(secs);
        self.s.handle(Input::Tick, self.t)
    }
    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Intent::Key(c));
        }
    }
    fn vm(&self) -> ViewModel {
        self.s.view()
    }
}

/// Walks the submit journey with a card up to the review screen.
fn to_review(r: &mut Rig) {
    r.act(Intent::StartSubmit);
    assert_eq!(r.s.screen(), Screen::Identify);
    let fx = r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(fx, vec![Effect::LoadItems]);
    assert_eq!(r.s.screen(), Screen::Items);
    assert_eq!(r.vm().busy, "loading-items");
    r.input(Input::Items(Ok(vec![item()])));
    assert_eq!(r.vm().busy, "");
    assert_eq!(r.vm().stages.len(), 1);
    r.act(Intent::PickItem("jsgcghxkz".into()));
    assert_eq!(r.s.screen(), Screen::Materials);
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Capture);
    assert_eq!(r.vm().capture_count, 1, "only m1 is photographed");
    let fx = r.act(Intent::Shoot);
    assert_eq!(fx, vec![Effect::CaptureStill]);
    r.input(Input::Photo(Ok(still())));
    assert_eq!(r.vm().capture_pages, 1);
    assert!(r.vm().capture_preview.is_some());
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Form);
    r.typed("20264206004701000123");
    r.input(Input::Project(
        "20264206004701000123".into(),
        Ok(ProjectInfo {
            code: "2026-420600-47-01-000123".into(),
            name: "邻里中心项目".into(),
            construction_unit: Some(credit_code()),
        }),
    ));
    assert_eq!(
        r.vm().credit_code.value,
        credit_code(),
        "filled from the registry"
    );
    r.input(Input::Organization(
        credit_code(),
        Ok(OrganizationInfo {
            credit_code: credit_code(),
            name: "襄阳市某建设有限公司".into(),
        }),
    ));
    r.act(Intent::Focus("contact-phone".into()));
    r.typed("13800138000");
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
}

fn created() -> ApplicationCreated {
    ApplicationCreated {
        approval_code: approval_code().to_string(),
        status: Blzt::Received,
        status_text: "已接件".into(),
        item_id: "jsgcghxkz".into(),
        item_name: "建设工程规划许可证".into(),
        submitted_at: NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap(),
        due_date: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
        pending_materials: vec![PendingMaterial {
            material_id: "m2".into(),
            name: "工程设计图纸".into(),
            due_date: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
        }],
        verification_code: Some("AB12-CD34".into()),
    }
}

#[test]
fn submit_with_card_end_to_end() {
    let mut r = Rig::new();
    to_review(&mut r);
    let vm = r.vm();
    assert_eq!(vm.review_name, "张建国", "own data unmasked on review");
    assert_eq!(vm.review_id_number, id_number());
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
    assert_eq!(r.vm().busy, "submitting");
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
    assert_eq!(r.vm().receipt_state, "printing");
    assert_eq!(r.vm().approval_code_grouped, approval_code().grouped());
    r.input(Input::Printed(Ok(())));
    assert_eq!(r.vm().receipt_state, "printed");
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
    assert!(!r.vm().platform_ok);
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
        r.vm().review_problems,
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
    assert_eq!(r.vm().receipt_state, "failed");
    assert_eq!(r.vm().approval_code_grouped, approval_code().grouped());
    // Skip: back on the submitted screen, still saying it was not printed.
    r.act(Intent::Skip);
    assert_eq!(r.s.screen(), Screen::Submitted);
    assert_eq!(r.vm().receipt_state, "failed");
    // Retry prints again.
    r.act(Intent::Reprint);
    assert_eq!(r.vm().receipt_state, "printing");
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
    assert_eq!(r.vm().receipt_state, "failed");
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
    assert_eq!(r.vm().id_number.error, "check");
    r.act(Intent::Backspace);
    r.typed(&id_number()[17..]);
    assert!(r.vm().id_number.ok);
    r.act(Intent::Next);
    assert_eq!(
        r.s.screen(),
        Screen::Identify,
        "name and phone still missing"
    );
    assert_eq!(r.vm().focus, "applicant-name");
    assert_eq!(r.vm().applicant_name.error, "empty");
    assert_eq!(r.vm().phone.error, "empty");
    type_word(&mut r, "zhangsan", &["张", "三"]);
    let fx = r.act(Intent::Next);
    assert!(fx.is_empty());
    assert_eq!(r.vm().focus, "phone");
    r.typed("13800138000");
    let fx = r.act(Intent::Next);
    assert_eq!(fx, vec![Effect::LoadItems]);
    assert_eq!(r.s.screen(), Screen::Items);
}

/// Types `letters` on the pinyin keyboard and chooses `words` in turn, paging as a person would.
fn type_word(r: &mut Rig, letters: &str, words: &[&str]) {
    r.typed(letters);
    for w in words {
        let mut pages = 0;
        loop {
            let vm = r.vm();
            if let Some(i) = vm.ime.candidates.iter().position(|c| c == w) {
                r.act(Intent::Candidate(i));
                break;
            }
            assert!(
                vm.ime.has_next && pages < 30,
                "{w} not offered for {}: {:?}",
                vm.ime.letters,
                vm.ime.candidates
            );
            r.act(Intent::CandidatePage(true));
            pages += 1;
        }
    }
}

/// Identifies by typing the ID number, the name in pinyin and the phone, up to the items.
fn identify_typing(r: &mut Rig) {
    r.act(Intent::StartSubmit);
    r.act(Intent::IdentifyTyping);
    r.typed(&id_number());
    r.act(Intent::Focus("applicant-name".into()));
    assert_eq!(r.vm().ime.letters, "");
    r.typed("zhangjianguo");
    assert_eq!(
        r.vm().ime.letters,
        "zhang jian guo",
        "the letters shown by syllable"
    );
    // 确定 while letters wait for a choice: said so, and the keys stay on the name.
    r.act(Intent::Done);
    assert_eq!(r.vm().applicant_name.error, "composing");
    assert_eq!(r.vm().focus, "applicant-name");
    type_word(r, "", &["张", "建国"]);
    let vm = r.vm();
    assert_eq!(vm.applicant_name.value, "张建国");
    assert_eq!(vm.applicant_name.error, "");
    assert!(vm.applicant_name.ok && vm.ime.candidates.is_empty());
    r.act(Intent::Done);
    assert_eq!(r.vm().focus, "phone", "确定 moves on to the next field");
    r.typed("13800138000");
    assert_eq!(r.act(Intent::Next), vec![Effect::LoadItems]);
    r.input(Input::Items(Ok(vec![item()])));
    assert_eq!(r.s.screen(), Screen::Items);
}

#[test]
fn pinyin_keyboard_edits_the_name() {
    let mut r = Rig::new();
    r.act(Intent::StartSubmit);
    r.act(Intent::IdentifyTyping);
    r.act(Intent::Focus("applicant-name".into()));
    assert_eq!(r.vm().applicant_name.keypad, "pinyin");
    type_word(&mut r, "lixiu", &["李"]);
    assert_eq!(r.vm().ime.letters, "xiu");
    r.act(Intent::Backspace);
    assert_eq!(r.vm().ime.letters, "xi", "backspace takes a letter first");
    r.act(Intent::Backspace);
    r.act(Intent::Backspace);
    assert_eq!(r.vm().ime.letters, "");
    assert_eq!(r.vm().applicant_name.value, "李");
    r.act(Intent::Backspace);
    assert_eq!(r.vm().applicant_name.value, "", "then a chosen character");
    r.typed("wang");
    assert!(!r.vm().ime.has_prev);
    r.act(Intent::CandidatePage(true));
    assert!(r.vm().ime.has_prev);
    r.act(Intent::Clear);
    let vm = r.vm();
    assert_eq!(
        (vm.applicant_name.value.as_str(), vm.ime.letters.as_str()),
        ("", "")
    );
    // A card read after all: the typed name is dropped, the card's is used.
    r.typed("wang");
    r.act(Intent::Candidate(0));
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.vm().applicant_name.value, "");
}

/// A typed identity (name in pinyin) through one photographed material to the form, the project
/// code typed.
fn typed_identity_to_the_project_code(r: &mut Rig) {
    identify_typing(r);
    r.act(Intent::PickItem("jsgcghxkz".into()));
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    r.act(Intent::Next);
    r.act(Intent::Shoot);
    r.input(Input::Photo(Ok(still())));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Form);
    r.typed("20264206004701000123");
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
        !r.vm().project_name_shown,
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
    assert_eq!(r.vm().review_name, "张建国");
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
    assert!(!r.vm().project_name_shown);
    r.input(Input::Project(
        "20264206004701000123".into(),
        Err(crate::client::ApiError::NotFound),
    ));
    let vm = r.vm();
    assert_eq!(vm.project_code.error, "unknown-project");
    assert!(
        vm.project_name_shown,
        "the registry does not know it: type the name"
    );
    // Correcting the code hides the name until the registry answers again.
    r.act(Intent::Backspace);
    assert!(!r.vm().project_name_shown);
    let fx = r.act(Intent::Key('3'));
    assert_eq!(
        fx,
        vec![Effect::LookupProject("20264206004701000123".into())]
    );
    r.input(Input::Project(
        "20264206004701000123".into(),
        Err(crate::client::ApiError::NotFound),
    ));
    assert!(r.vm().project_name_shown);
    r.act(Intent::Focus("credit-code".into()));
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
    assert_eq!(r.vm().focus, "project-name");
    assert_eq!(r.vm().project_name_typed.error, "empty");
    type_word(&mut r, "laojiuxiaoqugaizao", &["老旧小区", "改造"]);
    assert_eq!(r.vm().project_name_typed.value, "老旧小区改造");
    let fx = r.act(Intent::Next);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LookupProject(_))),
        "not asked again: {fx:?}"
    );
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().project_name, "老旧小区改造");
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
    assert_eq!(r.vm().materials[0].choice, "provided");
    r.act(Intent::Material("m1".into(), None));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Materials);
    assert_eq!(r.vm().materials_error, "required-missing");
    r.act(Intent::Material(
        "m3".into(),
        Some(MaterialStatus::Committed),
    ));
    assert_eq!(r.vm().materials[2].choice, "committed");
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    assert!(
        !r.vm().materials[1].deadline.is_empty(),
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
    assert!(!r.vm().camera_ok);
    r.act(Intent::Skip);
    assert_eq!(r.s.screen(), Screen::Form);
}

#[test]
fn card_outside_identify_is_not_kept() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.s.screen(), Screen::Lookup);
    assert_eq!(r.vm().card_name_masked, "");
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
    assert!(r.vm().large_text);
    assert!(r.vm().high_contrast);
    r.advance(80);
    assert!(!r.vm().timeout_warning);
    r.advance(15);
    let vm = r.vm();
    assert!(vm.timeout_warning, "warned 25 s before the end");
    assert!(vm.timeout_seconds >= 20);
    r.act(Intent::Continue);
    assert!(!r.vm().timeout_warning, "continue extends the session");
    r.advance(100);
    let fx = r.advance(25);
    assert!(
        fx.contains(&Effect::SessionEnded { timed_out: true }),
        "{fx:?}"
    );
    let vm = r.vm();
    assert_eq!(vm.screen, Screen::Home);
    assert_eq!(vm.lang, Lang::Zh);
    assert!(!vm.large_text);
    assert!(!vm.high_contrast, "high contrast resets with the session");
    assert_eq!(vm.card_name_masked, "");
    assert!(vm.materials.is_empty());
    assert!(!r.s.in_use());
}

#[test]
fn waiting_pauses_the_timeout() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    assert_eq!(r.vm().busy, "looking-up");
    r.advance(300);
    assert_eq!(
        r.s.screen(),
        Screen::Lookup,
        "no timeout while the platform is asked"
    );
    assert!(!r.vm().timeout_warning);
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
    assert_eq!(r.vm().case_item, "");
}

fn case() -> CaseView {
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    CaseView {
        approval_code: approval_code().to_string(),
        item: "建设工程规划许可证".into(),
        item_en: "Construction Project Planning Permit".into(),
        item_id: "jsgcghxkz".into(),
        stage: 2,
        status: Blzt::DepartmentStarted,
        status_text: "部门开始办理".into(),
        submitted_at: d(11, 2).and_hms_opt(9, 0, 0).unwrap(),
        nodes: vec![
            Node {
                department: "自然资源和规划局".into(),
                department_en: "Natural Resources and Planning".into(),
                status_code: Blzt::DepartmentStarted,
                status_text: "部门开始办理".into(),
                started_at: Some(d(11, 2)),
                due_date: Some(d(11, 16)),
                time_limit_days: 10,
                finished_at: None,
                overdue: true,
                overdue_days: 4,
            },
            Node {
                department: "人防办".into(),
                department_en: "Civil Air Defence".into(),
                status_code: Blzt::Approved,
                status_text: "办结".into(),
                started_at: Some(d(11, 2)),
                due_date: Some(d(11, 16)),
                time_limit_days: 10,
                finished_at: Some(d(11, 10)),
                overdue: false,
                overdue_days: 0,
            },
        ],
        fee_notices: vec![FeeNoticeSummary {
            payment_code: "42060026110200000017".into(),
            total_fen: 1_234_500,
            status: NoticeStatus::Unpaid,
        }],
    }
}

#[test]
fn lookup_typed_with_a_typo_is_caught_before_asking() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let mut typo = approval_code().to_string();
    let c = if typo.ends_with('5') { "6" } else { "5" };
    typo.replace_range(15..16, c);
    r.typed(&typo);
    assert_eq!(r.vm().lookup_code.error, "check");
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
    assert_eq!(vm.screen, Screen::Progress);
    assert_eq!(vm.nodes.len(), 2);
    assert_eq!(vm.nodes_late, 1);
    assert_eq!(vm.nodes[0].overdue_days, 4);
    assert_eq!(
        vm.case_applicant, "",
        "who applied only after the applicant's card"
    );
    assert_eq!(vm.case_notices[0].total, "12,345.00");
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
    assert_eq!(r.vm().pay_code.value, "42060026110200000017");
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
    assert_eq!(r.vm().lookup_error, "not-found");
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
        fx.iter().all(|e| matches!(e, Effect::Speak(_))),
        "the camera stays off: {fx:?}"
    );
    // A hostile payload changes nothing.
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let fx = r.input(Input::Device(DeviceEvent::QrSeen("\u{0}DROP TABLE".into())));
    assert!(fx.is_empty());
    assert_eq!(r.vm().lookup_error, "not-a-code");
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

fn notice() -> FeeNotice {
    FeeNotice {
        payment_code: "42060026110200000017".into(),
        agency: "襄阳市自然资源和规划局".into(),
        approval_code: Some(approval_code().to_string()),
        payer: "张**".into(),
        items: vec![
            FeeLine {
                name: "城市基础设施配套费".into(),
                amount_fen: 1_000_000,
            },
            FeeLine {
                name: "人防易地建设费".into(),
                amount_fen: 234_500,
            },
        ],
        total_fen: 1_234_500,
        status: NoticeStatus::Unpaid,
        receipt_no: None,
        paid_at: None,
    }
}

fn order(status: OrderStatus) -> Order {
    Order {
        order_id: "o-1".into(),
        payment_code: "42060026110200000017".into(),
        status,
        amount_fen: 1_234_500,
        qr_payload: Some("https://pay.hall.example/q/o-1".into()),
        transaction_id: (status == OrderStatus::Paid).then(|| "T123".into()),
        receipt_no: (status == OrderStatus::Paid).then(|| "R456".into()),
        paid_at: None,
        expires_at: None,
        failure_reason: (status == OrderStatus::Failed).then(|| "余额不足".into()),
    }
}

fn to_notice(r: &mut Rig) {
    r.act(Intent::StartPay);
    r.typed("42060026110200000017");
    let fx = r.act(Intent::Next);
    assert_eq!(fx, vec![Effect::FetchNotice("42060026110200000017".into())]);
    r.input(Input::Notice(Ok(notice())));
    assert_eq!(r.s.screen(), Screen::Payment);
    let vm = r.vm();
    assert_eq!(vm.notice_total, "12,345.00");
    assert_eq!(vm.notice_total_capitals, "壹万贰仟叁佰肆拾伍元整");
    assert_eq!(vm.notice_lines.len(), 2);
}

#[test]
fn pay_by_qr_polls_until_paid_and_prints() {
    let mut r = Rig::new();
    to_notice(&mut r);
    let fx = r.act(Intent::PayQr);
    assert!(matches!(
        fx.first(),
        Some(Effect::CreateOrder {
            request: OrderRequest::Qr,
            ..
        })
    ));
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    assert_eq!(r.s.screen(), Screen::Paying);
    assert_eq!(r.vm().pay_qr_payload, "https://pay.hall.example/q/o-1");
    let fx = r.advance(1);
    assert_eq!(fx, vec![Effect::PollOrder("o-1".into())]);
    assert!(r.advance(1).is_empty(), "polls every 2 s, not every tick");
    let fx = r.advance(1);
    assert_eq!(fx, vec![Effect::PollOrder("o-1".into())]);
    // The person is at the phone: no timeout while a payment is pending.
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    for _ in 0..50 {
        r.advance(2);
    }
    assert_eq!(r.s.screen(), Screen::Paying);
    let fx = r.input(Input::Order(Ok(order(OrderStatus::Paid))));
    assert_eq!(r.s.screen(), Screen::Paid);
    let Some(Effect::Print(receipt)) = fx.first() else {
        panic!("expected the payment receipt");
    };
    let Receipt::Payment(p) = receipt.as_ref() else {
        panic!("expected a payment receipt");
    };
    assert_eq!(p.total_fen, 1_234_500);
    assert_eq!(p.receipt_no, "R456");
}

#[test]
fn scanned_wallet_code_that_never_confirms_is_cancelled() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayScan);
    assert_eq!(r.s.screen(), Screen::Paying);
    // Not a wallet code: told, nothing sent.
    let fx = r.input(Input::Device(DeviceEvent::Scanned("12345".into())));
    assert!(fx.is_empty());
    assert_eq!(r.vm().pay_error, "not-a-wallet-code");
    let fx = r.input(Input::Device(DeviceEvent::Scanned(
        "134567890123459999".into(),
    )));
    assert!(matches!(
        fx.first(),
        Some(Effect::CreateOrder {
            request: OrderRequest::Scan { .. },
            ..
        })
    ));
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    // The wallet's window: counted down, never offered for extension, reversed at 30 s.
    let mut cancelled_at = None;
    for step in 1..=40 {
        let fx = r.advance(1);
        assert!(!r.vm().pay_time_warning, "no more time for a scanned code");
        r.act(Intent::MoreTime);
        if fx.contains(&Effect::CancelOrder("o-1".into())) {
            cancelled_at = Some(step);
            break;
        }
    }
    let at = cancelled_at.expect("cancelled");
    assert!(
        (29..=32).contains(&at),
        "cancelled after about 30 s, not {at}"
    );
    r.input(Input::Order(Ok(order(OrderStatus::Cancelled))));
    assert_eq!(r.s.screen(), Screen::PayFailed);
    assert_eq!(r.vm().pay_failure, "cancelled");
    r.act(Intent::Retry);
    assert_eq!(r.s.screen(), Screen::Payment);
}

/// The payer's time warns at least 20 s ahead (spoken too), can be extended three times, and
/// the order is withdrawn only when the time is up.
#[test]
fn the_payers_time_warns_and_can_be_extended() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    r.advance(1);
    assert_eq!(r.vm().pay_seconds_left, 120);
    assert!(!r.vm().pay_time_warning);
    // More time is not taken before it is offered.
    r.act(Intent::MoreTime);
    let fx = r.raw_advance(90);
    assert_eq!(r.vm().pay_seconds_left, 30);
    assert!(r.vm().pay_time_warning, "warned 30 s ahead");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Speak(s) if s.prompt == "pay-timeout")),
        "the warning is spoken: {fx:?}"
    );
    for extension in 1..=pay::MAX_EXTENSIONS {
        r.act(Intent::MoreTime);
        assert!(!r.vm().pay_time_warning);
        r.advance(1);
        let left = r.vm().pay_seconds_left;
        assert_eq!(left, 149, "a whole period more");
        // Up to the next warning.
        let fx = r.advance((left - 30) as u64);
        assert!(!fx.contains(&Effect::CancelOrder("o-1".into())));
        assert_eq!(r.vm().pay_seconds_left, 30);
        assert_eq!(r.vm().pay_time_warning, extension < pay::MAX_EXTENSIONS);
    }
    // No more extensions: the last 30 s run out and the order is withdrawn.
    r.act(Intent::MoreTime);
    assert!(!r.advance(29).contains(&Effect::CancelOrder("o-1".into())));
    assert!(r.advance(1).contains(&Effect::CancelOrder("o-1".into())));
    assert_eq!(
        r.s.screen(),
        Screen::Paying,
        "the screen waits for the withdrawal"
    );
}

#[test]
fn failed_payment_says_why() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayScan);
    r.input(Input::Device(DeviceEvent::Scanned(
        "134567890123450000".into(),
    )));
    r.input(Input::Order(Ok(order(OrderStatus::Failed))));
    assert_eq!(r.s.screen(), Screen::PayFailed);
    assert_eq!(r.vm().pay_failure_detail, "余额不足");
}

#[test]
fn finishing_during_a_payment_cancels_it() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::CancelOrder("o-1".into())));
    assert_eq!(r.s.screen(), Screen::Home);
}

#[test]
fn paid_notice_is_not_paid_again() {
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed("42060026110200000017");
    r.act(Intent::Next);
    let mut n = notice();
    n.status = NoticeStatus::Paid;
    r.input(Input::Notice(Ok(n)));
    assert_eq!(r.s.screen(), Screen::PayEntry);
    assert_eq!(r.vm().pay_error, "already-paid");
}

#[test]
fn pay_by_approval_code_finds_the_unpaid_notice() {
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed(approval_code().as_str());
    let fx = r.act(Intent::Next);
    assert_eq!(fx, vec![Effect::LookupCase(approval_code().to_string())]);
    let fx = r.input(Input::Case(Ok(case())));
    assert_eq!(fx, vec![Effect::FetchNotice("42060026110200000017".into())]);
    let mut no_fee = case();
    no_fee.fee_notices.clear();
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Ok(no_fee)));
    assert_eq!(r.vm().pay_error, "no-fee");
}

#[test]
fn help_keeps_the_session() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    let fx = r.input(Input::Device(DeviceEvent::HelpButton));
    assert_eq!(fx, vec![Effect::RequestHelp]);
    assert!(r.vm().help_shown);
    r.advance(600);
    assert_eq!(
        r.s.screen(),
        Screen::Lookup,
        "no timeout while staff are coming"
    );
    r.act(Intent::HelpClose);
    assert!(!r.vm().help_shown);
}

#[test]
fn language_and_text_size_only_change_on_home() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::Large(true));
    assert_eq!(
        r.vm().lang,
        Lang::Zh,
        "the switches are on the home screen only"
    );
    assert!(!r.vm().large_text);
    r.act(Intent::Back);
    assert!(r.act(Intent::Lang(Lang::En)).is_empty());
    r.act(Intent::Large(true));
    r.act(Intent::HighContrast(true));
    assert!(r.vm().large_text);
    assert!(r.vm().high_contrast);
    assert_eq!(r.vm().lang, Lang::En);
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert_eq!(r.vm().lang, Lang::Zh);
    assert!(!r.vm().large_text);
    assert!(!r.vm().high_contrast);
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
    assert!(vm.offline_accepted);
    assert_eq!(vm.approval_code, local_reference);
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
    assert!(!r.vm().offline_accepted);
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
    assert_eq!((r.vm().voice_volume, r.vm().voice_rate), (5, 1));
    let fx = r.raw_act(Intent::Finish);
    assert!(fx.contains(&Effect::StopSpeech), "speech stops at the end");
    assert_eq!(
        (r.vm().voice_volume, r.vm().voice_rate),
        (i32::from(super::VOICE_VOLUME), i32::from(super::VOICE_RATE))
    );
}

/// While a prompt sounds the screen offers to stop it; stopping silences it at once, and a
/// new session starts quiet.
#[test]
fn a_sounding_prompt_can_be_stopped_from_the_screen() {
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    assert!(!r.vm().speaking);
    r.advance(10);
    let idle_before = r.vm().timeout_seconds;
    r.raw_input(Input::Speaking(true));
    assert!(r.vm().speaking);
    assert_eq!(r.vm().timeout_seconds, idle_before, "sound is not a touch");
    let fx = r.raw_act(Intent::Quiet);
    assert_eq!(fx, vec![Effect::StopSpeech]);
    assert!(!r.vm().speaking);
    r.raw_input(Input::Speaking(true));
    r.act(Intent::Finish);
    assert!(
        !r.vm().speaking,
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

const PIN: &str = "482916";

fn staff_rig() -> Rig {
    let t = Instant::now();
    let cfg = SessionConfig {
        maintenance_pin_sha256: Some(hash_pin(PIN)),
        ..SessionConfig::default()
    };
    Rig {
        s: Session::new(cfg, t, local_now()),
        t,
    }
}

#[test]
fn pin_hash_is_the_hex_sha256_of_the_digits() {
    // printf %s 123456 | sha256sum
    assert_eq!(
        hash_pin("123456"),
        "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
    );
}

#[test]
fn the_right_pin_opens_maintenance_and_leaving_forgets_it() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    assert!(r.vm().pin_shown);
    r.typed(PIN);
    assert_eq!(r.vm().pin_digits, PIN.len() as i32);
    r.act(Intent::Backspace);
    r.act(Intent::Key(PIN.chars().last().unwrap()));
    let fx = r.act(Intent::Next);
    assert_eq!(
        fx,
        vec![Effect::HelpAnswered],
        "staff at the kiosk answer its help request"
    );
    let vm = r.vm();
    assert_eq!(vm.screen, Screen::Maintenance);
    assert!(!vm.pin_shown);
    assert_eq!(vm.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(vm.kiosk_id, "kiosk-01");
    assert!(r.s.in_use(), "a help-desk restart waits for the staff");

    // leaving returns home; opening again asks for the PIN again
    r.act(Intent::Back);
    assert_eq!(r.vm().screen, Screen::Home);
    r.act(Intent::Staff);
    assert_eq!(r.vm().pin_digits, 0);
    r.act(Intent::Next);
    assert!(r.vm().pin_shown, "an empty PIN opens nothing");
    assert_eq!(r.vm().screen, Screen::Home);
}

#[test]
fn no_configured_pin_no_pad() {
    let mut r = Rig::new();
    r.act(Intent::Staff);
    assert!(!r.vm().pin_shown);
}

#[test]
fn three_wrong_pins_lock_the_pad_for_a_minute() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    for n in 1..=3 {
        r.typed("111111");
        r.act(Intent::Next);
        let vm = r.vm();
        assert!(vm.pin_wrong, "wrong PIN {n} is said");
        assert_eq!(vm.pin_digits, 0);
        assert_eq!(vm.screen, Screen::Home);
    }
    assert_eq!(r.vm().pin_locked_seconds, 60);
    // locked: even the right PIN does not open
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().screen, Screen::Home);
    // the lockout outlives the pad (closing and opening it again)
    r.act(Intent::Back);
    assert!(!r.vm().pin_shown);
    r.advance(30);
    r.act(Intent::Staff);
    assert_eq!(r.vm().pin_locked_seconds, 30);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().screen, Screen::Home);
    r.advance(31);
    assert_eq!(r.vm().pin_locked_seconds, 0);
    r.act(Intent::Clear);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().screen, Screen::Maintenance);
}

#[test]
fn maintenance_effects_and_device_checks() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.act(Intent::TestPrint), vec![Effect::TestPrint]);
    assert_eq!(r.vm().maint_note, "printing");
    r.input(Input::Printed(Err("out of paper".into())));
    assert_eq!(r.vm().maint_note, "print-failed");
    assert_eq!(
        r.vm().screen,
        Screen::Maintenance,
        "no error screen for staff"
    );
    r.act(Intent::TestPrint);
    r.input(Input::Printed(Ok(())));
    assert_eq!(r.vm().maint_note, "printed");
    assert_eq!(r.act(Intent::PaperReplaced), vec![Effect::PaperReplaced]);

    // a card and a scan are tested here, not taken into a journey; the card is masked
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    let vm = r.vm();
    assert!(!vm.maint_card.contains("张建国"), "{}", vm.maint_card);
    assert!(vm.maint_card.ends_with("0011"), "{}", vm.maint_card);
    assert!(!vm.maint_card.contains(&id_number()[..14]));
    r.input(Input::Device(DeviceEvent::Scanned(
        "2026110200000118".into(),
    )));
    assert_eq!(r.vm().maint_scan, "2026110200000118");
    assert_eq!(r.vm().screen, Screen::Maintenance);

    // the camera: a picture shown, or a failure said; nothing of it outlives maintenance
    assert_eq!(r.act(Intent::Shoot), vec![Effect::CaptureStill]);
    assert_eq!(r.vm().maint_note, "capturing");
    r.input(Input::Photo(Err("no frame".into())));
    assert_eq!(r.vm().maint_note, "photo-failed");
    assert!(r.vm().capture_preview.is_none());
    r.act(Intent::Shoot);
    r.input(Input::Photo(Ok(still())));
    assert_eq!(r.vm().maint_note, "photo");
    assert!(r.vm().capture_preview.is_some());

    assert_eq!(r.act(Intent::Restart), vec![Effect::RestartApp]);
    r.act(Intent::Back);
    assert!(r.vm().capture_preview.is_none());
}

#[test]
fn idle_maintenance_and_pin_pad_return_home() {
    let mut r = staff_rig();
    r.act(Intent::Staff);
    r.typed("48");
    r.advance(121);
    let vm = r.vm();
    assert!(!vm.pin_shown, "the pad closes when left alone");
    assert_eq!(vm.pin_digits, 0);

    r.act(Intent::Staff);
    r.typed(PIN);
    r.act(Intent::Next);
    assert_eq!(r.vm().screen, Screen::Maintenance);
    let fx = r.advance(121);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: true }));
    assert_eq!(r.vm().screen, Screen::Home);
    r.act(Intent::Staff);
    assert!(r.vm().pin_shown, "the PIN is asked again");
}

#[test]
fn identify_shows_the_kiosk_id_until_touched_or_a_minute_passed() {
    let mut r = Rig::new();
    assert_eq!(r.vm().identify_id, "");
    r.s.identify(r.t + Duration::from_secs(60));
    assert_eq!(r.vm().identify_id, "kiosk-01");
    r.advance(59);
    assert_eq!(r.vm().identify_id, "kiosk-01");
    r.advance(1);
    assert_eq!(r.vm().identify_id, "");

    r.s.identify(r.t + Duration::from_secs(60));
    r.act(Intent::IdentifyClose);
    assert_eq!(r.vm().identify_id, "");
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
        r.vm().project_name_shown,
        "no registry: the name can be typed"
    );
    r.act(Intent::Focus("credit-code".into()));
    r.typed(&credit_code());
    r.act(Intent::Focus("contact-phone".into()));
    r.act(Intent::Clear);
    r.typed("13800138000");
    // Optional: the platform fills the name in on delivery when it is not typed.
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    r.act(Intent::Back);
    r.act(Intent::Focus("project-name".into()));
    r.typed("zongheloux");
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Form, "letters left without a choice");
    assert_eq!(r.vm().project_name_typed.error, "composing");
    r.act(Intent::Backspace);
    type_word(&mut r, "", &["综合楼"]);
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().project_name, "综合楼");
    let fx = r.act(Intent::Submit);
    let Some(Effect::Submit { request, .. }) = fx.first().cloned() else {
        panic!("expected a submit effect, got {fx:?}");
    };
    assert_eq!(request.project.name, "综合楼");
    assert_eq!(request.applicant.name, "张建国");
}

// ---- privacy on screen and paper ----------------------------------------------------------------

/// The case's details as the platform gives them to the applicant's card.
fn details() -> CaseDetails {
    CaseDetails {
        case: case(),
        applicant: hall_domain::codes::mask_name("张建国"),
        project_name: "邻里中心项目".into(),
        project_code: "2026-420600-47-01-000123".into(),
        opinions: vec![NodeOpinion {
            node: 0,
            department: "自然资源和规划局".into(),
            opinion: "请补充总平面图".into(),
        }],
    }
}

/// Watches every view model and every printed receipt of a session for the card holder's full
/// name and ID number.
struct Watch {
    /// The screens on which the full name or number was seen.
    seen_on: Vec<Screen>,
    receipts: usize,
}

impl Watch {
    fn new() -> Self {
        Watch {
            seen_on: Vec::new(),
            receipts: 0,
        }
    }

    fn look(&mut self, r: &Rig, fx: &[Effect]) {
        let vm = r.vm();
        // Every string of the view model, through its Debug form.
        let all = format!("{vm:?}");
        if all.contains("张建国") || all.contains(&id_number()) || all.contains("19580312") {
            self.seen_on.push(vm.screen);
        }
        for e in fx {
            if let Effect::Print(receipt) = e {
                self.receipts += 1;
                for paper in [
                    kiosk_drivers::printer::escpos::Paper::Mm58,
                    kiosk_drivers::printer::escpos::Paper::Mm80,
                ] {
                    let bytes = crate::devices::receipt_bytes(receipt, paper, None);
                    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
                    assert!(!text.contains("张建国"), "full name printed: {text}");
                    assert!(!text.contains(&id_number()), "ID number printed: {text}");
                    assert!(!text.contains("19580312"), "birth date printed: {text}");
                }
            }
            // Nothing personal in what the runtime may log of an effect either, except the
            // submission itself, which carries the applicant to the platform.
            if !matches!(e, Effect::Submit { .. }) {
                let logged = format!("{e:?}");
                assert!(!logged.contains(&id_number()), "{logged}");
                assert!(!logged.contains("张建国"), "{logged}");
            }
        }
    }
}

/// Drives the rig and watches each step.
fn step(r: &mut Rig, w: &mut Watch, input: Input) -> Vec<Effect> {
    let fx = r.s.handle(input, r.t);
    w.look(r, &fx);
    fx
}

#[test]
fn full_name_and_id_number_only_on_the_review_of_ones_own_submission() {
    let mut r = Rig::new();
    let mut w = Watch::new();
    let act = |r: &mut Rig, w: &mut Watch, i: Intent| step(r, w, Input::Act(i));

    // A whole submission with the card.
    act(&mut r, &mut w, Intent::StartSubmit);
    step(&mut r, &mut w, Input::Device(DeviceEvent::CardRead(card())));
    assert_eq!(r.vm().card_name_masked, "张**");
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
    act(&mut r, &mut w, Intent::Focus("contact-phone".into()));
    for c in "13800138000".chars() {
        act(&mut r, &mut w, Intent::Key(c));
    }
    act(&mut r, &mut w, Intent::Next);
    assert_eq!(r.s.screen(), Screen::Review);
    assert_eq!(r.vm().review_name, "张建国");
    act(&mut r, &mut w, Intent::Submit);
    step(&mut r, &mut w, Input::Submitted(Ok(created())));
    assert_eq!(r.s.screen(), Screen::Submitted);
    step(&mut r, &mut w, Input::Printed(Ok(())));
    act(&mut r, &mut w, Intent::Reprint);
    step(&mut r, &mut w, Input::Printed(Ok(())));
    act(&mut r, &mut w, Intent::Finish);
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
    assert_eq!(r.vm().case_applicant, "张**");
    assert_eq!(r.vm().case_project, "邻里中心项目");
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
    assert_eq!(vm.case_card, "");
    assert_eq!(
        (vm.case_applicant.as_str(), vm.case_project.as_str()),
        ("", "")
    );
    assert!(vm.nodes.iter().all(|n| n.opinion.is_empty()));
    // Someone else's card: refused, nothing more shown, the status stays.
    let fx = r.input(Input::Device(DeviceEvent::CardRead(card())));
    assert!(
        matches!(fx.as_slice(), [Effect::CaseDetails { .. }]),
        "{fx:?}"
    );
    assert_eq!(r.vm().busy, "checking-card");
    let refused = ApiError::Refused(Problem {
        kind: "https://platform.hall.example/problems/forbidden".into(),
        title: "Forbidden".into(),
        status: 403,
        detail: None,
        errors: Vec::new(),
    });
    r.input(Input::Details(Err(refused)));
    let vm = r.vm();
    assert_eq!(vm.screen, Screen::Progress);
    assert_eq!(vm.case_card, "not-applicant");
    assert_eq!(vm.case_applicant, "");
    assert!(vm.nodes.iter().all(|n| n.opinion.is_empty()));
    assert_eq!(vm.nodes.len(), 2);
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
    assert_eq!(r.vm().case_card, "limited");
    // The applicant's card: the details, opinions by node.
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Details(Ok(details())));
    let vm = r.vm();
    assert_eq!(vm.case_card, "shown");
    assert_eq!(vm.case_applicant, "张**");
    assert_eq!(vm.nodes[0].opinion, "请补充总平面图");
    assert_eq!(vm.nodes[1].opinion, "");
    // Back to the code: the details go; another case is checked with the same card at once.
    r.act(Intent::Back);
    assert_eq!(r.vm().case_applicant, "");
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
    assert_eq!(r.vm().busy, "finding-cases");
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
    assert_eq!(vm.my_cases_state, "listed");
    assert_eq!(vm.my_cases[0].code_grouped, approval_code().grouped());
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
    assert_eq!(r.vm().case_card, "shown");
    assert_eq!(r.vm().case_project, "邻里中心项目");
    // Back to the list, back to typing, back home.
    r.act(Intent::Back);
    assert_eq!(r.vm().my_cases_state, "listed");
    r.act(Intent::Back);
    assert_eq!(
        (r.s.screen(), r.vm().my_cases_state.as_str()),
        (Screen::Lookup, "")
    );
    // No cases, or too many lists: said, and typing the code still works.
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::MyCases(Ok(Vec::new())));
    assert_eq!(r.vm().my_cases_state, "none");
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::MyCases(Err(ApiError::Refused(Problem {
        kind: "https://platform.hall.example/problems/too-many-attempts".into(),
        title: "Too many attempts".into(),
        status: 429,
        detail: None,
        errors: Vec::new(),
    }))));
    assert_eq!(r.vm().my_cases_state, "limited");
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
    let fx = r.raw_act(Intent::Finish);
    assert!(fx.contains(&Effect::SessionEnded { timed_out: false }));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Speak(s) if s.prompt == "take-card-receipt" && s.lang == Lang::En)),
        "{fx:?}"
    );
    let vm = r.vm();
    assert_eq!(vm.screen, Screen::Home);
    assert_eq!(vm.take_reminder, "card-receipt");
    assert_eq!((vm.lang, vm.large_text), (Lang::En, true));
    assert!(
        !r.s.in_use(),
        "the session is over: the reminder holds nothing of it"
    );
    // The card still on the reader keeps it past the usual time...
    r.advance(REMINDER.as_secs() + 1);
    assert_eq!(r.vm().take_reminder, "card-receipt");
    // ...until it is taken.
    r.input(Input::Device(DeviceEvent::CardRemoved));
    assert_eq!(r.vm().take_reminder, "receipt");
    r.advance(1);
    assert_eq!(r.vm().take_reminder, "", "the usual time has passed");
    assert_eq!(r.vm().lang, Lang::Zh);

    // A reader that cannot tell: the usual time.
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Finish);
    assert_eq!(r.vm().take_reminder, "card");
    r.advance(REMINDER.as_secs());
    assert_eq!(r.vm().take_reminder, "");
    // A card forgotten on the reader does not hold the screen forever.
    let mut r = Rig::new();
    to_review(&mut r);
    r.input(Input::Device(DeviceEvent::CardStays));
    r.act(Intent::Finish);
    assert_eq!(r.vm().take_reminder, "card");
    r.advance(REMINDER_CARD_MAX.as_secs() + 1);
    assert_eq!(r.vm().take_reminder, "");
    // A touch closes it at once, and the next person can start.
    let mut r = Rig::new();
    to_review(&mut r);
    r.act(Intent::Finish);
    r.act(Intent::StartLookup);
    assert_eq!(r.vm().take_reminder, "");
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
    assert_eq!(r.vm().take_reminder, "receipt");
    assert_eq!(r.s.screen(), Screen::Progress);
    r.advance(REMINDER.as_secs());
    assert_eq!(r.vm().take_reminder, "");
    // Nothing read, nothing printed: no reminder.
    let mut r = Rig::new();
    r.act(Intent::StartLookup);
    r.act(Intent::Finish);
    assert_eq!(r.vm().take_reminder, "");
    // A timeout: the person has gone; the screen is left free.
    let mut r = Rig::new();
    to_review(&mut r);
    r.advance(200);
    assert_eq!(r.s.screen(), Screen::Home);
    assert_eq!(r.vm().take_reminder, "");
}

/// A whole session of every journey, in English with large text and high contrast, on the
/// rig's session.
fn busy_session(r: &mut Rig) {
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::Large(true));
    r.act(Intent::HighContrast(true));
    to_review(r);
    r.act(Intent::Submit);
    r.input(Input::Submitted(Ok(created())));
    r.input(Input::Printed(Ok(())));
    r.act(Intent::Finish);
    r.act(Intent::DismissReminder);
    r.act(Intent::Lang(Lang::En));
    r.act(Intent::StartLookup);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Ok(case())));
    r.input(Input::Device(DeviceEvent::CardRead(card())));
    r.input(Input::Details(Ok(details())));
    r.act(Intent::PayNotice("42060026110200000017".into()));
    r.act(Intent::Next);
    r.input(Input::Notice(Ok(notice())));
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    r.input(Input::Order(Ok(order(OrderStatus::Paid))));
    r.input(Input::Printed(Ok(())));
    assert_eq!(r.s.screen(), Screen::Paid);
    assert!(!r.vm().paid_receipt_no.is_empty());
}

#[test]
fn nothing_of_a_session_is_left_for_the_next() {
    let fresh = Rig::new().vm();
    // Finished (the reminder taken away by a touch).
    let mut r = Rig::new();
    busy_session(&mut r);
    r.act(Intent::Finish);
    let reminder = r.vm();
    assert_eq!(reminder.take_reminder, "card-receipt");
    let all = format!("{reminder:?}");
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
    assert_eq!(reminder.capture_preview, None);
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
    assert_eq!(vm.lookup_code.value, "");
    assert_eq!((vm.case_item.as_str(), vm.case_card.as_str()), ("", ""));
    r.act(Intent::Back);
    r.act(Intent::StartPay);
    assert_eq!(r.vm().pay_code.value, "");
}
