//! The fleet API (`/api/v1/fleet/...`): kiosks enrol, send heartbeats, call for help and
//! long-poll for commands; the help desk lists kiosks and issues commands; admins enrol and
//! revoke. See [`crate::fleet`] for the rules.

use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hall_domain::api::{
    self, CommandAck, EnrolRequest, Enrolled, FleetCommand, Heartbeat, HeartbeatAnswer,
    HelpRequest, IssueCommand, KioskStatus,
};

use super::auth::{FleetAuth, KioskAuth};
use super::extract::{ApiJson, path_param};
use crate::fleet::{self, AckRefusal, IssueRefusal};
use crate::problem::{ApiError, field_error};
use crate::state::AppState;
use crate::store::KeyedCase;
use crate::store::fleet as fleet_rows;

/// The longest a long-poll waits.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often a waiting long-poll looks at the database.
/// How often a waiting poll looks at the database: on SQLite (one instance, or several on one file
/// that cannot tell each other), and on PostgreSQL only as a safety net, since every instance
/// hears of a new command at once there (LISTEN/NOTIFY).
const POLL_EVERY: Duration = Duration::from_millis(200);
const POLL_EVERY_NOTIFIED: Duration = Duration::from_secs(15);
const MAX_ID_CHARS: usize = 64;
/// The longest an enrolment token may wait to be used: 30 days.
const MAX_ENROL_TTL_HOURS: u32 = 24 * 30;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::FLEET_ENROL, post(enrol))
        .route(api::FLEET_HEARTBEAT, post(heartbeat))
        .route(api::FLEET_HELP, post(help))
        .route(api::FLEET_COMMANDS, get(poll).post(issue))
        .route(api::FLEET_COMMAND_ACK, post(ack))
        .route(api::FLEET_ME, get(me))
        .route(api::FLEET_KIOSKS, get(list))
        .route(api::FLEET_KIOSK, get(show))
        .route(api::FLEET_KIOSK_HELP_CLEAR, post(clear_help))
        .route(api::FLEET_KIOSK_REVOKE, post(revoke))
        .route(api::FLEET_KIOSK_APPLICATIONS, get(applications))
        .route(api::FLEET_ENROL_TOKENS, post(enrol_token))
}

fn id_param(p: Result<Path<String>, PathRejection>, field: &str) -> Result<String, ApiError> {
    let id = path_param(p)?.trim().to_string();
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(field_error(
            field,
            "invalid",
            "编号无效",
            "The id is not valid",
        )));
    }
    Ok(id)
}

/// A kiosk id in a path: the shape enrolment gives ids (1 to 64 letters, digits, '-', '_', '.').
fn kiosk_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let id = path_param(p)?;
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(ApiError::bad_request(field_error(
            "kiosk_id",
            "invalid",
            "终端编号须为1至64个字母、数字、“-”、“_”或“.”",
            "A kiosk id is 1 to 64 letters, digits, '-', '_' or '.'",
        )));
    }
    Ok(id)
}

/// Returns when a command for `kiosk` was issued on this instance (or some may have been missed).
async fn issued_here(issued: &mut tokio::sync::broadcast::Receiver<String>, kiosk: &str) {
    loop {
        match issued.recv().await {
            Ok(k) if k == kiosk || k == crate::notify::EVERY_KIOSK => return,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
            // Never while the platform runs: the sender lives in its state.
            Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

fn kiosk_not_found() -> ApiError {
    ApiError::not_found(
        "kiosk_id",
        "没有这台自助终端",
        "There is no kiosk with this id",
    )
}

// ---------------------------------------------------------------------------------------------
// The kiosk's side

#[utoipa::path(post, path = api::FLEET_ENROL, tag = "fleet", request_body = EnrolRequest,
    responses((status = 200, description = "The kiosk's own credential; the token is used up", body = Enrolled),
        (status = 401, description = "Unknown, used or expired enrolment token", body = crate::problem::ProblemDoc)))]
async fn enrol(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<Enrolled>, ApiError> {
    let sha = crate::staff::token_hash(&req.enrolment_token);
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    let done = st
        .store()
        .write(move |_, c| fleet_rows::enrol(c, &sha, now, now_ms))
        .await?;
    let Some((kiosk_id, hall, credential)) = done else {
        tracing::warn!("an enrolment with an unknown, used or expired token was refused");
        return Err(ApiError::unauthorized(
            "enrolment_token",
            "登记令牌无效、已使用或已过期，请向管理员申请新的令牌",
            "The enrolment token is unknown, used or expired; ask an admin for a new one",
        ));
    };
    // Its earlier credential is replaced: no longer trusted here.
    st.known_credentials().forget_kiosk(&kiosk_id);
    tracing::info!(%kiosk_id, %hall, "kiosk enrolled");
    Ok(Json(Enrolled {
        kiosk_id,
        hall,
        credential,
        heartbeat_secs: st.heartbeat_secs(),
    }))
}

#[utoipa::path(post, path = api::FLEET_HEARTBEAT, tag = "fleet", security(("kiosk_credential" = [])),
    request_body = Heartbeat,
    responses((status = 200, body = HeartbeatAnswer), (status = 401, body = crate::problem::ProblemDoc)))]
