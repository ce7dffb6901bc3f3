//! The help desk's and hall manager's web console under `/console/`: sign-in, the kiosks with
//! their health and help calls (updating by itself through server-sent events), one kiosk with
//! its commands and the help desk's actions. Same process and TLS as the API; every state in the
//! database.

mod admin;
mod answers;
mod assets;
mod charts;
mod dashboard;
mod dashboard_page;
mod pages;
mod session;
mod timeline;
mod updates;
mod updates_page;

use std::convert::Infallible;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use hall_domain::api::{CommandKind, IssueCommand};
use serde::Deserialize;

use self::answers::{bad_form, failure, forbidden, kiosk_id};
use self::session::{
    LOGIN_COOKIE, Lang, Signed, cleared_cookie, cookie, session_cookie, set_cookie,
};
use crate::console_rules::{self as rules, SignIn};
use crate::fleet_rules::new_secret;
use crate::state::AppState;
use crate::store::console as rows;
use crate::store::fleet as fleet_rows;
use crate::store::fleet_history as history;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(kiosks_page))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/password", get(password_page).post(password))
        .route("/console/kiosks/live", get(kiosks_live))
        .route("/console/kiosks/{id}", get(kiosk_page))
        .route("/console/kiosks/{id}/live", get(kiosk_live))
        .route("/console/kiosks/{id}/command", post(command))
        .route("/console/kiosks/{id}/help/take", post(take_help))
        .route("/console/kiosks/{id}/help/done", post(help_done))
        .route("/console/events", get(events))
        .route("/console/assets/{name}", get(assets::asset))
        .merge(admin::router())
        .merge(dashboard::router())
        .merge(updates::router())
        .layer(middleware::map_response(security_headers))
}

/// Every console answer: no framing, no sniffing, scripts and styles from the console only, and
/// never cached (pages carry people's names and form tokens).
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    r
}

/// `?lang=zh|en`: the choice, kept in a cookie for the next pages.
#[derive(Deserialize)]
struct LangChoice {
    lang: Option<String>,
}

fn with_lang(q: &LangChoice, headers: &HeaderMap, page: impl FnOnce(Lang) -> Response) -> Response {
    match q.lang.as_deref() {
        Some(choice @ ("zh" | "en")) => {
            let lang = if choice == "en" { Lang::En } else { Lang::Zh };
            let mut r = page(lang);
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie("hall_lang", choice, 365 * 86_400),
            );
            r
        }
        _ => page(Lang::of(headers)),
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

async fn login_page(Query(q): Query<LangChoice>, headers: HeaderMap) -> Response {
    with_lang(&q, &headers, |lang| {
        let (token, _) = new_secret("");
        let mut r = Html(pages::login(lang, &token, None).into_string()).into_response();
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &token, 3600));
        r
    })
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    name: String,
    password: String,
}

async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !rules::same_secret(expected, &f.csrf) {
        return bad_form(lang);
    }
    let refused = |problem: &str| {
        let (token, _) = new_secret("");
        let mut r = (
            StatusCode::UNAUTHORIZED,
            Html(pages::login(lang, &token, Some(problem)).into_string()),
        )
            .into_response();
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &token, 3600));
        r
    };
    let wrong = lang.t("用户名或密码不正确", "Wrong user name or password");
    let name = f.name.trim().to_string();
    if !rules::valid_name(&name) {
        tokio::task::spawn_blocking(rules::waste_a_verification)
            .await
            .ok();
        return refused(wrong);
    }
    let now_ms = st.clock().millis();
    let who = name.clone();
    let found = match st
        .store()
        .read(move |_, c| rows::sign_in_hash(c, &who, now_ms))
        .await
    {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    let locked = |secs: i64| {
        let minutes = (secs + 59) / 60;
        match lang {
            Lang::Zh => format!("登录失败次数过多，账户已锁定，请{minutes}分钟后再试"),
            Lang::En => {
                format!("Too many failed sign-ins: the account is locked for {minutes} min")
            }
        }
    };
    let (user, phc) = match found {
        Ok(found) => found,
        Err(SignIn::Locked { for_secs }) => return refused(&locked(for_secs)),
        Err(SignIn::Refused) => {
            tokio::task::spawn_blocking(rules::waste_a_verification)
                .await
                .ok();
            return refused(wrong);
        }
    };
    let password = zeroize::Zeroizing::new(f.password);
    let ok = tokio::task::spawn_blocking(move || rules::verify_password(&phc, &password))
        .await
        .unwrap_or(false);
    let now = st.clock().now();
    if !ok {
        let who = user.name.clone();
        return match st
            .store()
            .write(move |_, c| rows::sign_in_failed(c, &who, now, now_ms))
            .await
        {
            Ok(SignIn::Locked { for_secs }) => {
                tracing::warn!(user = %user.name, "console account locked after failed sign-ins");
                refused(&locked(for_secs))
            }
            Ok(SignIn::Refused) => refused(wrong),
            Err(e) => failure(e),
        };
    }
    let who = user.name.clone();
    match st
        .store()
        .write(move |_, c| rows::open_session(c, &who, now, now_ms))
        .await
    {
        Ok((token, _)) => {
            tracing::info!(user = %user.name, role = user.role.as_str(), "console sign-in");
            let to = if user.must_change {
                "/console/password"
            } else {
                "/console/"
            };
            let mut r = Redirect::to(to).into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&token));
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
            r
        }
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
}

