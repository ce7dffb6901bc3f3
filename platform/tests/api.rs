//! Journeys against the real platform: a server on loopback with a SQLite file in a temporary
//! directory, spoken to over HTTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use hall_domain::api::{
    self, ApplicationCreated, CaseView, FeeNotice, Item, NoticeStatus, Order, OrderStatus,
    OrganizationInfo, Problem, ProjectInfo,
};
use hall_domain::{ApprovalCode, Blzt, Calendar};
use hall_platform::{RunningServer, ServerConfig, demo, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Monday 23 November 2026.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

struct Hall {
    server: RunningServer,
    base: String,
    http: reqwest::Client,
}

impl Hall {
    async fn start_with(db: &Path, edit: impl FnOnce(&mut ServerConfig)) -> Hall {
        let mut config = ServerConfig::new(db, "127.0.0.1:0".parse().unwrap());
        config.today = Some(today());
        config.sim_payer_delay = Duration::from_millis(300);
        edit(&mut config);
        let server = spawn(config).await.unwrap();
        let base = format!("http://{}", server.addr);
        Hall {
            server,
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn start(db: &Path) -> Hall {
        Self::start_with(db, |_| {}).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str) -> reqwest::Response {
        self.http.post(self.url(path)).send().await.unwrap()
    }

    async fn apply(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(api::APPLICATIONS))
            .header(api::IDEMPOTENCY_HEADER, key)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("platform.sqlite3")
}

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
    json!({
        "item_id": "engineering-planning-permit",
        "applicant": {
            "name": demo::APPLICANT_NAME,
            "id_number": demo::APPLICANT_ID,
            "phone": demo::APPLICANT_PHONE
        },
        "organization": { "name": "", "credit_code": demo::CREDIT_CODE },
        "project": { "code": "20264206004701000123", "name": "" },
        "materials": [
            { "material_id": "application-form", "status": "provided", "pages": 2 },
            { "material_id": "land-rights", "status": "committed", "pages": 0 },
            { "material_id": "engineering-drawings", "status": "provided", "pages": 14 },
            { "material_id": "civil-defence-plan", "status": "tolerated", "pages": 0 }
        ],
        "identified_by": "id_card",
        "kiosk_id": "K-01"
    })
}

#[tokio::test]
async fn catalogue_and_registries() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;

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
    let p = problem(
        hall.get(&api::project_path("2026-420600-47-09-000123"))
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

#[tokio::test]
async fn application_creates_a_case_with_parallel_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;
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
    assert_eq!(case.applicant, "张**");
    // The project name came from the registry; the code was stored with its dashes.
    assert_eq!(case.project_name, demo::PROJECT_NAME);
    assert_eq!(case.project_code, demo::PROJECT_CODE);
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
    assert_eq!(
        case.applicant, "",
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

#[tokio::test]
async fn invalid_applications_get_field_errors() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;

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
    body["project"]["code"] = json!("2026-420600-47-09-000123");
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

    // None of these made a case: the next valid application gets the first serial.
    let created: ApplicationCreated = hall
        .apply("k-good", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        created.approval_code,
        ApprovalCode::from_parts(today(), 101).as_str()
    );

    hall.server.shutdown().await;
}

#[tokio::test]
async fn idempotency_key_makes_retries_safe() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;
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
    other["kiosk_id"] = json!("K-02");
    let p = problem(hall.apply("k-retry", &other).await, StatusCode::CONFLICT).await;
    assert!(has_error(&p, "Idempotency-Key", "idempotency_key_reused"));

    // Only one case was made: a new key gets the very next serial.
    let serial_of = |c: &str| c[8..15].parse::<u32>().unwrap();
    let next: ApplicationCreated = hall.apply("k-next", &body).await.json().await.unwrap();
    assert_eq!(
        serial_of(&next.approval_code),
        serial_of(&first.approval_code) + 1
    );

    hall.server.shutdown().await;
}

#[tokio::test]
async fn case_lookup_errors_and_demo_cases() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;

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
    assert_eq!(a.applicant, "张**");
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
    assert!(c.nodes[0].opinion.as_deref().unwrap().contains("总平面图"));

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

#[tokio::test]
async fn qr_payment_pays_a_notice_once() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;
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
    assert!((115..=121).contains(&ttl), "expires in {ttl} s");

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

#[tokio::test]
async fn scanned_payment_codes_and_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;

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

#[tokio::test]
async fn a_new_order_supersedes_and_pending_orders_expire() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start_with(&db_in(&dir), |c| {
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

#[tokio::test]
async fn hostile_requests_get_problems() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::start(&db_in(&dir)).await;

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

#[tokio::test]
async fn restart_keeps_data_and_does_not_seed_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);

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
    assert!(db.exists());

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
    // Serials go on from where they were.
    let next: ApplicationCreated = hall
        .apply("k-restart-2", &planning_permit_application())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        next.approval_code,
        ApprovalCode::from_parts(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(), 102).as_str()
    );
    hall.server.shutdown().await;

    // A platform without demo data still has its catalogue but no demo cases.
    let dir2 = tempfile::tempdir().unwrap();
    let hall = Hall::start_with(&db_in(&dir2), |c| c.seed_demo = false).await;
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
