//! Privacy of cases: anyone holding an approval code sees the status; who applied, for which
//! project and what the departments wrote only with the applicant's ID card, a few attempts at a
//! time, each audited without the number.

mod common;

use common::{Hall, Kind, today};
use hall_domain::api::{self, CaseDetails, CaseView, Problem};
use hall_platform::demo;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A valid ID number of someone else than the demo applicant (its check digit computed).
fn other_id_number() -> String {
    id_number(2)
}

/// The valid ID number of the `n`-th (below 1000) person born on 31 Dec 1949 in Beijing.
fn id_number(n: u32) -> String {
    let body = format!("11010519491231{n:03}");
    assert_eq!(body.len(), 17);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    let id = format!("{body}{check}");
    hall_domain::codes::validate_id_number(&id).unwrap();
    id
}

impl Hall {
    async fn case_json(&self, code: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{}", self.base, api::case_path(code)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Asks as the kiosk `kiosk` (enrolled, or enrolled again, now): limits count by the
    /// credential's kiosk.
    async fn details(&self, code: &str, id_number: &str, kiosk: &str) -> reqwest::Response {
        self.kiosk(kiosk)
            .await
            .post(format!("{}{}", self.base, api::case_details_path(code)))
            .json(&json!({ "id_number": id_number }))
            .send()
            .await
            .unwrap()
    }
}

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
    assert!(p.detail.as_deref().is_some_and(|d| !d.is_empty()));
    assert!(
        p.errors
            .iter()
            .all(|e| !e.message.is_empty() && !e.message_en.is_empty())
    );
    p
}

/// Every key anywhere in a JSON value.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

async fn the_code_shows_the_status_only(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    for code in [
        demo::CASE_LATE,
        demo::CASE_APPROVED,
        demo::CASE_CORRECTIONS,
        demo::CASE_UNPAID,
    ] {
        let v = hall.case_json(code).await;
        let text = v.to_string();
        let mut found = Vec::new();
        keys(&v, &mut found);
        for private in ["applicant", "project_name", "project_code", "opinion"] {
            assert!(
                !found.iter().any(|k| k == private),
                "{code} shows {private}: {text}"
            );
        }
        assert!(!text.contains(demo::PROJECT_NAME), "{text}");
        assert!(!text.contains("总平面图"), "{text}");
        assert!(!text.contains('张'), "{text}");
        // The status, the departments' time limits and lateness stay.
        let case: CaseView = serde_json::from_value(v).unwrap();
        assert!(!case.nodes.is_empty());
        assert!(case.nodes.iter().all(|n| n.time_limit_days > 0));
    }
    // What is needed to pay a fee notice by code stays too.
    let unpaid: CaseView = serde_json::from_value(hall.case_json(demo::CASE_UNPAID).await).unwrap();
    assert_eq!(unpaid.fee_notices[0].payment_code, demo::PAYMENT_CODE_CASE);
    assert!(hall.case_json(demo::CASE_LATE).await["nodes"][0]["overdue"].is_boolean());
    hall.server.shutdown().await;
}