async fn heartbeat(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> Result<Json<HeartbeatAnswer>, ApiError> {
    let (now, now_ms, offline) = (st.clock().now(), st.clock().millis(), st.offline_after_ms());
    let (pending, update) = st
        .store()
        .write(move |_, c| {
            let pending = fleet_rows::heartbeat(c, &kiosk, &hb, now, now_ms, offline)?;
            let offer =
                crate::store::updates::on_heartbeat(c, &kiosk, hb.system.as_ref(), now, now_ms)?;
            Ok((pending, offer))
        })
        .await?;
    st.fleet_changed();
    Ok(Json(HeartbeatAnswer {
        heartbeat_secs: st.heartbeat_secs(),
        commands_pending: pending,
        update,
    }))
}

#[utoipa::path(post, path = api::FLEET_HELP, tag = "fleet", security(("kiosk_credential" = [])),
    request_body = HelpRequest,
    responses((status = 204, description = "Recorded; shown by kioskctl list"), (status = 401, body = crate::problem::ProblemDoc)))]
async fn help(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    ApiJson(req): ApiJson<HelpRequest>,
) -> Result<StatusCode, ApiError> {
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    let k = kiosk.clone();
    st.store()
        .write(move |_, c| {
            fleet_rows::help(c, &k, req.needs_help, req.note.as_deref(), now, now_ms)
        })
        .await?;
    st.fleet_changed();
    tracing::info!(%kiosk, "kiosk help request changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `?wait=N`: seconds to wait for a command (0 to 30).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollParams {
    #[serde(default)]
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = api::FLEET_COMMANDS, tag = "fleet", security(("kiosk_credential" = [])),
    params(PollParams),
    responses((status = 200, description = "The next command, now marked delivered: it is never handed out again", body = FleetCommand),
        (status = 204, description = "No command within the wait"), (status = 401, body = crate::problem::ProblemDoc)))]