async fn logout(State(st): State<AppState>, s: Signed, Form(f): Form<TokenForm>) -> Response {
    if !s.form_ok(&f.csrf) {
        return bad_form(s.lang);
    }
    let sha = s.sha.clone();
    if let Err(e) = st
        .store()
        .write(move |_, c| rows::close_session(c, &sha))
        .await
    {
        return failure(e);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, cleared_cookie());
    r
}

async fn password_page(s: Signed) -> Response {
    Html(pages::password(s.lang, &s.user, &s.csrf, None).into_string()).into_response()
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    again: String,
}

async fn password(State(st): State<AppState>, s: Signed, Form(f): Form<PasswordForm>) -> Response {
    if !s.form_ok(&f.csrf) {
        return bad_form(s.lang);
    }
    let lang = s.lang;
    let again = |problem: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::password(lang, &s.user, &s.csrf, Some(problem)).into_string()),
        )
            .into_response()
    };
    if f.new != f.again {
        return again(lang.t("两次输入的新密码不一致", "The two new passwords differ"));
    }
    if let Some((zh, en)) = rules::password_problem(&f.new, &s.user.name) {
        return again(lang.t(zh, en));
    }
    let (now_ms, who) = (st.clock().millis(), s.user.name.clone());
    let phc = match st
        .store()
        .read(move |_, c| rows::sign_in_hash(c, &who, now_ms))
        .await
    {
        Ok(Ok((_, phc))) => phc,
        Ok(Err(_)) => return forbidden(lang),
        Err(e) => return failure(e),
    };
    let (current, new) = (
        zeroize::Zeroizing::new(f.current),
        zeroize::Zeroizing::new(f.new),
    );
    let hashed = tokio::task::spawn_blocking(move || {
        rules::verify_password(&phc, &current).then(|| rules::hash_password(&new))
    })
    .await
    .ok()
    .flatten();
    let phc = match hashed {
        None => return again(lang.t("当前密码不正确", "The current password is wrong")),
        Some(Err(e)) => return failure(e),
        Some(Ok(phc)) => phc,
    };
    let (now, who, keep) = (st.clock().now(), s.user.name.clone(), s.sha.clone());
    match st
        .store()
        .write(move |_, c| rows::change_password(c, &who, &phc, &keep, now))
        .await
    {
        Ok(()) => Redirect::to("/console/").into_response(),
        Err(e) => failure(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Kiosks

async fn rows_of(st: &AppState, one: Option<String>) -> Result<Vec<pages::Row>, Response> {
    let (now_ms, offline) = (st.clock().millis(), st.offline_after_ms());
    st.store()
        .read(move |_, c| {
            let kiosks = match &one {
                Some(id) => fleet_rows::show(c, id, now_ms, offline)?
                    .into_iter()
                    .collect(),
                None => fleet_rows::list(c, now_ms, offline)?,
            };
            let mut out = Vec::with_capacity(kiosks.len());
            for kiosk in kiosks {
                let taken_by = if kiosk.needs_help {
                    rows::help_taken(c, &kiosk.kiosk_id)?.map(|(by, _)| by)
                } else {
                    None
                };
                // A kiosk's own page: its last seven days.
                let history = if one.is_some() {
                    history::since(c, &kiosk.kiosk_id, now_ms - 7 * 86_400_000, 500)?
                } else {
                    Vec::new()
                };
                out.push(pages::Row {
                    kiosk,
                    taken_by,
                    history,
                });
            }
            // Help calls first, the longest waiting first; then by hall and id.
            out.sort_by(|a, b| {
                (
                    !a.kiosk.needs_help,
                    a.kiosk.help_since,
                    &a.kiosk.hall,
                    &a.kiosk.kiosk_id,
                )
                    .cmp(&(
                        !b.kiosk.needs_help,
                        b.kiosk.help_since,
                        &b.kiosk.hall,
                        &b.kiosk.kiosk_id,
                    ))
            });
            Ok(out)
        })
        .await
        .map_err(failure)
}

fn must_change(s: &Signed) -> Option<Response> {
    s.user
        .must_change
        .then(|| Redirect::to("/console/password").into_response())
}

async fn kiosks_page(State(st): State<AppState>, s: Signed) -> Response {
    if let Some(r) = must_change(&s) {
        return r;
    }
    match rows_of(&st, None).await {
        Ok(rows) => {
            Html(pages::kiosks(s.lang, &s.user, &s.csrf, &rows, st.clock().now()).into_string())
                .into_response()
        }
        Err(r) => r,
    }
}

async fn kiosks_live(State(st): State<AppState>, s: Signed) -> Response {
    match rows_of(&st, None).await {
        Ok(rows) => {
            Html(pages::kiosks_live(s.lang, &rows, st.clock().now()).into_string()).into_response()
        }
        Err(r) => r,
    }
}

async fn one(st: &AppState, s: &Signed, id: &str) -> Result<pages::Row, Response> {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            s.lang
                .t("没有这台自助终端", "There is no kiosk with this id")
                .to_string(),
        )
            .into_response()
    };
    let id = kiosk_id(id).ok_or_else(not_found)?;
    rows_of(st, Some(id)).await?.pop().ok_or_else(not_found)
}

