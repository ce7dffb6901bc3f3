//! The admin's pages of the console: users (added with a first password shown once, or reset),
//! enrolment tokens for new kiosks (shown once), and revoking a kiosk — what `hall-platform
//! console user add`, `fleet enrol-token` and `kioskctl revoke` do, in the browser.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::answers::{bad_form, failure, forbidden, kiosk_id};
use super::pages;
use super::session::{Lang, Signed};
use crate::audit::Actor;
use crate::console_rules::{self as rules, ConsoleRole, User};
use crate::state::AppState;
use crate::store::console as rows;
use crate::store::fleet as fleet_rows;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/admin", get(admin_page))
        .route("/console/admin/users", post(add_user))
        .route("/console/admin/enrol-tokens", post(enrol_token))
        .route("/console/kiosks/{id}/revoke", post(revoke))
}

/// Only an admin, with the session's form token (for changes).
fn admin_only(s: &Signed, token: Option<&str>) -> Option<Response> {
    if s.user.role != ConsoleRole::Admin || s.user.must_change {
        tracing::warn!(user = %s.user.name, "a console user who is no admin asked for an admin page");
        return Some(forbidden(s.lang));
    }
    match token {
        Some(t) if !s.form_ok(t) => Some(bad_form(s.lang)),
        _ => None,
    }
}

fn role_name(lang: Lang, role: ConsoleRole) -> &'static str {
    match role {
        ConsoleRole::Helpdesk => lang.t("运维值守", "Help desk"),
        ConsoleRole::Manager => lang.t("大厅管理", "Hall manager"),
        ConsoleRole::Admin => lang.t("管理员", "Admin"),
    }
}

/// What an admin action made, shown once on the page that answers it.
enum Shown {
    Nothing,
    Password { name: String, password: String },
    Token { kiosk: String, token: String },
    Problem(String),
}

fn page(lang: Lang, me: &User, csrf: &str, users: &[(User, bool)], shown: &Shown) -> Markup {
    let body = html! {
        h1 { (lang.t("管理", "Administration")) }
        @match shown {
            Shown::Password { name, password } => {
                section.card role="status" {
                    p { (lang.t("用户 ", "User ")) strong { (name) } (lang.t(" 的初始密码（只显示这一次，首次登录时须修改）：",
                        "'s first password (shown only now; to be changed at the first sign-in):")) }
                    p { code.secret { (password) } }
                }
            }
            Shown::Token { kiosk, token } => {
                section.card role="status" {
                    p { (lang.t("终端 ", "Kiosk ")) strong { (kiosk) } (lang.t(" 的登记令牌（只显示这一次，72小时内有效，写入该终端的 kiosk.toml）：",
                        "'s enrolment token (shown only now, valid 72 hours; put it in that kiosk's kiosk.toml):")) }
                    p { code.secret { (token) } }
                }
            }
            Shown::Problem(p) => { p.problem role="alert" { (p) } }
            Shown::Nothing => {}
        }
        section.card {
            h2 { (lang.t("用户", "Users")) }
            table {
                thead { tr {
                    th scope="col" { (lang.t("用户名", "User name")) }
                    th scope="col" { (lang.t("角色", "Role")) }
                    th scope="col" { (lang.t("状态", "State")) }
                } }
                tbody {
                    @for (u, locked) in users {
                        tr {
                            td { (u.name) }
                            td { (role_name(lang, u.role)) }
                            td {
                                @if *locked { span.bad { (lang.t("已锁定", "Locked")) } " " }
                                @if u.must_change { (lang.t("待修改初始密码", "First password not yet changed")) }
                            }
                        }
                    }
                }
            }
            h3 { (lang.t("添加或重置用户", "Add or reset a user")) }
            form method="post" action="/console/admin/users" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { (lang.t("用户名（字母、数字、. - _ @）", "User name (letters, digits, . - _ @)")) }
                input #name name="name" required maxlength="64" pattern="[A-Za-z0-9._@-]+";
                label for="role" { (lang.t("角色", "Role")) }
                select #role name="role" {
                    @for r in [ConsoleRole::Helpdesk, ConsoleRole::Manager, ConsoleRole::Admin] {
                        option value=(r.as_str()) { (role_name(lang, r)) }
                    }
                }
                button.primary type="submit" { (lang.t("生成初始密码", "Make a first password")) }
            }
        }
        section.card {
            h2 { (lang.t("登记新终端", "Enrol a new kiosk")) }
            form method="post" action="/console/admin/enrol-tokens" {
                input type="hidden" name="csrf" value=(csrf);
                label for="kiosk" { (lang.t("终端编号", "Kiosk id")) }
                input #kiosk name="kiosk" required maxlength="64" pattern="[A-Za-z0-9._-]+";
                label for="hall" { (lang.t("大厅", "Hall")) }
                input #hall name="hall" required maxlength="100";
                button.primary type="submit" { (lang.t("生成登记令牌", "Make an enrolment token")) }
            }
        }
    };
    pages::layout(
        lang,
        lang.t("管理", "Administration"),
        Some((me, csrf)),
        body,
    )
}

