//! The platform's administration against the real server: department staff moving a case
//! through review (API and command line), the audit chain, catalogue versions.

mod common;

use common::{
    Hall, Kind, TestDb, cli_async, has_error, planning_permit_application, problem, today,
};

use hall_domain::Blzt;
use hall_domain::api::{self, CaseDetails, CaseView, Item, Order};
use hall_platform::demo;
use reqwest::StatusCode;
use serde_json::{Value, json};

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

both!(
    staff_move_a_case_through_parallel_review,
    the_audit_chain_detects_edits_and_deletions,
    cases_keep_the_catalogue_they_were_submitted_under,
);
