//! What every handler shares: JSON bodies whose every rejection is a problem+json answer, the
//! `Idempotency-Key` header, and path parameters.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use hall_domain::api::{self};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, field_error};

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

pub(super) const MAX_KEY_CHARS: usize = 128;

/// A JSON body whose every rejection is a problem+json answer: 415 for another media type,
/// 413 past [`BODY_LIMIT`], 400 for malformed JSON, 422 (with the field path) for JSON of the
/// wrong shape.
pub struct ApiJson<T>(pub T);

pub(super) fn is_json(parts_ct: Option<&header::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// A JSON body not yet decoded (media type and size checked), for handlers that read it twice
/// or verify its signature first.
pub struct JsonBytes(pub Bytes);

impl<S> FromRequest<S> for JsonBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(BODY_LIMIT)
            } else {
                ApiError::bad_request(field_error(
                    "body",
                    "read",
                    "请求内容未能完整接收，请重试",
                    "The request body could not be read; please try again",
                ))
            }
        })?;
        Ok(JsonBytes(bytes))
    }
}

pub(super) fn malformed_json() -> ApiError {
    ApiError::bad_request(field_error(
        "body",
        "json",
        "请求内容不是有效的 JSON",
        "The request body is not valid JSON",
    ))
}

/// Decodes JSON, naming the field whose value does not fit.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.classify() != serde_json::error::Category::Data {
            return malformed_json();
        }
        let text = inner.to_string();
        let base = if path == "." { String::new() } else { path };
        // serde names a missing field in its message and the path stops at its parent.
        if let Some(name) = text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let field = if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}.{name}")
            };
            return ApiError::validation(vec![field_error(
                &field,
                "missing",
                &format!("缺少字段“{field}”"),
                &format!("The field {field} is missing"),
            )]);
        }
        let field = if base.is_empty() {
            "body".to_string()
        } else {
            base
        };
        // Kept short and without the position; it goes back only to the sender, never to logs.
        let kind = text
            .split(" at line ")
            .next()
            .and_then(|t| t.split(':').next())
            .unwrap_or("invalid value")
            .trim();
        ApiError::validation(vec![field_error(
            &field,
            "type",
            &format!("字段“{field}”的值不符合要求"),
            &format!("The field {field} has an unexpected value ({kind})"),
        )])
    })?;
    de.end().map_err(|_| malformed_json())?;
    Ok(value)
}

/// The `Idempotency-Key` header, required on applications.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(api::IDEMPOTENCY_HEADER) else {
            return Err(ApiError::bad_request(field_error(
                api::IDEMPOTENCY_HEADER,
                "missing",
                "缺少 Idempotency-Key 请求头：每次提交须带一个唯一的键，重试时使用同一个键",
                "The Idempotency-Key header is missing: send a unique key with each \
                 submission and the same key when retrying",
            )));
        };
        let key = value.to_str().map(str::trim).unwrap_or_default();
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_CHARS
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ApiError::bad_request(field_error(
                api::IDEMPOTENCY_HEADER,
                "invalid",
                &format!("Idempotency-Key 须为1至{MAX_KEY_CHARS}个可见 ASCII 字符"),
                &format!(
                    "The Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
                ),
            )));
        }
        Ok(IdempotencyKey(key.to_string()))
    }
}

pub(super) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(v)| v).map_err(|_| {
        ApiError::bad_request(field_error(
            "path",
            "path",
            "请求路径中的参数无法识别",
            "A parameter in the request path cannot be read",
        ))
    })
}