async fn poll(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    params: Result<Query<PollParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let bad_wait = || {
        ApiError::bad_request(field_error(
            "wait",
            "invalid",
            "wait 须为0至30的整数（秒）",
            "wait must be a whole number of seconds from 0 to 30",
        ))
    };
    let Query(params) = params.map_err(|_| bad_wait())?;
    let wait = params.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(bad_wait());
    }
    let wait = Duration::from_secs(wait);
    let deadline = tokio::time::Instant::now() + wait;
    let mut stopping = st.stopping();
    let mut issued = st.commands_issued();
    let poll_id = uuid::Uuid::new_v4().to_string();
    {
        let (k, p) = (kiosk.clone(), poll_id.clone());
        st.store()
            .write(move |_, c| fleet_rows::start_poll(c, &k, &p))
            .await?;
    }
    loop {
        let (k, p) = (kiosk.clone(), poll_id.clone());
        let (pending, current) = st
            .store()
            .read(move |_, c| {
                Ok((
                    fleet_rows::has_pending(c, &k)?,
                    fleet_rows::poll_current(c, &k, &p)?,
                ))
            })
            .await?;
        if !current {
            // A newer poll of this kiosk (a restarted process) takes over.
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        if pending {
            let (now, now_ms) = (st.clock().now(), st.clock().millis());
            let (k, p) = (kiosk.clone(), poll_id.clone());
            let taken = st
                .store()
                .write(move |_, c| fleet_rows::take_command(c, &k, &p, now, now_ms))
                .await?;
            if let Some(cmd) = taken {
                st.fleet_changed();
                tracing::info!(kiosk = %cmd.kiosk_id, command = %cmd.id, kind = cmd.kind.as_str(),
                    "command delivered");
                return Ok(Json(cmd).into_response());
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline || *stopping.borrow() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let every = if st.hears_other_instances() {
            POLL_EVERY_NOTIFIED
        } else {
            POLL_EVERY
        };
        let nap = every.min(deadline - now);
        // A command issued on this instance wakes the poll at once; one issued on another
        // instance is seen at the next look.
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = stopping.changed() => {}
            _ = issued_here(&mut issued, &kiosk) => {}
        }
    }
}

#[utoipa::path(post, path = api::FLEET_COMMAND_ACK, tag = "fleet", security(("kiosk_credential" = [])),
    params(("id" = String, Path)), request_body = CommandAck,
    responses((status = 200, description = "The command with its result (the same when repeated)", body = FleetCommand),
        (status = 404, body = crate::problem::ProblemDoc), (status = 409, description = "Never delivered", body = crate::problem::ProblemDoc)))]
async fn ack(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    id: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<CommandAck>,
) -> Result<Json<FleetCommand>, ApiError> {
    let id = id_param(id, "id")?;
    let now = st.clock().now();
    let outcome = st
        .store()
        .write(move |_, c| fleet_rows::ack(c, &kiosk, &id, req.ok, req.result.as_deref(), now))
        .await?;
    st.fleet_changed();
    match outcome {
        Ok(cmd) => Ok(Json(cmd)),
        Err(AckRefusal::NotFound) => Err(ApiError::not_found(
            "id",
            "没有这条指令",
            "This kiosk has no command with this id",
        )),
        Err(AckRefusal::NotDelivered) => Err(ApiError::conflict(
            "id",
            "not_delivered",
            "这条指令没有送达，不能回报结果",
            "This command was never delivered, so it cannot be acknowledged",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The help desk's side

/// `GET /api/v1/fleet/me`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FleetMe {
    pub role: String,
    pub label: String,
}

#[utoipa::path(get, path = api::FLEET_ME, tag = "fleet", security(("fleet_token" = [])),
    responses((status = 200, body = FleetMe), (status = 401, body = crate::problem::ProblemDoc)))]
async fn me(auth: FleetAuth) -> Json<FleetMe> {
    Json(FleetMe {
        role: auth.role.as_str().to_string(),
        label: auth.label,
    })
}

#[utoipa::path(get, path = api::FLEET_KIOSKS, tag = "fleet", security(("fleet_token" = [])),
    responses((status = 200, description = "Every kiosk, by hall then id", body = Vec<KioskStatus>), (status = 401, body = crate::problem::ProblemDoc)))]
async fn list(
    State(st): State<AppState>,
    _auth: FleetAuth,
) -> Result<Json<Vec<KioskStatus>>, ApiError> {
    let (now_ms, offline) = (st.clock().millis(), st.offline_after_ms());
    Ok(Json(
        st.store()
            .read(move |_, c| fleet_rows::list(c, now_ms, offline))
            .await?,
    ))
}

#[utoipa::path(get, path = api::FLEET_KIOSK, tag = "fleet", security(("fleet_token" = [])),
    params(("kiosk_id" = String, Path)),
    responses((status = 200, description = "The kiosk with its latest commands", body = KioskStatus), (status = 404, body = crate::problem::ProblemDoc)))]
