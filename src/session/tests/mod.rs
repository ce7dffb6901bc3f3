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

mod lookup;
mod pay;
mod privacy;
mod rating;
mod session;
mod staff;
mod submit;

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
                Effect::CameraScanning(_)
                    | Effect::Speak(_)
                    | Effect::StopSpeech
                    | Effect::Journey(_)
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
    /// Every journey event the session told, in order.
    events: Vec<JourneyNote>,
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
            events: Vec::new(),
        }
    }
    fn new() -> Self {
        let t = Instant::now();
        Rig {
            s: Session::new(SessionConfig::default(), t, local_now()),
            t,
            events: Vec::new(),
        }
    }
    /// Effects other than camera switching (tested on their own with the raw calls).
    fn act(&mut self, i: Intent) -> Vec<Effect> {
        without_camera(self.raw_act(i))
    }
    fn input(&mut self, i: Input) -> Vec<Effect> {
        without_camera(self.raw_input(i))
    }
    fn raw_act(&mut self, i: Intent) -> Vec<Effect> {
        self.raw_input(Input::Act(i))
    }
    fn raw_input(&mut self, i: Input) -> Vec<Effect> {
        let fx = self.s.handle(i, self.t);
        self.journal(&fx);
        fx
    }
    fn raw_advance(&mut self, secs: u64) -> Vec<Effect> {
        self.t += Duration::from_secs(secs);
        self.raw_input(Input::Tick)
    }
    fn advance(&mut self, secs: u64) -> Vec<Effect> {
        self.raw_advance(secs)
    }
    fn journal(&mut self, fx: &[Effect]) {
        self.events.extend(fx.iter().filter_map(|e| match e {
            Effect::Journey(n) => Some(n.clone()),
            _ => None,
        }));
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
    assert_eq!(r.vm().overlays.busy, Busy::LoadingItems);
    r.input(Input::Items(Ok(vec![item()])));
    assert_eq!(r.vm().overlays.busy, Busy::None);
    assert_eq!(r.vm().apply.stages.len(), 1);
    r.act(Intent::PickItem("jsgcghxkz".into()));
    assert_eq!(r.s.screen(), Screen::Materials);
    r.act(Intent::Material(
        "m2".into(),
        Some(MaterialStatus::Tolerated),
    ));
    r.act(Intent::Next);
    assert_eq!(r.s.screen(), Screen::Capture);
    assert_eq!(r.vm().apply.capture_count, 1, "only m1 is photographed");
    let fx = r.act(Intent::Shoot);
    assert_eq!(fx, vec![Effect::CaptureStill]);
    r.input(Input::Photo(Ok(still())));
    assert_eq!(r.vm().apply.capture_pages, 1);
    assert!(r.vm().apply.capture_preview.is_some());
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
        r.vm().apply.credit_code.value,
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
    r.act(Intent::Focus(view::Field::ContactPhone));
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

/// Types `letters` on the pinyin keyboard and chooses `words` in turn, paging as a person would.
fn type_word(r: &mut Rig, letters: &str, words: &[&str]) {
    r.typed(letters);
    for w in words {
        let mut pages = 0;
        loop {
            let vm = r.vm();
            if let Some(i) = vm.entry.ime.candidates.iter().position(|c| c == w) {
                r.act(Intent::Candidate(i));
                break;
            }
            assert!(
                vm.entry.ime.has_next && pages < 30,
                "{w} not offered for {}: {:?}",
                vm.entry.ime.letters,
                vm.entry.ime.candidates
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
    r.act(Intent::Focus(view::Field::ApplicantName));
    assert_eq!(r.vm().entry.ime.letters, "");
    r.typed("zhangjianguo");
    assert_eq!(
        r.vm().entry.ime.letters,
        "zhang jian guo",
        "the letters shown by syllable"
    );
    // 确定 while letters wait for a choice: said so, and the keys stay on the name.
    r.act(Intent::Done);
    assert_eq!(
        r.vm().identify.applicant_name.error,
        view::FieldError::Composing
    );
    assert_eq!(r.vm().entry.focus, view::Field::ApplicantName);
    type_word(r, "", &["张", "建国"]);
    let vm = r.vm();
    assert_eq!(vm.identify.applicant_name.value, "张建国");
    assert_eq!(vm.identify.applicant_name.error, view::FieldError::None);
    assert!(vm.identify.applicant_name.ok && vm.entry.ime.candidates.is_empty());
    r.act(Intent::Done);
    assert_eq!(
        r.vm().entry.focus,
        view::Field::Phone,
        "确定 moves on to the next field"
    );
    r.typed("13800138000");
    assert_eq!(r.act(Intent::Next), vec![Effect::LoadItems]);
    r.input(Input::Items(Ok(vec![item()])));
    assert_eq!(r.s.screen(), Screen::Items);
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
        cancelling: false,
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
    assert_eq!(vm.pay.notice_total, "12,345.00");
    assert_eq!(vm.pay.notice_total_capitals, "壹万贰仟叁佰肆拾伍元整");
    assert_eq!(vm.pay.notice_lines.len(), 2);
}

const PIN: &str = "482916";

/// [`PIN`]'s hash, made once for all the tests.
fn pin_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_pin(PIN).expect("PIN hashed"))
}

fn staff_rig() -> Rig {
    let t = Instant::now();
    let cfg = SessionConfig {
        maintenance_pin: Some(pin_hash().to_string()),
        ..SessionConfig::default()
    };
    Rig {
        s: Session::new(cfg, t, local_now()),
        t,
        events: Vec::new(),
    }
}

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
            self.seen_on.push(vm.chrome.screen);
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
    r.act(Intent::Skip);
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
    assert!(!r.vm().pay.paid_receipt_no.is_empty());
}
