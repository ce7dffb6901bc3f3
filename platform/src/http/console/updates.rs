//! Field updates in the console: the releases and rollouts (everyone signed in reads them), an
//! admin's upload of a release (the page's script sends the bundle as it is, with the values of
//! its release's JSON), starting a rollout, and widening, stopping or resuming one. Every change
//! is in the audit chain under `release:…` / `rollout:…`, by `console:NAME`.

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hall_domain::api::{RolloutChange, StartRollout};
use serde::Deserialize;

use super::answers::{bad_form, failure, forbidden};
use super::session::Signed;
use super::updates_page as page;
use crate::audit::Actor;
use crate::console_rules::ConsoleRole;
use crate::serve::RequestBodyDeadline;
use crate::state::AppState;
use crate::store::fleet as fleet_rows;
use crate::store::updates as rows;
use crate::updates::Sidecar;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/updates", get(updates_page))
        .route("/console/updates/upload", post(upload))
        .route("/console/updates/rollouts", post(start))
        .route("/console/rollouts/{id}", get(rollout_page))
        .route("/console/rollouts/{id}/live", get(rollout_live))
        .route("/console/rollouts/{id}/change", post(change))
}

/// An admin's change: the session's form token, and the admin role.
fn admin_acts(s: &Signed, token: &str) -> Option<Response> {
    if !s.form_ok(token) {
        return Some(bad_form(s.lang));
    }
    if s.user.role != ConsoleRole::Admin || s.user.must_change {
        tracing::warn!(user = %s.user.name, "a console user who is no admin asked to change a release or rollout");
        return Some(forbidden(s.lang));
    }
    None
}

fn actor(s: &Signed) -> Actor {
    Actor::Fleet(format!("console:{}", s.user.name))
}

async fn updates_page(State(st): State<AppState>, s: Signed) -> Response {
    if s.user.must_change {
        return Redirect::to("/console/password").into_response();
    }
    let (now_ms, offline) = (st.clock().millis(), st.offline_after_ms());
    let found = st
        .store()
        .read(move |_, c| {
            Ok((
                rows::releases(c)?,
                rows::rollouts(c)?,
                fleet_rows::list(c, now_ms, offline)?,
            ))
        })
        .await;
    match found {
        Ok((releases, rollouts, kiosks)) => Html(
            page::updates(s.lang, &s.user, &s.csrf, &releases, &rollouts, &kiosks).into_string(),
        )
        .into_response(),
        Err(e) => failure(e),
    }
}

/// The values of a release's JSON, as the page's script sends them with the bundle.
#[derive(Deserialize)]
struct UploadQuery {
    version: String,
    compatible: String,
    root_sha256: String,
    size: u64,
    sha256: String,
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn upload(
    State(st): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    deadline: Option<Extension<RequestBodyDeadline>>,
    q: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
) -> Response {
    let token = headers
        .get("x-console-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // A bundle is hundreds of MB: a signed-in admin's upload gets the API's hour instead of the
    // 30 s every other request body has (anyone else keeps the 30 s and is refused).
    let mut r = match admin_acts(&s, token) {
        Some(refused) => refused,
        None => {
            if let Some(Extension(d)) = deadline {
                d.extend(crate::http::updates::UPLOAD_WITHIN);
            }
            match upload_checked(&st, &s, q, body).await {
                Ok(version) => text(StatusCode::CREATED, version),
                Err(r) => r,
            }
        }
    };
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}

async fn upload_checked(
    st: &AppState,
    s: &Signed,
    q: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
) -> Result<String, Response> {
    let lang = s.lang;
    let refused = |e: crate::problem::ApiError| {
        let words = e
            .errors
            .first()
            .map(|f| lang.t(&f.message, &f.message_en).to_string())
            .unwrap_or(e.detail.clone());
        text(e.status, words)
    };
    let Ok(Query(q)) = q else {
        return Err(text(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("版本说明（JSON）不完整", "The release's JSON is incomplete")
                .into(),
        ));
    };
    let meta = Sidecar {
        version: q.version,
        compatible: q.compatible,
        root_sha256: q.root_sha256,
        bundle: String::new(),
        size: q.size,
        sha256: q.sha256,
    }
    .checked()
    .map_err(|e| refused(crate::http::updates::release_error(e)))?;
    let v = meta.version.clone();
    match st.store().read(move |_, c| rows::release(c, &v)).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            return Err(refused(crate::http::updates::release_error(
                crate::updates::ReleaseError::Exists(meta.version),
            )));
        }
        Err(e) => return Err(failure(e)),
    }
    let name = crate::http::updates::receive(st, body, &meta)
        .await
        .map_err(refused)?;
    let (m, n, actor, now) = (meta.clone(), name.clone(), actor(s), st.clock().now());
    match st
        .store()
        .write(move |_, c| rows::add_release(c, &m, &n, &actor, now))
        .await
    {
        Ok(true) => {
            tracing::info!(release = %meta.version, by = %s.user.name, "release uploaded from the console");
            Ok(meta.version)
        }
        Ok(false) => {
            crate::updates::remove_bundle(st.releases_dir(), &name);
            Err(refused(crate::http::updates::release_error(
                crate::updates::ReleaseError::Exists(meta.version),
            )))
        }
        Err(e) => {
            crate::updates::remove_bundle(st.releases_dir(), &name);
            Err(failure(e))
        }
    }
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
    release: String,
    /// `kiosk` or `hall`.
    target: String,
    #[serde(default)]
    kiosk: String,
    #[serde(default)]
    hall: String,
    #[serde(default)]
    percent: String,
    stop_on_failure: Option<String>,
}

