//! Errors as RFC 9457 problem details (`application/problem+json`), one shape for every error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hall_domain::CodeError;
use hall_domain::api::{FieldError, Problem};

use crate::error::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem shape, for the OpenAPI document (served as `application/problem+json`).
pub type ProblemDoc = hall_domain::api::Problem;
const TYPE_BASE: &str = "https://platform.hall.example/problems/";

/// An error answer of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Last part of the problem type URI.
    pub kind: &'static str,
    pub title: &'static str,
    /// One sentence in Chinese for people.
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds to wait before asking again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: &str) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.to_string(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Says how long to wait (`Retry-After`, whole seconds, at least 1).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait.as_secs().max(1));
        self
    }

    /// Too many requests from one kiosk in a short time (the rate every kiosk gets).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let zh = "请求过于频繁，请稍后再试";
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            zh,
        )
        .with(field_error(
            "authorization",
            "rate_limited",
            zh,
            "Too many requests from this kiosk; please wait a moment",
        ))
        .retry_after(wait)
    }

    fn with(mut self, error: FieldError) -> Self {
        self.errors.push(error);
        self
    }

    /// 422: the request was understood but some fields are wrong.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The request has invalid fields",
                "提交的信息有误，请按提示修改",
            )
        }
    }

    /// 400 with one field error.
    pub fn bad_request(error: FieldError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
            "请求格式不正确",
        )
        .with(error)
    }

    /// 400 for a code in the path that fails its check.
    pub fn bad_code(field: &str, label: Label, e: &CodeError) -> Self {
        Self::bad_request(code_error(field, label, e))
    }

    /// 404 with a sentence saying what was not found.
    pub fn not_found(field: &str, zh: &str, en: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", zh).with(field_error(
            field,
            "not_found",
            zh,
            en,
        ))
    }

    /// 401: the caller did not prove who it is.
    pub fn unauthorized(field: &str, zh: &str, en: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", zh).with(field_error(
            field,
            "unauthorized",
            zh,
            en,
        ))
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(field: &str, zh: &str, en: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", zh).with(field_error(
            field,
            "forbidden",
            zh,
            en,
        ))
    }

    /// 409: the request conflicts with what already happened.
    pub fn conflict(field: &str, code: &str, zh: &str, en: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", zh)
            .with(field_error(field, code, zh, en))
    }

    /// 429: too many attempts lately; try later (or ask at a window).
    pub fn too_many(field: &str, zh: &str, en: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "Too many attempts",
            zh,
        )
        .with(field_error(field, "too_many", zh, en))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        let zh = format!("请求内容过大，不能超过 {} KiB", limit / 1024);
        let en = format!("The request body is larger than {} KiB", limit / 1024);
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            &zh,
        )
        .with(field_error("body", "too_large", &zh, &en))
    }

    pub fn unsupported_media_type() -> Self {
        let zh = "请求内容须为 JSON（Content-Type: application/json）";
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            zh,
        )
        .with(field_error(
            "body",
            "media_type",
            zh,
            "The request body must be JSON (Content-Type: application/json)",
        ))
    }

    pub fn route_not_found() -> Self {
        Self::not_found("path", "没有这个接口", "There is no such endpoint")
    }

    pub fn method_not_allowed() -> Self {
        let zh = "该接口不支持此请求方法";
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            zh,
        )
        .with(field_error(
            "method",
            "method",
            zh,
            "This endpoint does not support the request method",
        ))
    }

    /// 500; the cause is logged, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "系统暂时出现故障，请稍后再试或咨询窗口工作人员",
        )
    }

    /// 503: a service the platform depends on did not answer.
    pub fn unavailable(zh: &str, en: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            zh,
        )
        .with(field_error("service", "unavailable", zh, en))
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("{TYPE_BASE}{}", self.kind),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: Some(self.detail.clone()),
            errors: self.errors.clone(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "database call failed");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match serde_json::to_vec(&self.problem()) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "a problem could not be serialised");
                b"{\"type\":\"about:blank\",\"title\":\"Internal error\",\"status\":500,\"errors\":[]}"
                    .to_vec()
            }
        };
        let mut resp = (self.status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hall-platform\""),
            );
        }
        resp
    }
}

pub fn field_error(field: &str, code: &str, zh: &str, en: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: zh.to_string(),
        message_en: en.to_string(),
    }
}

/// The name of a field in both languages, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Label {
    pub zh: &'static str,
    pub en: &'static str,
}

pub const ID_NUMBER: Label = Label {
    zh: "身份证号码",
    en: "ID number",
};
pub const PHONE: Label = Label {
    zh: "联系电话",
    en: "phone number",
};
pub const CREDIT_CODE: Label = Label {
    zh: "统一社会信用代码",
    en: "unified social credit code",
};
pub const PROJECT_CODE: Label = Label {
    zh: "项目代码",
    en: "project code",
};
pub const APPROVAL_CODE: Label = Label {
    zh: "审批码",
    en: "approval code",
};
pub const PAYMENT_CODE: Label = Label {
    zh: "缴款码",
    en: "payment code",
};
pub const WALLET_CODE: Label = Label {
    zh: "付款码",
    en: "wallet payment code",
};

/// A field error for a code that failed its check, saying in words what is wrong.
pub fn code_error(field: &str, label: Label, e: &CodeError) -> FieldError {
    let (zh, en) = match e {
        CodeError::Empty => (
            format!("请填写{}", label.zh),
            format!("Please enter the {}", label.en),
        ),
        CodeError::WrongLength { expected, got } => (
            format!("{}应为{expected}位，现在是{got}位", label.zh),
            format!(
                "The {} should have {expected} characters; it has {got}",
                label.en
            ),
        ),
        CodeError::BadCharacter { position } => (
            format!("{}第{position}位的字符不正确", label.zh),
            format!("Character {position} of the {} is not allowed", label.en),
        ),
        CodeError::CheckFailed => (
            format!("{}校验位不符，可能有一位输错了，请逐位核对", label.zh),
            format!(
                "The {}'s check character does not match: a character was probably mistyped",
                label.en
            ),
        ),
        CodeError::BadDate => (
            format!("{}中的出生日期不是有效日期", label.zh),
            format!("The birth date in the {} is not a real date", label.en),
        ),
        CodeError::BadShape => (
            format!("{}格式不正确", label.zh),
            format!("The {} does not have the expected form", label.en),
        ),
    };
    FieldError {
        field: field.to_string(),
        code: e.code().to_string(),
        message: zh,
        message_en: en,
    }
}
