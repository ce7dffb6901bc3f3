//! Journeys against the real platform: a server on loopback with a SQLite file in a temporary
//! directory, spoken to over HTTP.

mod common;

use std::time::Duration;

use common::{Hall, Kind, TestDb, cli, planning_permit, today};

use chrono::NaiveDate;
use hall_domain::api::{
    self, ApplicationCreated, CaseDetails, CaseView, FeeNotice, Item, NoticeStatus, Order,
    OrderStatus, OrganizationInfo, Problem, ProjectInfo,
};
use hall_domain::{ApprovalCode, Blzt, Calendar};
use hall_platform::{DbUrl, demo};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Reads a problem answer, checking the status and the media type.
async fn problem(resp: reqwest::Response, status: StatusCode) -> Problem {
    assert_eq!(resp.status(), status);
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(ct, "application/problem+json");
    let p: Problem = resp.json().await.unwrap();
    assert_eq!(p.status, status.as_u16());
    assert!(p.kind.starts_with("https://"), "{}", p.kind);
    assert!(p.detail.as_deref().is_some_and(|d| !d.is_empty()));
    p
}

fn has_error(p: &Problem, field: &str, code: &str) -> bool {
    p.errors.iter().any(|e| {
        e.field == field && e.code == code && !e.message.is_empty() && !e.message_en.is_empty()
    })
}

/// A complete application for the engineering planning permit (two departments, one
/// tolerable material that is tolerated).
fn planning_permit_application() -> Value {
    let mut body = planning_permit("K-01");
    body["project"]["code"] = json!("20264206004701000123");
    body["identified_by"] = json!("id_card");
    body
}

