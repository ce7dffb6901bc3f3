//! Applications and cases against the real platform: a server on loopback with a SQLite file
//! or a PostgreSQL database, spoken to over HTTP as an enrolled kiosk.

mod common;

use common::{Hall, Kind, has_error, planning_permit_application, problem, today};

use chrono::NaiveDate;
use hall_domain::api::{
    self, ApplicationCreated, CaseDetails, CaseView, FeeNotice, Item, NoticeStatus, Order,
    OrderStatus, OrganizationInfo, ProjectInfo,
};
use hall_domain::{ApprovalCode, Blzt, Calendar};
use hall_platform::{DbUrl, demo};
use reqwest::StatusCode;
use serde_json::{Value, json};

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

both!(
    catalogue_and_registries,
    application_creates_a_case_with_parallel_nodes,
    idempotency_key_makes_retries_safe,
    approval_codes_cannot_be_walked,
    case_lookup_errors_and_demo_cases,
    restart_keeps_data_and_does_not_seed_again,
    local_reference_finds_the_case_and_receipts_carry_a_code,
    the_form_must_match_the_id_card_read,
);
