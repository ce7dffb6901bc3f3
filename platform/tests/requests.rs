//! What the platform answers to requests it cannot take: field errors for invalid applications,
//! problem+json for hostile or malformed requests, and the OpenAPI document that says what it
//! takes.

mod common;

use common::{Hall, Kind, has_error, planning_permit_application, problem, today};

use hall_domain::api::{self, ApplicationCreated};
use hall_platform::demo;
use reqwest::StatusCode;
use serde_json::{Value, json};

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

both!(
    invalid_applications_get_field_errors,
    hostile_requests_get_problems,
    the_openapi_document_is_served,
);
