//! The demo data of the screenshots: the session walked to each screen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{Datelike, NaiveDate};

use hall_domain::api::*;
use hall_domain::{ApprovalCode, Blzt};
use kiosk_drivers::DeviceEvent;
use kiosk_drivers::camera::Still;

use super::SCREENS;
use crate::client::ApiError;
use crate::session::view::Field;
use crate::session::{Input, Intent, Lang, Session, SessionConfig, ViewModel};

/// The staff PIN of the demo kiosk's maintenance screen.
const DEMO_PIN: &str = "246810";

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn demo_code(serial: u32) -> ApprovalCode {
    ApprovalCode::from_parts(
        NaiveDate::from_ymd_opt(today().year(), 11, 2).unwrap_or_else(today),
        serial,
    )
}

fn demo_case() -> CaseView {
    let cal = hall_domain::Calendar::built_in();
    let started = cal.add_working_days(today() - chrono::Days::new(40), 0);
    let node = |dept: &str, en: &str, status: Blzt, limit: u32, late: u32| {
        let due = cal.add_working_days(started, limit);
        Node {
            department: dept.into(),
            department_en: en.into(),
            status_code: status,
            status_text: status.zh().into(),
            started_at: Some(started),
            due_date: Some(due),
            time_limit_days: limit,
            finished_at: status.is_final().then_some(due),
            overdue: late > 0,
            overdue_days: late,
        }
    };
    CaseView {
        approval_code: demo_code(17).to_string(),
        item: "建设工程规划许可证".into(),
        item_en: "Construction Project Planning Permit".into(),
        item_id: "jsgcghxkz".into(),
        stage: 2,
        status: Blzt::DepartmentStarted,
        status_text: Blzt::DepartmentStarted.zh().into(),
        submitted_at: started.and_hms_opt(9, 12, 0).unwrap_or_default(),
        nodes: vec![
            node(
                "自然资源和规划局",
                "Natural Resources and Planning",
                Blzt::DepartmentStarted,
                10,
                4,
            ),
            node("人防办", "Civil Air Defence Office", Blzt::Approved, 10, 0),
            node(
                "住房和城乡建设局",
                "Housing and Urban-Rural Development",
                Blzt::Accepted,
                15,
                0,
            ),
        ],
        fee_notices: vec![FeeNoticeSummary {
            payment_code: "42060026110200000017".into(),
            total_fen: 1_234_500,
            status: NoticeStatus::Unpaid,
        }],
    }
}

/// The demo case as its applicant's card shows it.
fn demo_details() -> CaseDetails {
    CaseDetails {
        case: demo_case(),
        applicant: "张**".into(),
        project_name: "襄阳市东津新区邻里中心项目".into(),
        project_code: "2026-420600-47-01-000123".into(),
        opinions: vec![NodeOpinion {
            node: 0,
            department: "自然资源和规划局".into(),
            opinion: "请补充总平面图（1:500）和日照分析报告".into(),
        }],
    }
}