async fn start(State(st): State<AppState>, s: Signed, Form(f): Form<StartForm>) -> Response {
    if let Some(r) = admin_acts(&s, &f.csrf) {
        return r;
    }
    let percent = match f.percent.trim() {
        "" => None,
        p => match p.parse::<u8>() {
            Ok(p) => Some(p),
            Err(_) => Some(0),
        },
    };
    let by_hall = f.target == "hall";
    let req = StartRollout {
        release: f.release.trim().to_string(),
        kiosk_id: (!by_hall).then(|| f.kiosk.trim().to_string()),
        hall: by_hall.then(|| f.hall.trim().to_string()),
        percent: if by_hall { percent } else { None },
        stop_on_failure: f.stop_on_failure.as_deref() == Some("1"),
    };
    let (actor, now, now_ms) = (actor(&s), st.clock().now(), st.clock().millis());
    match st
        .store()
        .write(move |_, c| rows::start_rollout(c, &req, &actor, now, now_ms))
        .await
    {
        Ok(Ok(id)) => {
            st.fleet_changed();
            tracing::info!(rollout = %id, by = %s.user.name, "rollout started from the console");
            Redirect::to(&format!("/console/rollouts/{id}")).into_response()
        }
        Ok(Err(refusal)) => text(
            StatusCode::UNPROCESSABLE_ENTITY,
            page::refusal(s.lang, &refusal).into(),
        ),
        Err(e) => failure(e),
    }
}

fn not_found(s: &Signed) -> Response {
    text(
        StatusCode::NOT_FOUND,
        s.lang.t("没有这次发布", "There is no such rollout").into(),
    )
}

async fn load(st: &AppState, s: &Signed, id: &str) -> Result<page::RolloutView, Response> {
    if super::answers::kiosk_id(id).is_none() {
        return Err(not_found(s));
    }
    let id = id.to_string();
    let found = st
        .store()
        .read(move |_, c| {
            Ok(match rows::rollout(c, &id)? {
                Some(rollout) => Some((rollout, rows::rollout_events(c, &id, 100)?)),
                None => None,
            })
        })
        .await
        .map_err(failure)?;
    let (rollout, events) = found.ok_or_else(|| not_found(s))?;
    Ok(page::RolloutView { rollout, events })
}

async fn rollout_page(State(st): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    if s.user.must_change {
        return Redirect::to("/console/password").into_response();
    }
    match load(&st, &s, &id).await {
        Ok(view) => {
            Html(page::rollout(s.lang, &s.user, &s.csrf, &view).into_string()).into_response()
        }
        Err(r) => r,
    }
}

async fn rollout_live(State(st): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    match load(&st, &s, &id).await {
        Ok(view) => Html(page::rollout_live(s.lang, &view).into_string()).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    csrf: String,
    action: String,
    #[serde(default)]
    percent: String,
}

async fn change(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<ChangeForm>,
) -> Response {
    if let Some(r) = admin_acts(&s, &f.csrf) {
        return r;
    }
    let change = match f.action.as_str() {
        "stop" => RolloutChange::Stop,
        "resume" => RolloutChange::Resume,
        "widen" => RolloutChange::Widen {
            percent: f.percent.trim().parse().unwrap_or(0),
        },
        _ => return text(StatusCode::UNPROCESSABLE_ENTITY, "action unknown".into()),
    };
    let (actor, now, rid) = (actor(&s), st.clock().now(), id.clone());
    match st
        .store()
        .write(move |_, c| rows::change_rollout(c, &rid, &change, &actor, now))
        .await
    {
        Ok(Ok(())) => {
            st.fleet_changed();
            tracing::info!(rollout = %id, action = %f.action, by = %s.user.name, "rollout changed from the console");
            Redirect::to(&format!("/console/rollouts/{id}")).into_response()
        }
        Ok(Err(refusal)) => text(
            StatusCode::UNPROCESSABLE_ENTITY,
            page::refusal(s.lang, &refusal).into(),
        ),
        Err(e) => failure(e),
    }
}
