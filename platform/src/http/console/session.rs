//! Who is signed in to the console: the session cookie (HttpOnly, Secure, SameSite=Strict,
//! path /console, expiring with the session), the form token every state change carries, and the
//! language of the pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::console_rules::{SESSION_MS, User, same_secret};
use crate::state::AppState;
use crate::store::console as rows;

pub(super) const COOKIE: &str = "hall_console";
/// The sign-in form's own token (double submit): the form is protected before any session.
pub(super) const LOGIN_COOKIE: &str = "hall_console_login";

/// The language of the pages: Chinese unless the browser asks for English first, or the person
/// chose (a cookie, set by `?lang=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        if let Some(chosen) = cookie(headers, "hall_lang") {
            return if chosen == "en" { Lang::En } else { Lang::Zh };
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let first = accept.split(',').next().unwrap_or_default().trim();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The Chinese or the English of a text.
    pub(crate) fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// A cookie's value from the request.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` for the console: HttpOnly, Secure, SameSite=Strict, path /console.
pub(super) fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/console; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Strict"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

pub(super) fn session_cookie(token: &str) -> HeaderValue {
    set_cookie(COOKIE, token, SESSION_MS / 1000)
}

pub(super) fn cleared_cookie() -> HeaderValue {
    set_cookie(COOKIE, "", 0)
}

/// A signed-in person, with the session's form token.
pub(crate) struct Signed {
    pub(crate) user: User,
    pub(crate) csrf: String,
    /// The SHA-256 of the session's cookie token.
    pub(crate) sha: String,
    pub(crate) lang: Lang,
}

impl Signed {
    /// Whether a form's token is this session's.
    pub(crate) fn form_ok(&self, token: &str) -> bool {
        same_secret(token, &self.csrf)
    }
}

/// No session: pages send the person to sign in, other requests get 401.
pub(crate) enum NoSession {
    Page,
    Other,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Page => Redirect::to("/console/login").into_response(),
            NoSession::Other => (
                axum::http::StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "sign in first / 请先登录",
            )
                .into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, NoSession> {
        let page = parts.method == axum::http::Method::GET
            && !parts.uri.path().starts_with("/console/events")
            && !parts.uri.path().ends_with("/live");
        let reject = || {
            if page {
                NoSession::Page
            } else {
                NoSession::Other
            }
        };
        let token = cookie(&parts.headers, COOKIE).ok_or_else(reject)?;
        let sha = crate::staff::token_hash(token);
        let now_ms = st.clock().millis();
        let key = sha.clone();
        let found = st
            .store()
            .read(move |_, c| rows::session(c, &key, now_ms))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "console session lookup failed");
                reject()
            })?;
        let (user, csrf) = found.ok_or_else(reject)?;
        Ok(Signed {
            user,
            csrf,
            sha,
            lang: Lang::of(&parts.headers),
        })
    }
}