async fn show(
    State(st): State<AppState>,
    _auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<KioskStatus>, ApiError> {
    let id = kiosk_param(id)?;
    let (now_ms, offline) = (st.clock().millis(), st.offline_after_ms());
    st.store()
        .read(move |_, c| fleet_rows::show(c, &id, now_ms, offline))
        .await?
        .map(Json)
        .ok_or_else(kiosk_not_found)
}

#[utoipa::path(post, path = api::FLEET_COMMANDS, tag = "fleet", security(("fleet_token" = [])),
    request_body = IssueCommand,
    responses((status = 201, description = "One command per kiosk named (or per enrolled kiosk of the hall)", body = Vec<FleetCommand>),
        (status = 404, body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
async fn issue(
    State(st): State<AppState>,
    auth: FleetAuth,
    ApiJson(req): ApiJson<IssueCommand>,
) -> Result<(StatusCode, Json<Vec<FleetCommand>>), ApiError> {
    let actor = auth.actor();
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    let r = req.clone();
    let outcome = st
        .store()
        .write(move |_, c| fleet_rows::issue(c, &r, &actor, now, now_ms))
        .await?;
    match outcome {
        Ok(cmds) => {
            st.fleet_changed();
            for c in &cmds {
                st.command_issued(&c.kiosk_id);
                tracing::info!(kiosk = %c.kiosk_id, command = %c.id, kind = c.kind.as_str(),
                    force = c.force, by = %auth.label, "command issued");
            }
            Ok((StatusCode::CREATED, Json(cmds)))
        }
        Err(IssueRefusal::NoKiosk) => Err(kiosk_not_found()),
        Err(IssueRefusal::Target) => Err(ApiError::validation(vec![field_error(
            "kiosk_id",
            "target",
            "须指定一台终端（kiosk_id）或一个大厅（hall），二者选一",
            "Name either one kiosk (kiosk_id) or one hall (hall)",
        )])),
        Err(IssueRefusal::Ttl) => Err(ApiError::validation(vec![field_error(
            "ttl_secs",
            "range",
            &format!("有效期须为1至{}秒", fleet::MAX_TTL_SECS),
            &format!("ttl_secs must be 1 to {}", fleet::MAX_TTL_SECS),
        )])),
    }
}

#[utoipa::path(post, path = api::FLEET_KIOSK_HELP_CLEAR, tag = "fleet", security(("fleet_token" = [])),
    params(("kiosk_id" = String, Path)),
    responses((status = 204, description = "The call for help is answered"), (status = 404, body = crate::problem::ProblemDoc)))]
async fn clear_help(
    State(st): State<AppState>,
    auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = kiosk_param(id)?;
    let (actor, now, now_ms) = (auth.actor(), st.clock().now(), st.clock().millis());
    let found = st
        .store()
        .write(move |_, c| fleet_rows::clear_help(c, &id, &actor, now, now_ms))
        .await?;
    st.fleet_changed();
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(kiosk_not_found())
    }
}

