//! Problem answers as the tests read them.

use hall_domain::api::Problem;
use reqwest::StatusCode;

/// Reads a problem answer, checking the status and the media type.
pub async fn problem(resp: reqwest::Response, status: StatusCode) -> Problem {
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

pub fn has_error(p: &Problem, field: &str, code: &str) -> bool {
    p.errors.iter().any(|e| {
        e.field == field && e.code == code && !e.message.is_empty() && !e.message_en.is_empty()
    })
}
