//! The console's plain answers: a failure on the platform's side, a refusal, an expired form,
//! and the kiosk id a path may hold.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::Lang;

/// Something went wrong on the platform's side: said plainly, logged with its cause.
pub(super) fn failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console request failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "暂时无法完成，请稍后再试 / Not possible right now; please try again shortly",
    )
        .into_response()
}
pub(super) fn forbidden(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lang.t("没有此项权限", "Not allowed for your role")
            .to_string(),
    )
        .into_response()
}
pub(super) fn bad_form(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lang.t(
            "表单已失效，请返回后刷新页面重试",
            "This form has expired: go back, reload the page and try again",
        )
        .to_string(),
    )
        .into_response()
}
pub(super) fn kiosk_id(id: &str) -> Option<String> {
    crate::http::fleet::check_kiosk(id, "-")
        .ok()
        .map(|()| id.to_string())
}