async fn show(st: &AppState, s: &Signed, shown: Shown, status: StatusCode) -> Response {
    let now_ms = st.clock().millis();
    match st.store().read(move |_, c| rows::users(c, now_ms)).await {
        Ok(users) => (
            status,
            Html(page(s.lang, &s.user, &s.csrf, &users, &shown).into_string()),
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

async fn admin_page(State(st): State<AppState>, s: Signed) -> Response {
    if let Some(r) = admin_only(&s, None) {
        return r;
    }
    show(&st, &s, Shown::Nothing, StatusCode::OK).await
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    name: String,
    role: String,
}

async fn add_user(State(st): State<AppState>, s: Signed, Form(f): Form<UserForm>) -> Response {
    if let Some(r) = admin_only(&s, Some(&f.csrf)) {
        return r;
    }
    let name = f.name.trim().to_string();
    let (Some(role), true) = (ConsoleRole::parse(&f.role), rules::valid_name(&name)) else {
        let p = s.lang.t(
            "用户名或角色不正确",
            "The user name or the role is not valid",
        );
        return show(
            &st,
            &s,
            Shown::Problem(p.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let password = rules::first_password();
    let pw = password.clone();
    let phc = match tokio::task::spawn_blocking(move || rules::hash_password(&pw)).await {
        Ok(Ok(phc)) => phc,
        Ok(Err(e)) => return failure(e),
        Err(e) => return failure(e),
    };
    let (n, now) = (name.clone(), st.clock().now());
    if let Err(e) = st
        .store()
        .write(move |_, c| rows::put_user(c, &n, role, &phc, true, now))
        .await
    {
        return failure(e);
    }
    tracing::info!(user = %name, role = role.as_str(), by = %s.user.name, "console user added from the console");
    show(&st, &s, Shown::Password { name, password }, StatusCode::OK).await
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    kiosk: String,
    hall: String,
}

async fn enrol_token(State(st): State<AppState>, s: Signed, Form(f): Form<TokenForm>) -> Response {
    if let Some(r) = admin_only(&s, Some(&f.csrf)) {
        return r;
    }
    let (kiosk, hall) = (f.kiosk.trim().to_string(), f.hall.trim().to_string());
    if let Err(e) = crate::http::fleet::check_kiosk(&kiosk, &hall) {
        return show(&st, &s, Shown::Problem(e), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let actor = Actor::Fleet(format!("console:{}", s.user.name));
    let (k, h, now, now_ms) = (
        kiosk.clone(),
        hall.clone(),
        st.clock().now(),
        st.clock().millis(),
    );
    match st
        .store()
        .write(move |_, c| {
            fleet_rows::create_enrol_token(c, &k, &h, 72 * 3_600_000, &actor, now, now_ms)
        })
        .await
    {
        Ok(token) => {
            tracing::info!(kiosk = %kiosk, by = %s.user.name, "enrolment token made from the console");
            show(&st, &s, Shown::Token { kiosk, token }, StatusCode::OK).await
        }
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
}

async fn revoke(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    if let Some(r) = admin_only(&s, Some(&f.csrf)) {
        return r;
    }
    let Some(id) = kiosk_id(&id) else {
        return (StatusCode::NOT_FOUND, "no such kiosk").into_response();
    };
    let actor = Actor::Fleet(format!("console:{}", s.user.name));
    let (k, now) = (id.clone(), st.clock().now());
    match st
        .store()
        .write(move |_, c| fleet_rows::revoke_kiosk(c, &k, &actor, now))
        .await
    {
        Ok(true) => {
            st.known_credentials().forget_kiosk(&id);
            st.fleet_changed();
            tracing::warn!(kiosk = %id, by = %s.user.name, "kiosk revoked from the console");
            Redirect::to(&format!("/console/kiosks/{id}")).into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "no such kiosk").into_response(),
        Err(e) => failure(e),
    }
}