#[utoipa::path(post, path = api::FLEET_KIOSK_REVOKE, tag = "fleet", security(("fleet_token" = [])),
    params(("kiosk_id" = String, Path)),
    responses((status = 204, description = "The kiosk's credential no longer works; pending commands are withdrawn"),
        (status = 403, description = "Not an admin", body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn revoke(
    State(st): State<AppState>,
    auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    auth.admin()?;
    let id = kiosk_param(id)?;
    let (actor, now) = (auth.actor(), st.clock().now());
    let k = id.clone();
    let found = st
        .store()
        .write(move |_, c| fleet_rows::revoke_kiosk(c, &k, &actor, now))
        .await?;
    if !found {
        return Err(kiosk_not_found());
    }
    // At once on this instance; other instances stop trusting it within CREDENTIAL_TRUST.
    st.known_credentials().forget_kiosk(&id);
    tracing::warn!(kiosk = %id, by = %auth.label, "kiosk revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/fleet/enrol-tokens` (admin).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EnrolTokenRequest {
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub kiosk_id: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub hall: String,
    /// How long the token may wait to be used (default 72 hours, at most 30 days).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 720)]
    pub ttl_hours: Option<u32>,
}

/// A one-time enrolment token, shown once: put it in the kiosk's provisioning file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EnrolToken {
    pub kiosk_id: String,
    pub hall: String,
    pub enrolment_token: String,
}

/// Checks a kiosk id and hall name; both are shown to people and used in paths.
pub fn check_kiosk(kiosk_id: &str, hall: &str) -> Result<(), String> {
    let id_ok = !kiosk_id.is_empty()
        && kiosk_id.len() <= MAX_ID_CHARS
        && kiosk_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !id_ok {
        return Err(format!(
            "kiosk id {kiosk_id:?}: 1 to {MAX_ID_CHARS} letters, digits, '-', '_' or '.'"
        ));
    }
    if hall.trim().is_empty() || hall.chars().count() > 100 || hall.chars().any(char::is_control) {
        return Err("hall: 1 to 100 characters".into());
    }
    Ok(())
}

#[utoipa::path(post, path = api::FLEET_ENROL_TOKENS, tag = "fleet", security(("fleet_token" = [])),
    request_body = EnrolTokenRequest,
    responses((status = 201, body = EnrolToken), (status = 403, description = "Not an admin", body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
async fn enrol_token(
    State(st): State<AppState>,
    auth: FleetAuth,
    ApiJson(req): ApiJson<EnrolTokenRequest>,
) -> Result<(StatusCode, Json<EnrolToken>), ApiError> {
    auth.admin()?;
    let (kiosk_id, hall) = (req.kiosk_id.clone(), req.hall.trim().to_string());
    check_kiosk(&kiosk_id, &hall)
        .map_err(|e| ApiError::validation(vec![field_error("kiosk_id", "invalid", &e, &e)]))?;
    let ttl_hours = req.ttl_hours.unwrap_or(72);
    if !(1..=MAX_ENROL_TTL_HOURS).contains(&ttl_hours) {
        return Err(ApiError::validation(vec![field_error(
            "ttl_hours",
            "range",
            &format!("有效时长须为1至{MAX_ENROL_TTL_HOURS}小时"),
            &format!("ttl_hours must be 1 to {MAX_ENROL_TTL_HOURS}"),
        )]));
    }
    let ttl_ms = i64::from(ttl_hours) * 3_600_000;
    let (actor, now, now_ms) = (auth.actor(), st.clock().now(), st.clock().millis());
    let (k, h) = (kiosk_id.clone(), hall.clone());
    let token = st
        .store()
        .write(move |_, c| fleet_rows::create_enrol_token(c, &k, &h, ttl_ms, &actor, now, now_ms))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolToken {
            kiosk_id,
            hall,
            enrolment_token: token,
        }),
    ))
}

/// A case a kiosk submitted, as the help desk sees it (never the kiosk's idempotency key: it is
/// the kiosk's own handle on its submission).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KioskCase {
    pub approval_code: String,
    pub local_reference: Option<String>,
    /// BLZT status code of the case.
    #[schema(value_type = u8)]
    pub status: hall_domain::Blzt,
    /// Not withdrawn.
    pub active: bool,
}

impl From<KeyedCase> for KioskCase {
    fn from(k: KeyedCase) -> Self {
        KioskCase {
            approval_code: k.approval_code,
            local_reference: k.local_reference,
            status: k.status,
            active: k.active,
        }
    }
}

#[utoipa::path(get, path = api::FLEET_KIOSK_APPLICATIONS, tag = "fleet", security(("fleet_token" = [])),
    params(("kiosk_id" = String, Path)),
    responses((status = 200, description = "Every case the kiosk submitted; active = not withdrawn", body = Vec<KioskCase>),
        (status = 404, description = "No kiosk has this id", body = crate::problem::ProblemDoc)))]
async fn applications(
    State(st): State<AppState>,
    _auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<KioskCase>>, ApiError> {
    let id = kiosk_param(id)?;
    let (now_ms, offline) = (st.clock().millis(), st.offline_after_ms());
    let known = id.clone();
    st.store()
        .read(move |_, c| fleet_rows::show(c, &known, now_ms, offline))
        .await?
        .ok_or_else(kiosk_not_found)?;
    let cases = st.store().cases_by_kiosk(id).await?;
    Ok(Json(cases.into_iter().map(KioskCase::from).collect()))
}
