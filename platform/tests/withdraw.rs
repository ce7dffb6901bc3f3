//! Withdrawal of submissions a kiosk never confirmed to the applicant, and the idempotency-key
//! checks, against the real platform on loopback (SQLite and PostgreSQL).

mod common;

use std::time::Duration;

use common::{Hall, Kind, TestDb, planning_permit, today};
use hall_domain::Blzt;
use hall_domain::api::{self, CaseView, Problem};
use hall_platform::audit::Verdict;
use hall_platform::demo;
use hall_platform::staff::NodeAction;
use hall_platform::store::{NodeActionRequest, Store, WITHDRAW_REASON};
use reqwest::StatusCode;
use serde_json::{Value, json};

impl Hall {
    /// As the kiosk sends it: `{}` with the key.
    async fn withdraw(&self, key: &str) -> reqwest::Response {
        self.http
            .post(self.url(api::APPLICATIONS_WITHDRAW))
            .header(api::IDEMPOTENCY_HEADER, key)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    }

    async fn by_key(&self, key: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/api/v1/applications/by-key/{key}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    async fn case(&self, code: &str) -> CaseView {
        let r = self
            .http
            .get(format!("{}{}", self.base, api::case_path(code)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

async fn conflict_code(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(ct, "application/problem+json");
    let p: Problem = resp.json().await.unwrap();
    p.errors.first().map(|e| e.code.clone()).unwrap_or_default()
}

/// The store, with the key file the platform made (it reads applicants).
async fn store(db: &TestDb) -> Store {
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let keys = hall_platform::seal::Sealer::load(&hall_platform::SealKeys::made_for(&url))?;
        Store::open(&url)?.with_sealer(std::sync::Arc::new(keys))
    })
    .await
    .unwrap()
    .unwrap()
}

async fn act(db: &TestDb, code: &str, department: &str, action: NodeAction) {
    let s = store(db).await;
    let req = NodeActionRequest {
        approval_code: code.to_string(),
        department: department.to_string(),
        action,
        opinion: None,
        actor: hall_platform::audit::Actor::Admin,
        today: today(),
        now: today().and_hms_opt(10, 0, 0).unwrap(),
    };
    let r = tokio::task::spawn_blocking(move || s.act_on_node_blocking(&req))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
}

async fn withdrawing_a_case_and_a_key_that_never_arrived(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    // A case arrived under the key, then the kiosk withdraws it.
    let created = hall.apply("w-told-not", &planning_permit("K-W")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    let state = hall.by_key("w-told-not").await;
    assert_eq!(state["active_cases"], 1);
    assert_eq!(state["withdrawn"], false);
    assert_eq!(state["case"]["approval_code"], code.as_str());

    let r = hall.withdraw("w-told-not").await;
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer, json!({ "withdrawn": true, "approval_code": code }));
    let case = hall.case(&code).await;
    assert_eq!(case.status, Blzt::Withdrawn);
    assert!(!case.nodes.is_empty());
    for n in &case.nodes {
        assert_eq!(n.status_code, Blzt::Withdrawn);
    }
    let details: hall_domain::api::CaseDetails = hall
        .http
        .post(format!("{}{}", hall.base, api::case_details_path(&code)))
        .json(&json!({ "id_number": demo::APPLICANT_ID }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details.opinions.len(), case.nodes.len());
    for o in &details.opinions {
        assert_eq!(o.opinion, WITHDRAW_REASON);
    }
    // Twice is the same, and the key cannot create anything any more.
    let again: Value = hall.withdraw("w-told-not").await.json().await.unwrap();
    assert_eq!(again, answer);
    let retried = hall.apply("w-told-not", &planning_permit("K-W")).await;
    assert_eq!(conflict_code(retried).await, "idempotency_key_withdrawn");
    let state = hall.by_key("w-told-not").await;
    assert_eq!(state["active_cases"], 0);
    assert_eq!(state["withdrawn"], true);
    assert_eq!(state["case"]["status"], 2);
    assert_eq!(state["case"]["active"], false);

    // No case yet: a tombstone; the request arriving later creates nothing.
    let r = hall.withdraw("w-in-flight").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({ "withdrawn": false })
    );
    let late = hall.apply("w-in-flight", &planning_permit("K-W")).await;
    assert_eq!(conflict_code(late).await, "idempotency_key_withdrawn");
    let again: Value = hall.withdraw("w-in-flight").await.json().await.unwrap();
    assert_eq!(again, json!({ "withdrawn": false }));
    let state = hall.by_key("w-in-flight").await;
    assert_eq!(state["case"], Value::Null);
    assert_eq!(state["withdrawn"], true);
    assert_eq!(state["active_cases"], 0);
    let never = hall.by_key("never-sent").await;
    assert_eq!(never["withdrawn"], false);
    assert_eq!(never["active_cases"], 0);

    // A case a department accepted may still be withdrawn; one it started on may not.
    let accepted: Value = hall
        .apply("w-accepted", &planning_permit("K-W"))
        .await
        .json()
        .await
        .unwrap();
    let accepted_code = accepted["approval_code"].as_str().unwrap().to_string();
    let department = hall.case(&accepted_code).await.nodes[0].department.clone();
    act(&db, &accepted_code, &department, NodeAction::Accept).await;
    let r: Value = hall.withdraw("w-accepted").await.json().await.unwrap();
    assert_eq!(r["withdrawn"], true);

    let started: Value = hall
        .apply("w-started", &planning_permit("K-W"))
        .await
        .json()
        .await
        .unwrap();
    let started_code = started["approval_code"].as_str().unwrap().to_string();
    act(&db, &started_code, &department, NodeAction::Accept).await;
    act(&db, &started_code, &department, NodeAction::Start).await;
    assert_eq!(
        conflict_code(hall.withdraw("w-started").await).await,
        "case_in_progress"
    );
    let case = hall.case(&started_code).await;
    assert_ne!(case.status, Blzt::Withdrawn);
    assert_eq!(hall.by_key("w-started").await["active_cases"], 1);

    // Bad requests.
    let no_key = hall
        .http
        .post(format!("{}/api/v1/applications/withdraw", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::BAD_REQUEST);
    let empty_body = hall
        .http
        .post(format!("{}/api/v1/applications/withdraw", hall.base))
        .header(api::IDEMPOTENCY_HEADER, "w-empty")
        .send()
        .await
        .unwrap();
    assert_eq!(empty_body.status(), StatusCode::OK);
    let with_body = hall
        .http
        .post(format!("{}/api/v1/applications/withdraw", hall.base))
        .header(api::IDEMPOTENCY_HEADER, "w-body")
        .json(&json!({ "approval_code": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(with_body.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // What the kiosk has at the platform, by kiosk id: withdrawn cases are kept, not deleted.
    let s = store(&db).await;
    let listed = tokio::task::spawn_blocking(move || {
        let l = s.cases_by_kiosk_blocking(common::KIOSK).unwrap();
        let audit = s.audit_for_blocking(&code).unwrap();
        let verdict = s.audit_verify_blocking().unwrap();
        (l, audit, verdict)
    })
    .await
    .unwrap();
    let (cases, audit, verdict) = listed;
    assert_eq!(cases.len(), 3);
    let active: Vec<_> = cases.iter().filter(|c| c.active).collect();
    assert_eq!(active.len(), 1);
    // Stored scoped by the kiosk whose credential sent it.
    assert_eq!(
        active[0].idempotency_key,
        format!("{}:w-started", common::KIOSK)
    );
    let actions: Vec<_> = audit.iter().map(|e| e.action.as_str()).collect();
    // (The applicant's card was shown the reason above: that too is audited.)
    assert_eq!(
        actions,
        ["case.created", "case.withdrawn", "case.details.shown"]
    );
    assert!(audit[1].detail.contains(WITHDRAW_REASON));
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    hall.server.shutdown().await;
}

/// A withdrawal and the submission it withdraws race (the submission still in flight): whatever
/// the order, no active case remains and each key ends up either withdrawn with its case, or
/// refused before creating one.
async fn withdrawal_races_the_submission(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let hall = std::sync::Arc::new(hall);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let h = std::sync::Arc::clone(&hall);
        tasks.push(tokio::spawn(async move {
            let key = format!("race-{i}");
            let body = planning_permit("K-R");
            let (created, withdrawn) = tokio::join!(h.apply(&key, &body), async {
                if i % 2 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                h.withdraw(&key).await
            });
            let created_status = created.status();
            assert_eq!(withdrawn.status(), StatusCode::OK);
            let w: Value = withdrawn.json().await.unwrap();
            let state = h.by_key(&key).await;
            assert_eq!(state["active_cases"], 0, "{key}: {state}");
            assert_eq!(state["withdrawn"], true);
            if w["withdrawn"] == true {
                // The case came first, and it is withdrawn.
                assert_eq!(created_status, StatusCode::CREATED);
                assert_eq!(state["case"]["approval_code"], w["approval_code"]);
            } else {
                // The tombstone came first: nothing was created.
                assert_eq!(conflict_code(created).await, "idempotency_key_withdrawn");
                assert_eq!(state["case"], Value::Null);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = store(&db).await;
    let cases =
        tokio::task::spawn_blocking(move || s.cases_by_kiosk_blocking(common::KIOSK).unwrap())
            .await
            .unwrap();
    assert!(cases.iter().all(|c| !c.active));
    // Tombstone first, then the request: refused.
    assert_eq!(
        hall.withdraw("race-late")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!({ "withdrawn": false })
    );
    assert_eq!(
        conflict_code(hall.apply("race-late", &planning_permit("K-R")).await).await,
        "idempotency_key_withdrawn"
    );
}

/// An instant (秒批) item is approved as it arrives; nobody has acted on it and nobody knows its
/// code until the kiosk shows it, so the kiosk withdraws it like a waiting case. Once staff can
/// have seen it (a case that is not instant and was acted on), it stays.
async fn an_instant_approval_never_shown_is_withdrawn(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let body = json!({
        "item_id": "project-filing",
        "applicant": {
            "name": demo::APPLICANT_NAME,
            "id_number": demo::APPLICANT_ID,
            "phone": demo::APPLICANT_PHONE
        },
        "organization": { "name": "", "credit_code": demo::CREDIT_CODE },
        "project": { "code": demo::PROJECT_CODE, "name": "" },
        "materials": [
            { "material_id": "filing-form", "status": "provided", "pages": 1 },
            { "material_id": "business-licence", "status": "provided", "pages": 1 },
            { "material_id": "compliance-pledge", "status": "committed", "pages": 0 }
        ],
        "identified_by": "typed",
        "kiosk_id": "K-I"
    });
    let created: Value = hall.apply("instant-1", &body).await.json().await.unwrap();
    let code = created["approval_code"].as_str().unwrap().to_string();
    assert_eq!(
        hall.case(&code).await.status,
        Blzt::Approved,
        "decided at once"
    );

    let answer: Value = hall.withdraw("instant-1").await.json().await.unwrap();
    assert_eq!(answer["withdrawn"], json!(true), "{answer}");
    let case = hall.case(&code).await;
    assert_eq!(case.status, Blzt::Withdrawn);
    assert!(case.nodes.iter().all(|n| n.status_code == Blzt::Withdrawn));
    assert_eq!(hall.by_key("instant-1").await["active_cases"], json!(0));
    hall.server.shutdown().await;
}

both!(
    withdrawing_a_case_and_a_key_that_never_arrived,
    withdrawal_races_the_submission,
    an_instant_approval_never_shown_is_withdrawn
);