async fn the_applicants_card_shows_the_details(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let code = demo::CASE_CORRECTIONS;
    // The card's number is the applicant's.
    let resp = hall.details(code, demo::APPLICANT_ID, "K-01").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let d: CaseDetails = resp.json().await.unwrap();
    assert_eq!(d.case.approval_code, code);
    assert_eq!(d.applicant, "张**");
    assert_eq!(d.project_name, demo::PROJECT_NAME);
    assert_eq!(d.project_code, demo::PROJECT_CODE);
    assert!(
        d.opinion(0).is_some_and(|o| o.contains("总平面图")),
        "{d:?}"
    );
    // Grouped codes work as on the lookup.
    let grouped = hall_domain::ApprovalCode::parse(code).unwrap().grouped();
    let resp = hall.details(&grouped, demo::APPLICANT_ID, "K-01").await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Someone else's card: 403, nothing of the case.
    let resp = hall.details(code, &other_id_number(), "K-01").await;
    let p = problem(resp, StatusCode::FORBIDDEN).await;
    assert!(p.errors.iter().any(|e| e.field == "id_number"));
    let text = serde_json::to_string(&p).unwrap();
    assert!(!text.contains(demo::PROJECT_NAME) && !text.contains("总平面图"));
    // Not an ID number at all: 422, and it is not counted as an attempt.
    let p = problem(
        hall.details(code, "420602195803120012", "K-01").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p.errors.iter().any(|e| e.field == "id_number"));
    // An unknown case: 404; a malformed code: 400; the number never in a URL (GET: 405).
    problem(
        hall.details(
            hall_domain::ApprovalCode::from_parts(today(), 999).as_str(),
            demo::APPLICANT_ID,
            "K-01",
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        hall.details("12345", demo::APPLICANT_ID, "K-01").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = hall
        .http
        .get(format!("{}{}", hall.base, api::case_details_path(code)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Every attempt is audited, without the number.
    let url = db.url.clone();
    let entries = tokio::task::spawn_blocking(move || {
        let store = hall_platform::store::Store::open(&url).unwrap();
        store.audit_for_blocking(code).unwrap()
    })
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "case.details.shown")
            .count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "case.details.refused")
            .count(),
        1,
        "{actions:?}"
    );
    for e in &entries {
        let all = format!("{e:?}");
        assert!(!all.contains(demo::APPLICANT_ID), "{all}");
        assert!(!all.contains(&other_id_number()), "{all}");
        assert!(!all.contains("19580312"), "{all}");
    }
    assert!(
        entries
            .iter()
            .any(|e| e.action == "case.details.refused" && e.actor == "kiosk:K-01")
    );
    hall.server.shutdown().await;
}

async fn guessing_is_limited_per_kiosk_and_per_case(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let code = demo::CASE_LATE;
    let other = other_id_number();
    for _ in 0..hall_platform::store::DETAILS_TRIES_PER_KIOSK {
        problem(
            hall.details(code, &other, "K-A").await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    // That kiosk must now wait, even with the right card (no more guesses there)...
    let p = problem(
        hall.details(code, demo::APPLICANT_ID, "K-A").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert!(p.errors.iter().any(|e| e.code == "too_many"));
    // ...while the applicant at another kiosk is not locked out, nor is another case.
    assert_eq!(
        hall.details(code, demo::APPLICANT_ID, "K-B").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        hall.details(demo::CASE_APPROVED, demo::APPLICANT_ID, "K-A")
            .await
            .status(),
        StatusCode::OK
    );
    // Guessing spread over kiosks meets the limit of the case.
    let mut kiosk = 0;
    let mut refused = hall_platform::store::DETAILS_TRIES_PER_KIOSK;
    while refused < hall_platform::store::DETAILS_TRIES_PER_CASE {
        kiosk += 1;
        let r = hall.details(code, &other, &format!("K-{kiosk}")).await;
        problem(r, StatusCode::FORBIDDEN).await;
        refused += 1;
    }
    problem(
        hall.details(code, demo::APPLICANT_ID, "K-fresh").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    hall.server.shutdown().await;
}

async fn a_card_lists_its_holders_own_cases(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let list = |id: String, kiosk: &'static str| {
        let hall = &hall;
        let url = format!("{}{}", hall.base, api::CASES_BY_APPLICANT);
        async move {
            hall.kiosk(kiosk)
                .await
                .post(url)
                .json(&json!({ "id_number": id }))
                .send()
                .await
                .unwrap()
        }
    };
    let r = list(demo::APPLICANT_ID.to_string(), "K-L").await;
    assert_eq!(r.status(), StatusCode::OK);
    let mine: Vec<api::CaseSummary> = r.json().await.unwrap();
    let codes: Vec<&str> = mine.iter().map(|c| c.approval_code.as_str()).collect();
    for code in [
        demo::CASE_LATE,
        demo::CASE_APPROVED,
        demo::CASE_CORRECTIONS,
        demo::CASE_UNPAID,
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    assert!(mine.iter().all(|c| !c.item.is_empty()));
    // Status only: nothing of the project or opinions.
    let text = serde_json::to_string(&mine).unwrap();
    assert!(!text.contains(demo::PROJECT_NAME) && !text.contains("总平面图"));
    // Someone without cases: an empty list; not an ID number: 422.
    let r = list(other_id_number(), "K-L").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 0);
    problem(
        list("420602195803120012".into(), "K-L").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Audited by kiosk, with how many were found, never the number.
    let url = db.url.clone();
    let entries = tokio::task::spawn_blocking(move || {
        let store = hall_platform::store::Store::open(&url).unwrap();
        store.audit_for_blocking("kiosk:K-L").unwrap()
    })
    .await
    .unwrap();
    // (Its enrolment is audited under the same subject.)
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| e.action.starts_with("cases."))
        .collect();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.action == "cases.by_applicant"));
    assert!(
        entries[0].detail.contains("\"found\":4"),
        "{}",
        entries[0].detail
    );
    assert!(
        entries
            .iter()
            .all(|e| !format!("{e:?}").contains(demo::APPLICANT_ID))
    );
    // A kiosk that keeps asking (other people's cards) must wait.
    for n in 2..hall_platform::store::APPLICANT_LISTS_PER_KIOSK {
        assert_eq!(
            list(id_number(100 + n as u32), "K-L").await.status(),
            StatusCode::OK
        );
    }
    problem(
        list(demo::APPLICANT_ID.to_string(), "K-L").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(
        list(demo::APPLICANT_ID.to_string(), "K-M").await.status(),
        StatusCode::OK
    );
    hall.server.shutdown().await;
}

both!(
    a_card_lists_its_holders_own_cases,
    the_code_shows_the_status_only,
    the_applicants_card_shows_the_details,
    guessing_is_limited_per_kiosk_and_per_case,
);

/// Forty wrong cards for one case at once, from two kiosks: the limits hold exactly (each kiosk
/// is answered at most its three refusals), the rest wait (429 with Retry-After).
async fn concurrent_guesses_get_at_most_the_limit(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let code = demo::CASE_APPROVED;
    let other = other_id_number();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let kiosk = hall.kiosk(if n % 2 == 0 { "K-X" } else { "K-Y" }).await;
        let url = format!("{}{}", hall.base, api::case_details_path(code));
        let body = json!({ "id_number": other });
        tasks.push(tokio::spawn(async move {
            let r = kiosk.post(url).json(&body).send().await.unwrap();
            let retry = r.headers().get(reqwest::header::RETRY_AFTER).is_some();
            (r.status(), retry)
        }));
    }
    let mut refused = 0;
    let mut limited = 0;
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        match status {
            StatusCode::FORBIDDEN => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry, "a 429 says when to ask again");
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let per_kiosk = hall_platform::store::DETAILS_TRIES_PER_KIOSK as usize;
    assert_eq!(refused, 2 * per_kiosk, "exactly the limit answered");
    assert_eq!(limited, 40 - 2 * per_kiosk);
    hall.server.shutdown().await;
}

/// One ID number's cases listed again and again, from any kiosk: after ten, the next waits
/// (429 with Retry-After), whichever kiosk asks; another card is not affected.
async fn one_card_is_listed_a_limited_number_of_times(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let url = format!("{}{}", hall.base, api::CASES_BY_APPLICANT);
    let card = json!({ "id_number": id_number(7) });
    for n in 0..10 {
        let kiosk = hall.kiosk(&format!("K-{}", n % 3)).await;
        let r = kiosk.post(&url).json(&card).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "list {n}");
    }
    let r = hall
        .kiosk("K-NEW")
        .await
        .post(&url)
        .json(&card)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=90).contains(&wait), "{wait}");
    let r = hall
        .kiosk("K-NEW")
        .await
        .post(&url)
        .json(&json!({ "id_number": id_number(8) }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    hall.server.shutdown().await;
}

both!(
    concurrent_guesses_get_at_most_the_limit,
    one_card_is_listed_a_limited_number_of_times,
);