fn demo_notice() -> FeeNotice {
    FeeNotice {
        payment_code: "42060026110200000017".into(),
        agency: "襄阳市自然资源和规划局".into(),
        approval_code: Some(demo_code(17).to_string()),
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

fn demo_order(status: OrderStatus) -> Order {
    Order {
        order_id: "demo-order".into(),
        payment_code: "42060026110200000017".into(),
        status,
        amount_fen: 1_234_500,
        qr_payload: Some("https://pay.hall.example/q/demo-order".into()),
        transaction_id: Some("4200002611221234567890".into()),
        receipt_no: Some("EP2026112200001".into()),
        paid_at: Some(chrono::Local::now().naive_local()),
        expires_at: None,
        failure_reason: (status == OrderStatus::Failed).then(|| "余额不足".into()),
        cancelling: false,
    }
}

fn demo_still() -> Arc<Still> {
    let mut cam = kiosk_drivers::sim::SimCamera::default();
    match kiosk_drivers::camera::Camera::capture_still(&mut cam) {
        Ok(s) => Arc::new(s),
        Err(_) => Arc::new(Still {
            width: 4,
            height: 3,
            rgb: vec![250; 36],
            jpeg: Vec::new(),
        }),
    }
}

/// The display modes a person can switch on at the home screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modes {
    pub large: bool,
    pub high_contrast: bool,
}

/// The session walked to `screen`, and its view model.
pub fn demo_view(screen: &str, lang: Lang, large: bool) -> anyhow::Result<ViewModel> {
    demo_view_with(
        screen,
        lang,
        Modes {
            large,
            high_contrast: false,
        },
    )
}

/// The session walked to `screen` with these display modes, and its view model.
pub fn demo_view_with(screen: &str, lang: Lang, modes: Modes) -> anyhow::Result<ViewModel> {
    if !SCREENS.contains(&screen) {
        bail!("unknown screen {screen:?}; one of: {}", SCREENS.join(", "));
    }
    let mut t = Instant::now();
    let cfg = SessionConfig {
        offline_intake: true,
        maintenance_pin: crate::session::hash_pin(DEMO_PIN).ok(),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg, t, chrono::Local::now().naive_local());
    let feed = move |s: &mut Session, i: Input| {
        s.handle(i, t);
    };
    let act = move |s: &mut Session, i: Intent| {
        s.handle(Input::Act(i), t);
    };
    act(&mut s, Intent::Lang(lang));
    act(&mut s, Intent::Large(modes.large));
    act(&mut s, Intent::HighContrast(modes.high_contrast));
    let items: Vec<Item> = hall_platform::catalogue::built_in()
        .map(|c| c.into_iter().map(|c| c.item).collect())
        .unwrap_or_default();
    let item_id = items
        .iter()
        .find(|i| i.materials.iter().any(|m| m.tolerable))
        .or(items.first())
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let project_code = hall_platform::demo::PROJECT_CODE;
    let credit = hall_platform::demo::CREDIT_CODE;

    let submit_steps = [
        "identify",
        "identify-invalid-card",
        "identify-name",
        "identify-name-composing",
        "form-project-name",
        "items",
        "materials",
        "capture",
        "form",
        "review",
        "submitted",
        "printer-error",
        "camera-error",
        "submitted-offline",
        "timeout",
    ];
    if submit_steps.contains(&screen) {
        act(&mut s, Intent::StartSubmit);
        if screen == "identify" {
            return Ok(s.view());
        }
        if screen == "identify-invalid-card" {
            // A resident card whose number fails its check digit (the last digit changed).
            let mut card = kiosk_drivers::sim::demo_card();
            let last = card.id_number.pop().unwrap_or('0');
            card.id_number.push(if last == '1' { '2' } else { '1' });
            feed(&mut s, Input::Device(DeviceEvent::CardRead(card)));
            return Ok(s.view());
        }
        if screen.starts_with("identify-name") {
            act(&mut s, Intent::IdentifyTyping);
            for c in hall_platform::demo::APPLICANT_ID.chars() {
                act(&mut s, Intent::Key(c));
            }
            act(&mut s, Intent::Focus(Field::ApplicantName));
            if screen == "identify-name-composing" {
                for c in "zhangjianguo".chars() {
                    act(&mut s, Intent::Key(c));
                }
            }
            return Ok(s.view());
        }
        if screen == "camera-error" {
            feed(
                &mut s,
                Input::Device(DeviceEvent::Health(
                    kiosk_drivers::DeviceKind::Camera,
                    kiosk_drivers::Health::Absent("not connected".into()),
                )),
            );
        }
        feed(
            &mut s,
            Input::Device(DeviceEvent::CardRead(kiosk_drivers::sim::demo_card())),
        );
        feed(&mut s, Input::Items(Ok(items.clone())));
        if screen == "items" {
            return Ok(s.view());
        }
        act(&mut s, Intent::PickItem(item_id.clone()));
        if let Some(m) = items
            .iter()
            .find(|i| i.id == item_id)
            .and_then(|i| i.materials.iter().find(|m| m.tolerable && m.required))
        {
            act(
                &mut s,
                Intent::Material(m.id.clone(), Some(MaterialStatus::Tolerated)),
            );
        }
        if screen == "materials" {
            return Ok(s.view());
        }
        act(&mut s, Intent::Next);
        if screen == "camera-error" {
            return Ok(s.view());
        }
        act(&mut s, Intent::Shoot);
        feed(&mut s, Input::Photo(Ok(demo_still())));
        act(&mut s, Intent::Shoot);
        feed(&mut s, Input::Photo(Ok(demo_still())));
        if screen == "capture" {
            return Ok(s.view());
        }
        while s.screen() == crate::session::Screen::Capture {
            act(&mut s, Intent::Shoot);
            feed(&mut s, Input::Photo(Ok(demo_still())));
            act(&mut s, Intent::NextMaterial);
        }
        for c in project_code.chars() {
            act(&mut s, Intent::Key(c));
        }
        let digits: String = project_code
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect();
        if screen == "form-project-name" {
            feed(&mut s, Input::Project(digits, Err(ApiError::NotFound)));
            act(&mut s, Intent::Focus(Field::ProjectName));
            for c in "xinqu".chars() {
                act(&mut s, Intent::Key(c));
            }
            act(&mut s, Intent::Candidate(0));
            for c in "zhuzhaixiaoqu".chars() {
                act(&mut s, Intent::Key(c));
            }
            return Ok(s.view());
        }
        feed(
            &mut s,
            Input::Project(
                digits,
                Ok(ProjectInfo {
                    code: project_code.into(),
                    name: "襄阳市东津新区邻里中心项目".into(),
                    construction_unit: Some(credit.into()),
                }),
            ),
        );
        feed(
            &mut s,
            Input::Organization(
                credit.into(),
                Ok(OrganizationInfo {
                    credit_code: credit.into(),
                    name: "襄阳东津城市建设投资有限公司".into(),
                }),
            ),
        );
        act(&mut s, Intent::Focus(Field::ContactPhone));
        for c in "1380013800".chars() {
            act(&mut s, Intent::Key(c));
        }
        if screen == "form" {
            return Ok(s.view());
        }
        act(&mut s, Intent::Key('0'));
        act(&mut s, Intent::Next);
        if screen == "review" {
            return Ok(s.view());
        }
        if screen == "timeout" {
            t += Duration::from_secs(95);
            s.handle(Input::Tick, t);
            return Ok(s.view());
        }
        act(&mut s, Intent::Submit);
        if screen == "submitted-offline" {
            feed(
                &mut s,
                Input::Submitted(Err(ApiError::Unreachable("connection refused".into()))),
            );
            feed(&mut s, Input::OfflineStored(Ok(())));
            feed(&mut s, Input::Printed(Ok(())));
            return Ok(s.view());
        }
        let created = ApplicationCreated {
            approval_code: demo_code(18).to_string(),
            status: Blzt::Received,
            status_text: Blzt::Received.zh().into(),
            item_id: item_id.clone(),
            item_name: items
                .iter()
                .find(|i| i.id == item_id)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            submitted_at: chrono::Local::now().naive_local(),
            due_date: hall_domain::Calendar::built_in().add_working_days(today(), 10),
            pending_materials: Vec::new(),
            verification_code: None,
        };
        feed(&mut s, Input::Submitted(Ok(created)));
        let printed = if screen == "printer-error" {
            Err("打印机缺纸".to_string())
        } else {
            Ok(())
        };
        feed(&mut s, Input::Printed(printed));
        return Ok(s.view());
    }

    match screen {
        "home" => {}
        "home-speaking" => {
            s.handle(Input::Speaking(true), t);
        }
        "help" => act(&mut s, Intent::Help),
        "pin" | "maintenance" => {
            act(&mut s, Intent::Staff);
            let typed = if screen == "pin" {
                &DEMO_PIN[..3]
            } else {
                DEMO_PIN
            };
            for c in typed.chars() {
                act(&mut s, Intent::Key(c));
            }
            if screen == "maintenance" {
                act(&mut s, Intent::Next);
                // An A/B kiosk downloading its next release.
                feed(
                    &mut s,
                    Input::System(hall_domain::api::SystemReport {
                        os_version: "1.4.0+20261201.abc1234".into(),
                        slot: Some("A".into()),
                        compatible: Some("hall-kiosk-x86".into()),
                        root_sha256: Some(
                            "5e8a1f0c3b2d4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"
                                .into(),
                        ),
                        update: hall_domain::api::UpdateState::Downloading {
                            release: "1.5.0+20261210.def5678".into(),
                            percent: 42,
                        },
                    }),
                );
                act(&mut s, Intent::Shoot);
                feed(&mut s, Input::Photo(Ok(demo_still())));
                act(&mut s, Intent::TestPrint);
                feed(&mut s, Input::Printed(Ok(())));
                feed(
                    &mut s,
                    Input::Device(DeviceEvent::Scanned(demo_code(18).as_str().to_string())),
                );
            }
        }
        "kiosk-id" => s.identify(t + Duration::from_secs(60)),
        "lookup-mine" => {
            act(&mut s, Intent::StartLookup);
            feed(
                &mut s,
                Input::Device(DeviceEvent::CardRead(kiosk_drivers::sim::demo_card())),
            );
            let case = demo_case();
            let mine = [
                (case.approval_code.clone(), Blzt::DepartmentStarted, 40),
                (demo_code(21).to_string(), Blzt::CorrectionsAsked, 55),
                (demo_code(9).to_string(), Blzt::Approved, 90),
            ]
            .into_iter()
            .map(|(code, status, days)| CaseSummary {
                approval_code: code,
                item: case.item.clone(),
                item_en: case.item_en.clone(),
                status,
                status_text: status.zh().into(),
                submitted_at: (today() - chrono::Days::new(days))
                    .and_hms_opt(9, 30, 0)
                    .unwrap_or_default(),
            })
            .collect();
            feed(&mut s, Input::MyCases(Ok(mine)));
        }
        "lookup" | "progress" | "offline" | "progress-details" | "progress-refused"
        | "take-card" | "thanks-skipped" => {
            act(&mut s, Intent::StartLookup);
            for c in demo_code(17).as_str().chars().take(11) {
                act(&mut s, Intent::Key(c));
            }
            if screen != "lookup" {
                for c in demo_code(17).as_str().chars().skip(11) {
                    act(&mut s, Intent::Key(c));
                }
                act(&mut s, Intent::Next);
                let reply = if screen == "offline" {
                    Err(ApiError::Unreachable("connection refused".into()))
                } else {
                    Ok(demo_case())
                };
                feed(&mut s, Input::Case(reply));
            }
            if matches!(
                screen,
                "progress-details" | "progress-refused" | "take-card"
            ) {
                feed(
                    &mut s,
                    Input::Device(DeviceEvent::CardRead(kiosk_drivers::sim::demo_card())),
                );
                let answer = if screen == "progress-refused" {
                    Err(ApiError::Refused(hall_domain::api::Problem {
                        kind: "https://platform.hall.example/problems/forbidden".into(),
                        title: "Forbidden".into(),
                        status: 403,
                        detail: None,
                        errors: Vec::new(),
                    }))
                } else {
                    Ok(demo_details())
                };
                feed(&mut s, Input::Details(answer));
            }
            if screen == "thanks-skipped" {
                act(&mut s, Intent::Finish);
                act(&mut s, Intent::Skip);
            }
            if screen == "take-card" {
                act(&mut s, Intent::PrintSlip);
                feed(&mut s, Input::Printed(Ok(())));
                act(&mut s, Intent::Finish);
                act(&mut s, Intent::Skip);
            }
        }
        _ => {
            act(&mut s, Intent::StartPay);
            let code = "42060026110200000017";
            let typed = if screen == "pay-entry" {
                &code[..12]
            } else {
                code
            };
            for c in typed.chars() {
                act(&mut s, Intent::Key(c));
            }
            if screen != "pay-entry" {
                act(&mut s, Intent::Next);
                feed(&mut s, Input::Notice(Ok(demo_notice())));
            }
            if screen == "paying-scan" {
                act(&mut s, Intent::PayScan);
                feed(
                    &mut s,
                    Input::Device(DeviceEvent::Scanned("134567890123459999".into())),
                );
                feed(&mut s, Input::Order(Ok(demo_order(OrderStatus::Pending))));
                s.handle(Input::Tick, t);
                t += Duration::from_secs(8);
                s.handle(Input::Tick, t);
            }
            let rating = matches!(screen, "rating" | "rating-reason" | "thanks");
            if rating || matches!(screen, "paying" | "paying-warning" | "paid" | "pay-failed") {
                act(&mut s, Intent::PayQr);
                feed(&mut s, Input::Order(Ok(demo_order(OrderStatus::Pending))));
                s.handle(Input::Tick, t);
                t += Duration::from_secs(if screen == "paying-warning" { 96 } else { 14 });
                s.handle(Input::Tick, t);
                if screen == "paying-warning" {
                    s.handle(Input::Speaking(true), t);
                }
            }
            match screen {
                "paid" | "rating" | "rating-reason" | "thanks" => {
                    s.handle(Input::Order(Ok(demo_order(OrderStatus::Paid))), t);
                    s.handle(Input::Printed(Ok(())), t);
                    if rating {
                        act(&mut s, Intent::Finish);
                    }
                    if screen == "rating-reason" {
                        act(&mut s, Intent::Rate(Rating::Dissatisfied));
                    }
                    if screen == "thanks" {
                        act(&mut s, Intent::Rate(Rating::Satisfied));
                    }
                }
                "pay-failed" => {
                    s.handle(Input::Order(Ok(demo_order(OrderStatus::Failed))), t);
                }
                _ => {}
            }
        }
    }
    Ok(s.view())
}