async fn kiosk_page(State(st): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    if let Some(r) = must_change(&s) {
        return r;
    }
    match one(&st, &s, &id).await {
        Ok(row) => {
            Html(pages::kiosk(s.lang, &s.user, &s.csrf, &row, st.clock().now()).into_string())
                .into_response()
        }
        Err(r) => r,
    }
}

async fn kiosk_live(State(st): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    match one(&st, &s, &id).await {
        Ok(row) => {
            Html(pages::kiosk_live(s.lang, &row, st.clock().now()).into_string()).into_response()
        }
        Err(r) => r,
    }
}

/// A state change by the help desk: the form's token is the session's and the role may act.
fn may_act(s: &Signed, token: &str) -> Option<Response> {
    if !s.form_ok(token) {
        return Some(bad_form(s.lang));
    }
    if s.user.must_change {
        return Some(forbidden(s.lang));
    }
    if !s.user.role.acts_on_kiosks() {
        tracing::warn!(user = %s.user.name, "a console user without the right asked to act on a kiosk");
        return Some(forbidden(s.lang));
    }
    None
}

fn back_to(id: &str) -> Response {
    Redirect::to(&format!("/console/kiosks/{id}")).into_response()
}

#[derive(Deserialize)]
struct CommandForm {
    csrf: String,
    kind: String,
    force: Option<String>,
}

async fn command(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CommandForm>,
) -> Response {
    if let Some(r) = may_act(&s, &f.csrf) {
        return r;
    }
    let (Some(id), Some(kind)) = (kiosk_id(&id), CommandKind::parse(&f.kind)) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "kiosk or command unknown").into_response();
    };
    let req = IssueCommand {
        kind,
        kiosk_id: Some(id.clone()),
        hall: None,
        force: f.force.as_deref() == Some("1"),
        ttl_secs: None,
    };
    let actor = crate::audit::Actor::Fleet(format!("console:{}", s.user.name));
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    match st
        .store()
        .write(move |_, c| fleet_rows::issue(c, &req, &actor, now, now_ms))
        .await
    {
        Ok(Ok(cmds)) => {
            for c in &cmds {
                st.command_issued(&c.kiosk_id);
                tracing::info!(kiosk = %c.kiosk_id, command = %c.id, kind = c.kind.as_str(),
                    force = c.force, by = %s.user.name, "command issued from the console");
            }
            st.fleet_changed();
            back_to(&id)
        }
        Ok(Err(_)) => (StatusCode::NOT_FOUND, "no such kiosk").into_response(),
        Err(e) => failure(e),
    }
}

/// A help-desk change to one kiosk's help call: checked, written, told to every console, and the
/// person taken back to the kiosk's page.
async fn on_help_call<F>(
    st: AppState,
    s: Signed,
    id: String,
    token: String,
    mut write: F,
) -> Response
where
    F: FnMut(&mut dyn crate::db::Conn, &str, &str) -> Result<bool, crate::error::StoreError>
        + Send
        + 'static,
{
    if let Some(r) = may_act(&s, &token) {
        return r;
    }
    let Some(id) = kiosk_id(&id) else {
        return (StatusCode::NOT_FOUND, "no such kiosk").into_response();
    };
    let (k, by) = (id.clone(), s.user.name.clone());
    // Run again as a whole if PostgreSQL aborts it for a conflict: the closure is FnMut.
    let written = st.store().write(move |_, c| write(c, &k, &by)).await;
    match written {
        Ok(_) => {
            st.fleet_changed();
            back_to(&id)
        }
        Err(e) => failure(e),
    }
}

async fn take_help(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    let now = st.clock().now();
    on_help_call(st, s, id, f.csrf, move |c, k, by| {
        rows::take_help(c, k, by, now)
    })
    .await
}

async fn help_done(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    on_help_call(st, s, id, f.csrf, move |c, k, by| {
        let actor = crate::audit::Actor::Fleet(format!("console:{by}"));
        fleet_rows::clear_help(c, k, &actor, now, now_ms)
    })
    .await
}

/// Server-sent events: `fleet` whenever a kiosk's state, help call or commands changed, so the
/// page fetches its live part again. Ends when the platform stops.
async fn events(
    State(st): State<AppState>,
    _s: Signed,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let changes = st.fleet_changes();
    let stopping = st.stopping();
    let stream = futures_util::stream::unfold(
        (changes, stopping),
        |(mut changes, mut stopping)| async move {
            if *stopping.borrow() {
                return None;
            }
            tokio::select! {
                r = changes.recv() => match r {
                    Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        Some((Ok(Event::default().event("fleet").data("changed")), (changes, stopping)))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
                },
                _ = stopping.changed() => None,
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