async fn catalogue_and_registries(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    let resp = hall.get(api::ITEMS).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let items: Vec<Item> = resp.json().await.unwrap();
    assert_eq!(items.len(), 12);
    let keys: Vec<(u8, String)> = items.iter().map(|i| (i.stage, i.id.clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by stage, then id");
    let filing = items.iter().find(|i| i.name == "企业投资项目备案").unwrap();
    assert!(filing.instant);
    assert_eq!(filing.time_limit_days, 0);
    assert_eq!(filing.stage, 1);
    let permit = items
        .iter()
        .find(|i| i.id == "construction-permit")
        .unwrap();
    assert_eq!(permit.name, "建筑工程施工许可证核发");
    assert_eq!(permit.time_limit_days, 7);
    assert_eq!(permit.department, "市住房和城乡建设局");
    assert!(!permit.department_en.is_empty());
    for item in &items {
        assert!((3..=5).contains(&item.materials.len()), "{}", item.id);
        for m in &item.materials {
            assert!(!m.name.is_empty() && !m.name_en.is_empty());
            assert_eq!(
                m.tolerable,
                m.tolerance_days.is_some(),
                "{}/{}",
                item.id,
                m.id
            );
        }
    }
    let planning = items
        .iter()
        .find(|i| i.id == "engineering-planning-permit")
        .unwrap();
    assert!(
        planning
            .fee_note
            .as_deref()
            .unwrap()
            .contains("城市基础设施配套费")
    );

    // Projects by code, with or without dashes.
    for code in [demo::PROJECT_CODE, "20264206004701000123"] {
        let p: ProjectInfo = hall
            .get(&api::project_path(code))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(p.code, demo::PROJECT_CODE);
        assert_eq!(p.name, demo::PROJECT_NAME);
        assert_eq!(p.construction_unit.as_deref(), Some(demo::CREDIT_CODE));
    }
    let p = problem(
        hall.get(&api::project_path("2026-420600-47-01-000999"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "code", "not_found"));
    // A code of another project type (GB/T 40058-2021) is a real code: not found here.
    let p = problem(
        hall.get(&api::project_path("2026-420600-47-16-000123"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "code", "not_found"));
    let p = problem(
        hall.get(&api::project_path("1999-420600-47-01-000123"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "code", "shape"));

    let o: OrganizationInfo = hall
        .get(&api::organization_path(demo::CREDIT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.name, demo::ORGANIZATION_NAME);
    let p = problem(
        hall.get(&api::organization_path("91350100M000100Y43"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "credit_code", "not_found"));
    let p = problem(
        hall.get(&api::organization_path("91420600MA4F2C7T3B"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "credit_code", "check"));

    hall.server.shutdown().await;
}

async fn application_creates_a_case_with_parallel_nodes(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let cal = Calendar::built_in();

    let resp = hall
        .apply("k-happy-1", &planning_permit_application())
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: ApplicationCreated = resp.json().await.unwrap();
    let code = ApprovalCode::parse(&created.approval_code).unwrap();
    assert!(code.as_str().starts_with("20261123"), "{code}");
    assert_eq!(created.status, Blzt::Received);
    assert_eq!(created.status_text, "已接件");
    assert_eq!(created.item_name, "建设工程规划许可证");
    assert_eq!(created.submitted_at.date(), today());
    // Ten working days from Monday 23 Nov 2026: Monday 7 Dec.
    let due = cal.add_working_days(today(), 10);
    assert_eq!(due, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    assert_eq!(created.due_date, due);
    assert_eq!(created.pending_materials.len(), 1);
    assert_eq!(
        created.pending_materials[0].material_id,
        "civil-defence-plan"
    );
    assert_eq!(created.pending_materials[0].due_date, due);

    let case: CaseView = hall
        .get(&api::case_path(code.as_str()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case.approval_code, code.as_str());
    assert_eq!(case.item_id, "engineering-planning-permit");
    assert_eq!(case.stage, 2);
    // The applicant's card shows who applied and for which project.
    let details: CaseDetails = hall
        .post_json(
            &api::case_details_path(code.as_str()),
            &json!({ "id_number": demo::APPLICANT_ID }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(details.applicant, "张**");
    // The project name came from the registry; the code was stored with its dashes.
    assert_eq!(details.project_name, demo::PROJECT_NAME);
    assert_eq!(details.project_code, demo::PROJECT_CODE);
    let depts: Vec<&str> = case.nodes.iter().map(|n| n.department.as_str()).collect();
    assert_eq!(depts, ["市自然资源和规划局", "市人民防空办公室"]);
    for n in &case.nodes {
        assert_eq!(n.status_code, Blzt::Received);
        assert_eq!(n.started_at, Some(today()));
        assert_eq!(n.due_date, Some(due));
        assert!(!n.overdue);
        assert_eq!(n.overdue_days, 0);
    }
    // Grouped input finds the same case.
    let again = hall.get(&api::case_path(&code.grouped())).await;
    assert_eq!(again.status(), StatusCode::OK);

    // 秒批: the filing item is approved at once when its rules pass...
    let filing = json!({
        "item_id": "project-filing",
        "applicant": { "name": "", "id_number": demo::APPLICANT_ID, "phone": demo::APPLICANT_PHONE },
        "organization": { "name": demo::ORGANIZATION_NAME, "credit_code": demo::CREDIT_CODE },
        "project": { "code": demo::PROJECT_CODE, "name": demo::PROJECT_NAME },
        "materials": [
            { "material_id": "filing-form", "status": "provided", "pages": 1 },
            { "material_id": "business-licence", "status": "provided", "pages": 1 },
            { "material_id": "compliance-pledge", "status": "committed", "pages": 0 }
        ],
        "identified_by": "typed"
    });
    let created: ApplicationCreated = hall.apply("k-filing", &filing).await.json().await.unwrap();
    assert_eq!(created.status, Blzt::Approved);
    assert_eq!(created.due_date, today());
    let case: CaseView = hall
        .get(&api::case_path(&created.approval_code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case.status, Blzt::Approved);
    assert_eq!(case.nodes.len(), 1);
    assert_eq!(case.nodes[0].finished_at, Some(today()));
    let details: CaseDetails = hall
        .post_json(
            &api::case_details_path(&created.approval_code),
            &json!({ "id_number": demo::APPLICANT_ID }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        details.applicant, "",
        "typed identification may leave the name empty"
    );
    // ...and without an organisation the rules do not pass: it is received for a person to check.
    let mut no_org = filing.clone();
    no_org.as_object_mut().unwrap().remove("organization");
    let created: ApplicationCreated = hall
        .apply("k-filing-2", &no_org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created.status, Blzt::Received);

    hall.server.shutdown().await;
}

async fn invalid_applications_get_field_errors(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let before = db.scalar("SELECT COUNT(*) FROM cases").await;

    // A mistyped ID number (last digit changed), a credit code with a wrong check character,
    // a required material left out.
    let mut body = planning_permit_application();
    body["applicant"]["id_number"] = json!("420602195803120012");
    body["organization"]["credit_code"] = json!("91420600MA4F2C7T3B");
    body["materials"].as_array_mut().unwrap().remove(2);
    let p = problem(
        hall.apply("k-bad-1", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "applicant.id_number", "check"), "{p:?}");
    assert!(has_error(&p, "organization.credit_code", "check"), "{p:?}");
    let missing = p
        .errors
        .iter()
        .find(|e| e.field == "materials" && e.code == "missing")
        .unwrap();
    assert!(
        missing.message.contains("建设工程设计图纸"),
        "{}",
        missing.message
    );
    assert!(missing.message_en.contains("Engineering design drawings"));
    assert_eq!(p.errors.len(), 3, "{p:?}");
    let id = p
        .errors
        .iter()
        .find(|e| e.field == "applicant.id_number")
        .unwrap();
    assert!(id.message.contains("身份证号码") && id.message.contains("校验位"));

    // Material rules, by position.
    let mut body = planning_permit_application();
    body["materials"][0]["pages"] = json!(0); // provided with no page
    body["materials"][1]["status"] = json!("tolerated"); // land rights: not tolerable
    body["materials"][2]["status"] = json!("committed"); // drawings: no commitment
    body["materials"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "material_id": "no-such-thing", "status": "provided", "pages": 1 }));
    let p = problem(
        hall.apply("k-bad-2", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "materials[0].pages", "pages"), "{p:?}");
    assert!(
        has_error(&p, "materials[1].status", "not_tolerable"),
        "{p:?}"
    );
    assert!(
        has_error(&p, "materials[2].status", "not_committable"),
        "{p:?}"
    );
    assert!(
        has_error(&p, "materials[4].material_id", "unknown"),
        "{p:?}"
    );

    // Identity and text fields.
    let mut body = planning_permit_application();
    body["applicant"]["name"] = json!("");
    body["applicant"]["phone"] = json!("1380013800");
    body["project"]["code"] = json!("1999-420600-47-01-000123");
    body["organization"]["name"] = json!("单".repeat(101));
    body["item_id"] = json!("engineering-planning-permit");
    let p = problem(
        hall.apply("k-bad-3", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "applicant.name", "missing"), "{p:?}");
    assert!(has_error(&p, "applicant.phone", "length"), "{p:?}");
    assert!(has_error(&p, "project.code", "shape"), "{p:?}");
    assert!(has_error(&p, "organization.name", "length"), "{p:?}");

    // An unknown item.
    let mut body = planning_permit_application();
    body["item_id"] = json!("no-such-item");
    let p = problem(
        hall.apply("k-bad-4", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "item_id", "unknown"));

    // A body of the wrong shape names the missing field.
    let mut body = planning_permit_application();
    body["applicant"].as_object_mut().unwrap().remove("phone");
    let p = problem(
        hall.apply("k-bad-5", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "applicant.phone", "missing"), "{p:?}");
    let mut body = planning_permit_application();
    body["materials"][1]["status"] = json!("maybe");
    let p = problem(
        hall.apply("k-bad-6", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "materials[1].status", "type"), "{p:?}");

    // None of these made a case: the valid application after them is the only one.
    let created: ApplicationCreated = hall
        .apply("k-good", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        created
            .approval_code
            .starts_with(&today().format("%Y%m%d").to_string())
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM cases").await, before + 1);

    hall.server.shutdown().await;
}

async fn idempotency_key_makes_retries_safe(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let body = planning_permit_application();

    // Without a key: refused before anything happens.
    let resp = hall
        .http
        .post(hall.url(api::APPLICATIONS))
        .json(&body)
        .send()
        .await
        .unwrap();
    let p = problem(resp, StatusCode::BAD_REQUEST).await;
    assert!(has_error(&p, "Idempotency-Key", "missing"));

    let first: ApplicationCreated = hall.apply("k-retry", &body).await.json().await.unwrap();
    let resp = hall.apply("k-retry", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let second: ApplicationCreated = resp.json().await.unwrap();
    assert_eq!(first, second, "a retry gets the first answer");

    // The same key with another body is a conflict.
    let mut other = body.clone();
    other["applicant"]["phone"] = json!("13900000000");
    let p = problem(hall.apply("k-retry", &other).await, StatusCode::CONFLICT).await;
    assert!(has_error(&p, "Idempotency-Key", "idempotency_key_reused"));

    // Only one case was made: a new key makes the next.
    let before = db.scalar("SELECT COUNT(*) FROM cases").await;
    let next: ApplicationCreated = hall.apply("k-next", &body).await.json().await.unwrap();
    assert_ne!(next.approval_code, first.approval_code);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM cases").await, before + 1);

    hall.server.shutdown().await;
}

/// Knowing one approval code says nothing about another: the serials of a day's codes are
/// random, not a sequence (a sequence lets anyone walk every case of the day).
async fn approval_codes_cannot_be_walked(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let body = planning_permit_application();
    let mut serials = Vec::new();
    for i in 0..12 {
        let made: ApplicationCreated = hall
            .apply(&format!("k-walk-{i}"), &body)
            .await
            .json()
            .await
            .unwrap();
        let code = hall_domain::codes::ApprovalCode::parse(&made.approval_code).unwrap();
        serials.push(code.as_str()[8..15].parse::<u32>().unwrap());
    }
    let mut sorted = serials.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), serials.len(), "unique: {serials:?}");
    // Twelve uniform draws from ten million: the widest gap between neighbours in order of
    // submission is below 1,000 with a probability under 10^-40.
    let widest = serials
        .windows(2)
        .map(|w| w[0].abs_diff(w[1]))
        .max()
        .unwrap_or(0);
    assert!(widest > 1_000, "serials follow each other: {serials:?}");
    hall.server.shutdown().await;
}

async fn case_lookup_errors_and_demo_cases(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    // A well-formed code that names no case.
    let unknown = ApprovalCode::from_parts(today(), 9_999_999);
    let p = problem(
        hall.get(&api::case_path(unknown.as_str())).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "approval_code", "not_found"));
    // One digit mistyped: the check digit catches it.
    let mut typo = demo::CASE_LATE.as_bytes().to_vec();
    typo[10] = if typo[10] == b'9' { b'0' } else { typo[10] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let p = problem(
        hall.get(&api::case_path(&typo)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "approval_code", "check"), "{p:?}");
    let p = problem(
        hall.get(&api::case_path("12345")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "approval_code", "length"));

    // (a) parallel review, one department late.
    let a: CaseView = hall
        .get(&api::case_path(demo::CASE_LATE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a.nodes.len(), 3);
    let late: Vec<_> = a.nodes.iter().filter(|n| n.overdue).collect();
    assert_eq!(late.len(), 1, "{:?}", a.nodes);
    assert!(late[0].overdue_days > 0);
    assert!(late[0].due_date.unwrap() < today());
    assert!(
        a.nodes
            .iter()
            .any(|n| n.status_code == Blzt::Approved && !n.overdue)
    );
    assert!(
        a.nodes
            .iter()
            .any(|n| !n.status_code.is_final() && !n.overdue)
    );

    // (b) approved.
    let b: CaseView = hall
        .get(&api::case_path(demo::CASE_APPROVED))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b.status, Blzt::Approved);
    assert_eq!(b.status_text, "办结");

    // (c) corrections asked, with what to correct.
    let c: CaseView = hall
        .get(&api::case_path(demo::CASE_CORRECTIONS))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c.status, Blzt::CorrectionsAsked);
    assert_eq!(c.nodes[0].status_code, Blzt::CorrectionsAsked);
    // What to correct is for the applicant's eyes: see tests/privacy.rs.

    // (d) an unpaid fee notice.
    let d: CaseView = hall
        .get(&api::case_path(demo::CASE_UNPAID))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d.fee_notices.len(), 1);
    assert_eq!(d.fee_notices[0].payment_code, demo::PAYMENT_CODE_CASE);
    assert_eq!(d.fee_notices[0].status, NoticeStatus::Unpaid);
    assert_eq!(d.fee_notices[0].total_fen, demo::PAYMENT_CASE_TOTAL_FEN);
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE_CASE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.approval_code.as_deref(), Some(demo::CASE_UNPAID));
    let names: Vec<&str> = notice.items.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["城市基础设施配套费", "人防易地建设费"]);
    assert_eq!(
        notice.items.iter().map(|l| l.amount_fen).sum::<i64>(),
        notice.total_fen
    );

    hall.server.shutdown().await;
}

/// Production is production: without the demo option there is no simulated payer, no
/// simulated callback and, with no payment provider configured, no new payment order.
async fn without_the_demo_nothing_is_simulated(kind: Kind) {
    let db = fresh!(kind);
    // A fee notice as the agency's system would have issued it (here: by the demo hall
    // earlier on the same database), with a QR order made then.
    let hall = Hall::start(&db.url).await;
    let code = demo::PAYMENT_CODE;
    let order: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    hall.server.shutdown().await;

    let hall = Hall::start_with(&db.url, |c| c.demo = false).await;
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);
    let p = problem(
        hall.post_json(&api::orders_path(code), &json!({ "method": "qr" }))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(
        p.detail.as_deref().is_some_and(|d| d.contains("支付服务")),
        "{p:?}"
    );
    let resp = hall.post(&api::sim_pay_path(&order.order_id)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = hall
        .post_json(
            api::SIM_CALLBACK,
            &json!({ "order_id": order.order_id, "outcome": "paid", "amount_fen": order.amount_fen,
                     "sent_ms": 0 }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The order made in the demo stays as it was: nobody pays it.
    let still: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    hall.server.shutdown().await;

    // And a database that never saw the demo has no demo case.
    let fresh_db = fresh!(kind);
    let hall = Hall::start_with(&fresh_db.url, |c| c.demo = false).await;
    let resp = hall.get(&api::fee_notice_path(code)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    hall.server.shutdown().await;
}

async fn qr_payment_pays_a_notice_once(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let code = demo::PAYMENT_CODE;

    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);
    assert_eq!(notice.total_fen, demo::PAYMENT_TOTAL_FEN);
    assert_eq!(notice.payer, "张**", "a person's name is masked");
    let p = problem(
        hall.get(&api::fee_notice_path("42060026110200009999"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "payment_code", "not_found"));

    let resp = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let order: Order = resp.json().await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.amount_fen, demo::PAYMENT_TOTAL_FEN);
    assert_eq!(
        order.qr_payload.as_deref(),
        Some(format!("https://pay.hall.example/q/{}", order.order_id).as_str())
    );
    let expires = order.expires_at.unwrap();
    let now = chrono::Local::now().naive_local().time();
    let ttl = (expires - today().and_time(now)).num_seconds();
    assert!(
        (595..=601).contains(&ttl),
        "expires in {ttl} s (ten minutes)"
    );

    let polled: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled.status, OrderStatus::Pending);

    // The demo phone pays.
    let resp = hall.post(&api::sim_pay_path(&order.order_id)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let paid: Order = resp.json().await.unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert!(paid.transaction_id.is_some());
    let receipt = paid.receipt_no.clone().unwrap();
    assert!(paid.paid_at.is_some());
    let polled: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled, paid);

    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Paid);
    assert_eq!(notice.receipt_no.as_deref(), Some(receipt.as_str()));
    assert_eq!(notice.paid_at, paid.paid_at);

    // Never twice: a new order is refused, the paid one cannot be cancelled.
    let p = problem(
        hall.post_json(&api::orders_path(code), &json!({ "method": "qr" }))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "payment_code", "already_paid"));
    let p = problem(
        hall.post(&api::order_cancel_path(&order.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "already_paid"));

    hall.server.shutdown().await;
}

async fn scanned_payment_codes_and_cancellation(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    // A code the wallet does not recognise.
    let p = problem(
        hall.post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": "994567890123456789" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "auth_code", "shape"));

    // Declined at once.
    let resp = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_FAIL }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let failed: Order = resp.json().await.unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("余额不足"));
    assert!(failed.qr_payload.is_none());

    // The payer never confirms; the kiosk cancels.
    let silent: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_SILENT }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(silent.status, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still: Order = hall
        .get(&api::order_path(&silent.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    let resp = hall.post(&api::order_cancel_path(&silent.order_id)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cancelled: Order = resp.json().await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    // Cancelling again changes nothing.
    let again: Order = hall
        .post(&api::order_cancel_path(&silent.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.status, OrderStatus::Cancelled);
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);

    // A good code is paid once the payer delay has passed, when the order is next queried.
    let ok: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_OK }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok.status, OrderStatus::Pending);
    let polled: Order = hall
        .get(&api::order_path(&ok.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        polled.status,
        OrderStatus::Pending,
        "the payer has not confirmed yet"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The payer has confirmed by now, though nobody asked: a new order for the notice finds the
    // payment instead of withdrawing the order.
    let p = problem(
        hall.post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "qr" }),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "payment_code", "already_paid"));
    let paid: Order = hall
        .get(&api::order_path(&ok.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.amount_fen, demo::PAYMENT_CASE_TOTAL_FEN);
    let case: CaseView = hall
        .get(&api::case_path(demo::CASE_UNPAID))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case.fee_notices[0].status, NoticeStatus::Paid);

    // A scan order cannot be "paid" on the demo phone.
    let p = problem(
        hall.post(&api::sim_pay_path(&ok.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_qr"));
    let p = problem(
        hall.get(&api::order_path("nope")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_found"));

    hall.server.shutdown().await;
}

/// A scanned payment code follows the wallets' rules: the service is asked at its own rhythm
/// however often the kiosk polls, and an order the payer never confirms is reversed when the
/// payer's window closes, not before 15 s.
async fn the_wallet_is_asked_at_its_rhythm_and_reversed_after_the_window(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.wallet_query_every = Duration::from_millis(1500);
        // Below the floor: the platform still waits 15 s.
        c.payer_confirm_limit = Duration::from_secs(1);
    })
    .await;
    let get = |id: String| {
        let hall = &hall;
        async move {
            let o: Order = hall.get(&api::order_path(&id)).await.json().await.unwrap();
            o.status
        }
    };
    let ok: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_OK }),
        )
        .await
        .json()
        .await
        .unwrap();
    // Asked at once: the payer (300 ms) has not confirmed yet.
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The payer has confirmed, but the kiosk's next poll is answered from the last query.
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Paid);

    let silent: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_SILENT }),
        )
        .await
        .json()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut last = OrderStatus::Pending;
    while started.elapsed() < Duration::from_secs(20) {
        last = get(silent.order_id.clone()).await;
        if last != OrderStatus::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(last, OrderStatus::Expired);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(14_900),
        "never reversed within 15 s: {took:?}"
    );
    hall.server.shutdown().await;
}

async fn a_new_order_supersedes_and_pending_orders_expire(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.order_ttl = Duration::from_millis(300);
    })
    .await;
    let code = demo::PAYMENT_CODE;

    // The payer switches from the QR code to scanning: the QR order can no longer be paid.
    let first: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    let second: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    let first_now: Order = hall
        .get(&api::order_path(&first.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_now.status, OrderStatus::Cancelled);
    let p = problem(
        hall.post(&api::sim_pay_path(&first.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_pending"));

    // Nobody pays the second within its lifetime.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let expired: Order = hall
        .get(&api::order_path(&second.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired.status, OrderStatus::Expired);
    let p = problem(
        hall.post(&api::sim_pay_path(&second.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_pending"));
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);

    hall.server.shutdown().await;
}

async fn hostile_requests_get_problems(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    let send_raw = |body: Vec<u8>, ct: &'static str| {
        hall.http
            .post(hall.url(api::APPLICATIONS))
            .header(api::IDEMPOTENCY_HEADER, "k-hostile")
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body)
            .send()
    };

    let p = problem(
        send_raw(b"{\"item_id\": \"x\", ".to_vec(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "body", "json"));
    let p = problem(
        send_raw(b"\xff\xfe garbage".to_vec(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "body", "json"));
    // Trailing data after a complete value.
    let mut trailing = serde_json::to_vec(&planning_permit_application()).unwrap();
    trailing.extend_from_slice(b" {}");
    problem(
        send_raw(trailing, "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;

    // 100 KiB of otherwise valid JSON.
    let mut big = planning_permit_application();
    big["kiosk_id"] = json!("K".repeat(100 * 1024));
    let p = problem(
        send_raw(serde_json::to_vec(&big).unwrap(), "application/json")
            .await
            .unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(has_error(&p, "body", "too_large"));

    let p = problem(
        send_raw(b"item_id=x".to_vec(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert!(has_error(&p, "body", "media_type"));

    // An order body that is not an order.
    let p = problem(
        hall.post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "cash" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "method", "type"), "{p:?}");
    assert!(!p.errors[0].message_en.contains("line"), "{p:?}");
    let p = problem(
        hall.post_json(&api::orders_path("4206"), &json!({ "method": "qr" }))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(has_error(&p, "payment_code", "length"));

    // Unknown paths and methods.
    let p = problem(
        hall.get("/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "path", "not_found"));
    let p = problem(hall.post(api::ITEMS).await, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(has_error(&p, "method", "method"));

    // The server is still well after all that.
    let resp = hall.get(api::ITEMS).await;
    assert_eq!(resp.status(), StatusCode::OK);

    hall.server.shutdown().await;
}

async fn restart_keeps_data_and_does_not_seed_again(kind: Kind) {
    let tdb = fresh!(kind);
    let db = tdb.url.clone();

    let hall = Hall::start(&db).await;
    let created: ApplicationCreated = hall
        .apply("k-restart", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let paid: Order = hall
        .post(&api::sim_pay_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    hall.server.shutdown().await;
    if let DbUrl::Sqlite(path) = &db {
        assert!(path.exists());
    }

    // Again, on another day, on the same file.
    let hall = Hall::start_with(&db, |c| {
        c.today = NaiveDate::from_ymd_opt(2026, 11, 24);
    })
    .await;
    let case = hall.get(&api::case_path(&created.approval_code)).await;
    assert_eq!(case.status(), StatusCode::OK);
    let items: Vec<Item> = hall.get(api::ITEMS).await.json().await.unwrap();
    assert_eq!(items.len(), 12, "the catalogue is not seeded twice");
    // Seeding again would have put the notice back to unpaid or failed on the existing rows.
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Paid);
    assert_eq!(notice.receipt_no, paid.receipt_no);
    // The same key still answers with the first case.
    let replay: ApplicationCreated = hall
        .apply("k-restart", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replay, created);
    // New cases carry the new day's date.
    let next: ApplicationCreated = hall
        .apply("k-restart-2", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    assert!(next.approval_code.starts_with("20261124"), "{next:?}");
    assert!(ApprovalCode::parse(&next.approval_code).is_ok());
    hall.server.shutdown().await;

    // A platform without demo data still has its catalogue but no demo cases.
    let db2 = fresh!(kind);
    let hall = Hall::start_with(&db2.url, |c| c.demo = false).await;
    let items: Vec<Item> = hall.get(api::ITEMS).await.json().await.unwrap();
    assert_eq!(items.len(), 12);
    problem(
        hall.get(&api::case_path(demo::CASE_LATE)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        hall.get(&api::project_path(demo::PROJECT_CODE)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    hall.server.shutdown().await;
}

async fn cli_async(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs)
    })
    .await
    .unwrap()
}

async fn staff_token(db: &TestDb, department: &str) -> String {
    let (ok, out, err) = cli_async(vec![
        "staff".into(),
        "token".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
        "--department".into(),
        department.into(),
        "--label".into(),
        "test".into(),
    ])
    .await;
    assert!(ok, "{err}");
    let token = out.trim().to_string();
    assert!(token.starts_with("hst_"), "{out}");
    token
}

impl Hall {
    async fn staff(&self, token: &str, code: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/staff/cases/{code}/actions")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

async fn staff_move_a_case_through_parallel_review(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let created: Value = hall
        .apply("k-staff", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    let case: CaseView = hall.get(&api::case_path(&code)).await.json().await.unwrap();
    assert_eq!(case.nodes.len(), 2);
    let (lead, other) = (
        case.nodes[0].department.clone(),
        case.nodes[1].department_en.clone(),
    );
    let lead_token = staff_token(&db, &lead).await;
    // Named in English on the command line; the token is for the catalogue's Chinese name.
    let other_token = staff_token(&db, &other).await;
    let outsider = staff_token(&db, "市发展和改革委员会").await;

    // No token, a wrong token: 401 with the problem shape.
    let resp = hall
        .post_json(
            &format!("/api/v1/staff/cases/{code}/actions"),
            &json!({"action": "accept"}),
        )
        .await;
    assert!(resp.headers().contains_key("www-authenticate"));
    problem(resp, StatusCode::UNAUTHORIZED).await;
    let resp = hall
        .staff("hst_0000", &code, &json!({"action": "accept"}))
        .await;
    problem(resp, StatusCode::UNAUTHORIZED).await;
    // A department that does not review the case: 403.
    let resp = hall
        .staff(&outsider, &code, &json!({"action": "accept"}))
        .await;
    problem(resp, StatusCode::FORBIDDEN).await;
    // Reading: only a department with a node in the case sees it (an outsider gets the same
    // 404 as for a code that does not exist), and each read is in the audit log.
    let read = |token: String, code: String| {
        let (http, url) = (
            hall.http.clone(),
            hall.url(&format!("/api/v1/staff/cases/{code}")),
        );
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let reads_before = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.read' AND subject = '{code}'"
        ))
        .await;
    let resp = read(outsider.clone(), code.clone()).await;
    let p = problem(resp, StatusCode::NOT_FOUND).await;
    assert!(has_error(&p, "approval_code", "not_found"));
    let resp = read(lead_token.clone(), code.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = read(other_token.clone(), code.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let reads = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.read' AND subject = '{code}'"
        ))
        .await;
    assert_eq!(
        reads,
        reads_before + 2,
        "two staff reads, audited; the refused one is not a read"
    );
    // Approving before accepting is not a BLZT transition: 409.
    let resp = hall
        .staff(&lead_token, &code, &json!({"action": "approve"}))
        .await;
    let p = problem(resp, StatusCode::CONFLICT).await;
    assert!(has_error(&p, "action", "illegal_transition"));
    let resp = hall
        .staff(&lead_token, &code, &json!({"action": "fly"}))
        .await;
    problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;

    // The lead accepts and asks for corrections: the case waits for the applicant.
    let v: CaseDetails = hall
        .staff(&lead_token, &code, &json!({"action": "accept"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.case.nodes[0].status_code, Blzt::Accepted);
    let resp = hall
        .staff(&lead_token, &code, &json!({"action": "ask_corrections"}))
        .await;
    let p = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(has_error(&p, "opinion", "missing"));
    let v: CaseDetails = hall
        .staff(
            &lead_token,
            &code,
            &json!({"action": "ask_corrections", "opinion": "请补充总平面图"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.case.status, Blzt::CorrectionsAsked);
    assert_eq!(v.opinion(0), Some("请补充总平面图"));
    assert_eq!(v.applicant, "张**");

    // The counter records the corrections on the command line, by the department's English name.
    let (ok, out, err) = cli_async(vec![
        "staff".into(),
        "answer-corrections".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
        "--case".into(),
        code.clone(),
        "--department".into(),
        case.nodes[0].department_en.clone(),
        "--today".into(),
        "2026-11-23".into(),
    ])
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("补正（结束）"), "{out}");
    // An illegal transition on the command line fails, naming it.
    let (ok, _, err) = cli_async(vec![
        "staff".into(),
        "answer-corrections".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
        "--case".into(),
        code.clone(),
        "--department".into(),
        lead.clone(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("409"), "{err}");

    for (token, action) in [
        (&lead_token, "start"),
        (&lead_token, "approve"),
        (&other_token, "accept"),
    ] {
        let resp = hall.staff(token, &code, &json!({"action": action})).await;
        assert_eq!(resp.status(), StatusCode::OK, "{action}");
    }
    let v: CaseView = hall.get(&api::case_path(&code)).await.json().await.unwrap();
    assert_eq!(v.status, Blzt::DepartmentStarted);
    let v: CaseDetails = hall
        .staff(&other_token, &code, &json!({"action": "approve_pending"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.case.nodes[0].status_code, Blzt::Approved);
    assert_eq!(v.case.nodes[0].finished_at, Some(today()));
    assert_eq!(v.case.status, Blzt::ApprovedPending);
    // Final: nothing more to do but complete the pending materials.
    let resp = hall
        .staff(
            &lead_token,
            &code,
            &json!({"action": "reject", "opinion": "x"}),
        )
        .await;
    problem(resp, StatusCode::CONFLICT).await;
    let v: CaseDetails = hall
        .staff(&other_token, &code, &json!({"action": "approve"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.case.status, Blzt::Approved);
    let me: Value = hall
        .http
        .get(hall.url("/api/v1/staff/me"))
        .bearer_auth(&lead_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["department"], lead.as_str());

    // Revoked tokens stop working.
    let (ok, out, err) = cli_async(vec![
        "staff".into(),
        "revoke".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
        "--department".into(),
        lead.clone(),
        "--label".into(),
        "test".into(),
    ])
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("revoked 1"), "{out}");
    let resp = hall
        .staff(&lead_token, &code, &json!({"action": "start"}))
        .await;
    problem(resp, StatusCode::UNAUTHORIZED).await;
    hall.server.shutdown().await;
}

async fn local_reference_finds_the_case_and_receipts_carry_a_code(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let mut body = planning_permit_application();
    body["local_reference"] = json!("K01-20261123-0007");
    let created: Value = hall.apply("k-ref", &body).await.json().await.unwrap();
    let code = created["approval_code"].as_str().unwrap();
    let vc = created["verification_code"].as_str().unwrap();
    assert_eq!(vc.len(), 9, "{vc}");
    assert_eq!(&vc[4..5], "-");
    // The retry answers the same, code included.
    let again: Value = hall.apply("k-ref", &body).await.json().await.unwrap();
    assert_eq!(again, created);
    let by_ref: CaseView = hall
        .get("/api/v1/cases/by-reference/K01-20261123-0007")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_ref.approval_code, code);
    assert_eq!(by_ref.status, Blzt::Received);
    let resp = hall
        .get("/api/v1/cases/by-reference/K01-20261123-9999")
        .await;
    problem(resp, StatusCode::NOT_FOUND).await;
    // The same reference with another key is another submission: refused.
    let resp = hall.apply("k-ref-2", &body).await;
    let p = problem(resp, StatusCode::CONFLICT).await;
    assert!(has_error(&p, "local_reference", "reference_taken"));
    body["local_reference"] = json!("K01 bad/ref");
    let resp = hall.apply("k-ref-3", &body).await;
    let p = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(has_error(&p, "local_reference", "invalid"));
    hall.server.shutdown().await;
}

async fn the_form_must_match_the_id_card_read(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let mut body = planning_permit_application();
    body["id_card"] = json!({ "name": "李四", "id_number": demo::APPLICANT_ID });
    let p = problem(
        hall.apply("k-card-1", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "applicant.name", "id_card_mismatch"));
    assert!(!has_error(&p, "applicant.id_number", "id_card_mismatch"));
    body["id_card"] = json!({
        "name": demo::APPLICANT_NAME,
        "id_number": "11010519491231002X",
        "valid_to": "2026-01-01"
    });
    let p = problem(
        hall.apply("k-card-2", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "applicant.id_number", "id_card_mismatch"));
    assert!(has_error(&p, "id_card.valid_to", "expired"));
    body["id_card"] = json!({
        "name": demo::APPLICANT_NAME,
        "id_number": demo::APPLICANT_ID.to_ascii_lowercase(),
        "valid_to": "2036-01-01"
    });
    assert_eq!(
        hall.apply("k-card-3", &body).await.status(),
        StatusCode::CREATED
    );
    // Typed in by hand: there is no card to compare with.
    body["identified_by"] = json!("typed");
    body["id_card"] = json!({ "name": "李四", "id_number": demo::APPLICANT_ID });
    assert_eq!(
        hall.apply("k-card-4", &body).await.status(),
        StatusCode::CREATED
    );
    hall.server.shutdown().await;
}

async fn payment_callbacks_are_signed_and_verified(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| c.callback_key = Some("test-key".into())).await;
    let key = hall_platform::payment::CallbackKey::new(b"test-key");
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let callback = |amount: i64, sent_ms: i64| {
        serde_json::to_vec(&json!({
            "order_id": order.order_id,
            "outcome": "paid",
            "amount_fen": amount,
            "transaction_id": "WX4200001234",
            "sent_ms": sent_ms
        }))
        .unwrap()
    };
    let send = |body: Vec<u8>, sig: Option<String>| {
        let mut req = hall
            .http
            .post(hall.url("/api/v1/payments/simulated/callback"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = sig {
            req = req.header(hall_platform::payment::SIGNATURE_HEADER, sig);
        }
        req.send()
    };
    let body = callback(demo::PAYMENT_TOTAL_FEN, now_ms);
    // Unsigned, signed with another key, signature of another body: refused.
    problem(
        send(body.clone(), None).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = hall_platform::payment::CallbackKey::new(b"guess");
    problem(
        send(body.clone(), Some(wrong.sign(&body))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let other = callback(1, now_ms);
    problem(
        send(body.clone(), Some(key.sign(&other))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Signed but stale, or for another amount: refused.
    let stale = callback(demo::PAYMENT_TOTAL_FEN, now_ms - 3_600_000);
    problem(
        send(stale.clone(), Some(key.sign(&stale))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        send(other.clone(), Some(key.sign(&other))).await.unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    let still: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    // Signed and true: paid, with an e-receipt number; a repeat changes nothing.
    let paid: Order = send(body.clone(), Some(key.sign(&body)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.transaction_id.as_deref(), Some("WX4200001234"));
    let receipt = paid.receipt_no.clone().unwrap();
    let again: Order = send(body.clone(), Some(key.sign(&body)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, paid);
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Paid);
    assert_eq!(notice.receipt_no.as_deref(), Some(receipt.as_str()));
    // The demo phone goes through the same signed callback.
    let order2: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let paid2: Order = hall
        .post(&api::sim_pay_path(&order2.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid2.status, OrderStatus::Paid);
    assert_ne!(paid2.receipt_no, paid.receipt_no);
    hall.server.shutdown().await;
}

async fn the_openapi_document_is_served(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let resp = hall.get("/api/v1/openapi.json").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/applications"]["post"].is_object());
    hall.server.shutdown().await;
}

async fn audit(db: &TestDb) -> (bool, String) {
    let (ok, out, err) = cli_async(vec![
        "audit".into(),
        "verify".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
    ])
    .await;
    (ok, format!("{out}{err}"))
}

async fn the_audit_chain_detects_edits_and_deletions(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    for i in 0..3 {
        let resp = hall
            .apply(&format!("k-audit-{i}"), &planning_permit_application())
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    hall.post(&api::sim_pay_path(&order.order_id)).await;
    hall.server.shutdown().await;
    let (ok, out) = audit(&db).await;
    assert!(ok, "{out}");
    // catalogue, the demo's four cases and two notices (each with its state) and the demo, the
    // test kiosk's enrolment (token, enrolled), three cases, order created, notice paid, order
    // paid
    assert!(out.contains("intact: 16 entries"), "{out}");

    // The platform cannot change the log...
    assert!(
        !db.try_batch("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
            .await
    );
    assert!(!db.try_batch("DELETE FROM audit_log WHERE seq = 3").await);
    // ...and whoever goes around that is caught.
    let unguard = match kind {
        Kind::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Kind::Postgres => "DROP TRIGGER audit_log_append_only ON audit_log;",
    };
    db.batch(unguard).await;
    let first = db
        .scalar("SELECT min(seq) FROM audit_log WHERE action = 'case.created'")
        .await;
    db.batch(&format!(
        "UPDATE audit_log SET detail = replace(detail, 'engineering-planning-permit', 'x') \
         WHERE seq = {first}"
    ))
    .await;
    let (ok, out) = audit(&db).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("entry {first}")) && out.contains("edited"),
        "{out}"
    );
    // Recomputing the edited entry's hash does not help: the next entry's link breaks.
    db.batch(&format!("UPDATE audit_log SET detail = replace(detail, '\"x\"', '\"engineering-planning-permit\"') WHERE seq = {first}"))
        .await;
    let (ok, out) = audit(&db).await;
    assert!(ok, "restored: {out}");
    let gone = first + 2;
    db.batch(&format!("DELETE FROM audit_log WHERE seq = {gone}"))
        .await;
    let (ok, out) = audit(&db).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("entry {gone}")) && out.contains("missing"),
        "{out}"
    );
    // Deleting the tail is caught by the head.
    db.batch(&format!("DELETE FROM audit_log WHERE seq >= {gone}"))
        .await;
    let (ok, out) = audit(&db).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("entry {gone}")) && out.contains("deleted"),
        "{out}"
    );
}

async fn cases_keep_the_catalogue_they_were_submitted_under(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let before: Value = hall
        .apply("k-cat-1", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    let (ok, exported, err) = cli_async(vec![
        "catalogue".into(),
        "export".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
    ])
    .await;
    assert!(ok, "{err}");
    // Exported text imports back as the same catalogue: nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalogue.toml");
    std::fs::write(&file, &exported).unwrap();
    let import = |f: &std::path::Path| {
        cli_async(vec![
            "catalogue".into(),
            "import".into(),
            "--db".into(),
            db.arg(),
            "--seal-keys".into(),
            db.keys(),
            f.display().to_string(),
        ])
    };
    let (ok, out, err) = import(&file).await;
    assert!(ok, "{err}");
    assert!(out.contains("unchanged"), "{out}");
    // A new version renames the item and no longer tolerates the civil-defence plan missing.
    let changed = exported
        .replacen(
            "name = \"建设工程规划许可证\"",
            "name = \"建设工程规划许可证（新）\"",
            1,
        )
        .replace(
            "id = \"civil-defence-plan\"\nname = \"人防工程设计说明\"\n\
             name_en = \"Civil air defence works design statement\"\nrequired = true\n\
             tolerable = true\ntolerance_days = 10\n",
            "id = \"civil-defence-plan\"\nname = \"人防工程设计说明\"\n\
             name_en = \"Civil air defence works design statement\"\nrequired = true\n",
        );
    assert!(!changed.contains("tolerance_days = 10\n\n[[item.materials]]\nid = \"x"));
    assert_ne!(changed, exported);
    std::fs::write(&file, &changed).unwrap();
    let (ok, out, err) = import(&file).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("version 2"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[item]]\nid = 3\n").unwrap();
    let (ok, _, err) = import(&bad).await;
    assert!(!ok);
    assert!(err.contains("not valid"), "{err}");

    // The running platform serves the new version...
    let items: Vec<Item> = hall.get(api::ITEMS).await.json().await.unwrap();
    let item = items
        .iter()
        .find(|i| i.id == "engineering-planning-permit")
        .unwrap();
    assert_eq!(item.name, "建设工程规划许可证（新）");
    let p = problem(
        hall.apply("k-cat-2", &planning_permit_application()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        has_error(&p, "materials[3].status", "not_tolerable"),
        "{p:?}"
    );
    let mut body = planning_permit_application();
    body["materials"][3] =
        json!({ "material_id": "civil-defence-plan", "status": "provided", "pages": 3 });
    let after: Value = hall.apply("k-cat-3", &body).await.json().await.unwrap();
    let new_case: CaseView = hall
        .get(&api::case_path(after["approval_code"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(new_case.item, "建设工程规划许可证（新）");
    // ...while the earlier case keeps the name and rules it was submitted under.
    let old_case: CaseView = hall
        .get(&api::case_path(before["approval_code"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old_case.item, "建设工程规划许可证");
    let (ok, out, _) = cli_async(vec![
        "catalogue".into(),
        "versions".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
    ])
    .await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with('*'), "{out}");
    let (ok, v1, _) = cli_async(vec![
        "catalogue".into(),
        "export".into(),
        "--db".into(),
        db.arg(),
        "--seal-keys".into(),
        db.keys(),
        "--version".into(),
        "1".into(),
    ])
    .await;
    assert!(ok);
    assert_eq!(v1, exported);
    hall.server.shutdown().await;
}

async fn the_schema_refuses_a_second_payment(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let paid: Order = hall
        .post(&api::sim_pay_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    hall.server.shutdown().await;
    let code = demo::PAYMENT_CODE;
    // Asked directly, the database refuses to undo the payment...
    assert!(
        !db.try_batch(&format!(
            "UPDATE fee_notices SET status = 'unpaid', paid_order_id = NULL, receipt_no = NULL, \
             paid_at = NULL WHERE payment_code = '{code}'"
        ))
        .await
    );
    // ...to pay it by a second order...
    db.batch(&format!(
        "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, provider,
           provider_state, created_ms, expires_ms, created_at, expires_at)
         VALUES ('c', '{code}', 'qr', 'pending', 1000, 'test', '', 0, 1, '2026-11-23 09:00:00',
           '2026-11-23 09:00:00')"
    ))
    .await;
    assert!(
        !db.try_batch(
            "UPDATE orders SET status = 'paid', transaction_id = 't', receipt_no = 'r', \
             paid_at = '2026-11-23 09:00:00' WHERE order_id = 'c'"
        )
        .await
    );
    // ...to insert an order already paid, or to change a paid order.
    assert!(
        !db.try_batch(&format!(
            "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, provider,
               provider_state, created_ms, expires_ms, created_at, expires_at, transaction_id,
               receipt_no, paid_at)
             VALUES ('d', '{code}', 'qr', 'paid', 1000, 'test', '', 0, 1, 'x', 'x', 't', 'r', 'x')"
        ))
        .await
    );
    assert!(
        !db.try_batch(&format!(
            "UPDATE orders SET status = 'cancelled' WHERE order_id = '{}'",
            order.order_id
        ))
        .await
    );
    // A newer schema than this program knows is refused.
    db.batch(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')",
    )
    .await;
    let url = db.url.clone();
    let err = tokio::task::spawn_blocking(move || hall_platform::store::Store::open(&url).err())
        .await
        .unwrap();
    assert!(
        matches!(
            err,
            Some(hall_platform::StoreError::TooNew { found: 99, .. })
        ),
        "{err:?}"
    );
}

both!(
    catalogue_and_registries,
    application_creates_a_case_with_parallel_nodes,
    invalid_applications_get_field_errors,
    idempotency_key_makes_retries_safe,
    approval_codes_cannot_be_walked,
    case_lookup_errors_and_demo_cases,
    qr_payment_pays_a_notice_once,
    without_the_demo_nothing_is_simulated,
    scanned_payment_codes_and_cancellation,
    the_wallet_is_asked_at_its_rhythm_and_reversed_after_the_window,
    a_new_order_supersedes_and_pending_orders_expire,
    hostile_requests_get_problems,
    restart_keeps_data_and_does_not_seed_again,
    staff_move_a_case_through_parallel_review,
    local_reference_finds_the_case_and_receipts_carry_a_code,
    the_form_must_match_the_id_card_read,
    payment_callbacks_are_signed_and_verified,
    the_audit_chain_detects_edits_and_deletions,
    cases_keep_the_catalogue_they_were_submitted_under,
    the_schema_refuses_a_second_payment,
    the_openapi_document_is_served,
);
