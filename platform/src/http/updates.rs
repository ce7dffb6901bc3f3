//! Field updates on the fleet API: releases (listed by the help desk, uploaded by an admin as the
//! raw bundle, streamed to disk while hashed), rollouts (started, widened, stopped and resumed by
//! an admin), and the bundle's download by the kiosks it is rolled out to (streamed from its
//! file, `Range` to resume). See [`crate::updates`] for the rules.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use hall_domain::api::{self, Release, Rollout, RolloutChange, StartRollout};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::auth::{FleetAuth, KioskAuth};
use super::extract::{ApiJson, path_param};
use crate::problem::{ApiError, field_error};
use crate::serve::RequestBodyDeadline;
use crate::state::AppState;
use crate::store::updates as rows;
use crate::updates::{Incoming, ReleaseError, RolloutRefusal, Sidecar, remove_bundle};

/// How long an admin's bundle upload may take.
pub(crate) const UPLOAD_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::FLEET_RELEASES, get(releases).post(upload))
        .route(api::FLEET_RELEASE_BUNDLE, get(bundle))
        .route(api::FLEET_ROLLOUTS, get(rollouts).post(start))
        .route(api::FLEET_ROLLOUT, get(rollout).post(change))
}

/// Only an admin may store releases and start or change rollouts.
fn admin_only(auth: &FleetAuth) -> Result<(), ApiError> {
    if auth.role == crate::fleet::Role::Admin {
        return Ok(());
    }
    tracing::warn!(label = %auth.label, "a help-desk token asked to change a release or rollout");
    Err(ApiError::forbidden(
        "authorization",
        "只有管理员可以上传版本或发布更新",
        "Only an admin may upload releases or roll them out",
    ))
}

fn release_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let v = path_param(p)?;
    if !crate::updates::valid_version(&v) {
        return Err(ApiError::bad_request(field_error(
            "release",
            "invalid",
            "版本号须为1至64个字母、数字或“. _ - + ~”",
            "A release version is 1 to 64 letters, digits or '. _ - + ~'",
        )));
    }
    Ok(v)
}

fn rollout_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let id = path_param(p)?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(ApiError::bad_request(field_error(
            "rollout_id",
            "invalid",
            "发布编号无效",
            "The rollout id is not valid",
        )));
    }
    Ok(id)
}

pub(crate) fn release_error(e: ReleaseError) -> ApiError {
    match e {
        ReleaseError::Invalid(why) => {
            ApiError::validation(vec![field_error("release", "invalid", &why, &why)])
        }
        ReleaseError::SizeDiffers { .. } => {
            let en = e.to_string();
            ApiError::validation(vec![field_error(
                "size",
                "size_differs",
                "安装包大小与版本说明不符，未保存",
                &format!("{en}; nothing was stored"),
            )])
        }
        ReleaseError::DigestDiffers { .. } => {
            let en = e.to_string();
            ApiError::validation(vec![field_error(
                "sha256",
                "digest_differs",
                "安装包的SHA-256与版本说明不符，未保存",
                &format!("{en}; nothing was stored"),
            )])
        }
        ReleaseError::Exists(v) => ApiError::conflict(
            "version",
            "release_exists",
            "该版本已存在",
            &format!("Release {v} is stored already"),
        ),
        ReleaseError::Io { .. } => {
            tracing::error!(error = %e, "a release could not be stored");
            ApiError::unavailable(
                "版本文件暂时无法保存，请稍后再试",
                "The release could not be stored right now; try again later",
            )
        }
    }
}

#[utoipa::path(get, path = api::FLEET_RELEASES, tag = "updates", security(("fleet_token" = [])),
    responses((status = 200, description = "Every release, newest first", body = Vec<Release>)))]
async fn releases(
    State(st): State<AppState>,
    _auth: FleetAuth,
) -> Result<Json<Vec<Release>>, ApiError> {
    Ok(Json(st.store().read(|_, c| rows::releases(c)).await?))
}

/// What the release script published beside the bundle, as query parameters of its upload.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// RAUC's manifest version (the release's id).
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$")]
    pub version: String,
    /// RAUC's compatible of the bundle.
    #[param(pattern = r"^[!-~]{1,64}$")]
    pub compatible: String,
    /// SHA-256 (hex) of the release's root file system image.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub root_sha256: String,
    /// The bundle's size in bytes.
    #[param(minimum = 1)]
    pub size: u64,
    /// The bundle's SHA-256 (hex).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
}

#[utoipa::path(post, path = api::FLEET_RELEASES, tag = "updates", security(("fleet_token" = [])),
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The RAUC bundle, streamed to disk and checked against size and sha256"),
    responses((status = 201, description = "Stored and checked", body = Release),
        (status = 403, description = "Not an admin", body = crate::problem::ProblemDoc),
        (status = 409, description = "This version is stored already", body = crate::problem::ProblemDoc),
        (status = 422, description = "The metadata is not valid, or the bundle differs from it: nothing stored", body = crate::problem::ProblemDoc),
        (status = 503, description = "The releases directory cannot be written", body = crate::problem::ProblemDoc)))]
async fn upload(
    State(st): State<AppState>,
    auth: FleetAuth,
    deadline: Option<Extension<RequestBodyDeadline>>,
    params: Result<Query<UploadParams>, QueryRejection>,
    body: Body,
) -> Response {
    // A bundle is hundreds of MB: an admin's upload gets an hour instead of the 30 s every other
    // request body has (an unauthenticated or non-admin one keeps the 30 s and is refused).
    if admin_only(&auth).is_ok()
        && let Some(Extension(d)) = deadline
    {
        d.extend(UPLOAD_WITHIN);
    }
    match store_upload(st, auth, params, body).await {
        Ok(stored) => stored.into_response(),
        Err(e) => {
            // Refused, perhaps before the body was read: a client still sending must not send
            // its next request on this connection.
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

async fn store_upload(
    st: AppState,
    auth: FleetAuth,
    params: Result<Query<UploadParams>, QueryRejection>,
    body: Body,
) -> Result<(StatusCode, Json<Release>), ApiError> {
    admin_only(&auth)?;
    let Query(p) = params.map_err(|e| {
        let why = e.body_text();
        ApiError::bad_request(field_error("query", "invalid", &why, &why))
    })?;
    let meta = Sidecar {
        version: p.version,
        compatible: p.compatible,
        root_sha256: p.root_sha256,
        bundle: String::new(),
        size: p.size,
        sha256: p.sha256,
    }
    .checked()
    .map_err(release_error)?;
    let v = meta.version.clone();
    if st
        .store()
        .read(move |_, c| rows::release(c, &v))
        .await?
        .is_some()
    {
        return Err(release_error(ReleaseError::Exists(meta.version)));
    }
    let name = receive(&st, body, &meta).await?;
    let (m, n, actor, now) = (meta.clone(), name.clone(), auth.actor(), st.clock().now());
    let added = st
        .store()
        .write(move |_, c| rows::add_release(c, &m, &n, &actor, now))
        .await;
    match added {
        Ok(true) => {}
        Ok(false) => {
            remove_bundle(st.releases_dir(), &name);
            return Err(release_error(ReleaseError::Exists(meta.version)));
        }
        Err(e) => {
            remove_bundle(st.releases_dir(), &name);
            return Err(e.into());
        }
    }
    tracing::info!(release = %meta.version, size = meta.size, by = %auth.label, "release uploaded");
    let v = meta.version.clone();
    let stored = st.store().read(move |_, c| rows::release(c, &v)).await?;
    let (release, _) = stored.ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(release)))
}

/// Streams a request body into the releases directory (hashing as it goes, never holding it in
/// memory); the bundle's file name once it is checked and named.
pub(crate) async fn receive(st: &AppState, body: Body, meta: &Sidecar) -> Result<String, ApiError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let (dir, m) = (st.releases_dir().to_path_buf(), meta.clone());
    let writer = tokio::task::spawn_blocking(move || {
        let (mut incoming, mut file) = Incoming::create(&dir)?;
        while let Some(chunk) = rx.blocking_recv() {
            incoming.write(&mut file, &chunk, m.size)?;
        }
        incoming.finish(file, &m)
    });
    let mut data = body.into_data_stream();
    let mut broken = false;
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(chunk) => {
                if tx.send(chunk).await.is_err() {
                    // The writer refused (too long, disk): its error says why.
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a release upload broke off");
                broken = true;
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(|_| ApiError::internal())?;
    if broken {
        if let Ok(name) = written {
            remove_bundle(st.releases_dir(), &name);
        }
        return Err(ApiError::bad_request(field_error(
            "body",
            "incomplete",
            "安装包上传中断，未保存",
            "The upload broke off; nothing was stored",
        )));
    }
    written.map_err(release_error)
}

fn not_offered() -> ApiError {
    ApiError::not_found("release", "没有这个版本", "There is no such release")
}

/// The byte range asked for: `None` for the whole file, `Err` when it lies beyond it. Only one
/// range is served; anything else in the header is ignored (the whole file).
fn range(headers: &HeaderMap, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (from, to) = spec.split_once('-')?;
    let (from, to) = (from.trim(), to.trim());
    let (start, end) = if from.is_empty() {
        let suffix: u64 = to.parse().ok()?;
        if suffix == 0 {
            return Some(Err(()));
        }
        (size.saturating_sub(suffix), size.saturating_sub(1))
    } else {
        let start: u64 = from.parse().ok()?;
        let end = if to.is_empty() {
            size.saturating_sub(1)
        } else {
            let end: u64 = to.parse().ok()?;
            if end < start {
                return None;
            }
            end.min(size.saturating_sub(1))
        };
        (start, end)
    };
    if start >= size {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

#[utoipa::path(get, path = api::FLEET_RELEASE_BUNDLE, tag = "updates", security(("kiosk_credential" = [])),
    params(("release" = String, Path, description = "The release's version"),
        ("Range" = Option<String>, Header, description = "bytes=N- to resume")),
    responses((status = 200, description = "The bundle (ETag: its SHA-256)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The part asked for (Content-Range)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such release rolled out to this kiosk", body = crate::problem::ProblemDoc),
        (status = 416, description = "The range lies beyond the bundle", body = crate::problem::ProblemDoc)))]
async fn bundle(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    release: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let version = release_param(release)?;
    let (k, v) = (kiosk.clone(), version.clone());
    let Some((name, _, sha256)) = st
        .store()
        .read(move |_, c| rows::bundle_for(c, &k, &v))
        .await?
    else {
        tracing::info!(%kiosk, release = %version, "a bundle was asked for by a kiosk it is not rolled out to");
        return Err(not_offered());
    };
    let path = st.releases_dir().join(&name);
    let opened = async {
        let file = tokio::fs::File::open(&path).await?;
        let size = file.metadata().await?.len();
        Ok::<_, std::io::Error>((file, size))
    };
    let (mut file, size) = opened.await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "a stored bundle cannot be read");
        ApiError::unavailable("安装包暂时无法读取", "The bundle cannot be read right now")
    })?;
    let etag = format!("\"{sha256}\"");
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes());
    let wanted = if if_range_ok {
        range(&headers, size)
    } else {
        None
    };
    let (status, start, end) = match wanted {
        None => (StatusCode::OK, 0, size.saturating_sub(1)),
        Some(Ok((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(Err(())) => {
            let mut r = ApiError {
                status: StatusCode::RANGE_NOT_SATISFIABLE,
                kind: "range-not-satisfiable",
                title: "Range Not Satisfiable",
                detail: "请求的范围超出安装包".into(),
                errors: vec![field_error(
                    "Range",
                    "unsatisfiable",
                    "请求的范围超出安装包",
                    "The range asked for lies beyond the bundle",
                )],
                retry_after: None,
            }
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let length = if size == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|_| ApiError::internal())?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), 64 * 1024);
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    tracing::info!(%kiosk, release = %version, from = start, length, "bundle download");
    Ok(r)
}

fn rollout_refusal(r: RolloutRefusal) -> ApiError {
    match r {
        RolloutRefusal::NoRelease => {
            ApiError::not_found("release", "没有这个版本", "There is no such release")
        }
        RolloutRefusal::NoKiosk => ApiError::not_found(
            "kiosk_id",
            "没有这台终端，或该大厅没有终端",
            "There is no such kiosk, or the hall has no kiosk",
        ),
        RolloutRefusal::NoRollout => {
            ApiError::not_found("rollout_id", "没有这次发布", "There is no such rollout")
        }
        RolloutRefusal::Target => ApiError::validation(vec![field_error(
            "kiosk_id",
            "target",
            "须指定一台终端（kiosk_id）或一个大厅（hall），二者选一；比例只用于大厅",
            "Name either one kiosk (kiosk_id) or one hall (hall); a percentage goes with a hall only",
        )]),
        RolloutRefusal::Percent => ApiError::validation(vec![field_error(
            "percent",
            "range",
            "比例须为1至100，且不能比原来小",
            "percent must be 1 to 100, and never less than it was",
        )]),
    }
}

#[utoipa::path(get, path = api::FLEET_ROLLOUTS, tag = "updates", security(("fleet_token" = [])),
    responses((status = 200, description = "Every rollout, newest first, with its counts", body = Vec<Rollout>)))]
async fn rollouts(
    State(st): State<AppState>,
    _auth: FleetAuth,
) -> Result<Json<Vec<Rollout>>, ApiError> {
    Ok(Json(st.store().read(|_, c| rows::rollouts(c)).await?))
}

#[utoipa::path(get, path = api::FLEET_ROLLOUT, tag = "updates", security(("fleet_token" = [])),
    params(("rollout_id" = String, Path)),
    responses((status = 200, description = "The rollout with each of its kiosks", body = Rollout),
        (status = 404, body = crate::problem::ProblemDoc)))]
async fn rollout(
    State(st): State<AppState>,
    _auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Rollout>, ApiError> {
    let id = rollout_param(id)?;
    st.store()
        .read(move |_, c| rows::rollout(c, &id))
        .await?
        .map(Json)
        .ok_or_else(|| rollout_refusal(RolloutRefusal::NoRollout))
}

#[utoipa::path(post, path = api::FLEET_ROLLOUTS, tag = "updates", security(("fleet_token" = [])),
    request_body = StartRollout,
    responses((status = 201, description = "Started; kiosks learn of it with their next heartbeat", body = Rollout),
        (status = 403, description = "Not an admin", body = crate::problem::ProblemDoc),
        (status = 404, description = "No such release or kiosk (or no kiosk in the hall)", body = crate::problem::ProblemDoc)))]
async fn start(
    State(st): State<AppState>,
    auth: FleetAuth,
    body: Result<ApiJson<StartRollout>, ApiError>,
) -> Result<(StatusCode, Json<Rollout>), ApiError> {
    admin_only(&auth)?;
    let ApiJson(req) = body?;
    let (actor, now, now_ms) = (auth.actor(), st.clock().now(), st.clock().millis());
    let started = st
        .store()
        .write(move |_, c| {
            Ok(match rows::start_rollout(c, &req, &actor, now, now_ms)? {
                Ok(id) => Ok(rows::rollout(c, &id)?),
                Err(r) => Err(r),
            })
        })
        .await?
        .map_err(rollout_refusal)?;
    let rollout = started.ok_or_else(ApiError::internal)?;
    st.fleet_changed();
    tracing::info!(rollout = %rollout.id, release = %rollout.release, by = %auth.label, "rollout started");
    Ok((StatusCode::CREATED, Json(rollout)))
}

#[utoipa::path(post, path = api::FLEET_ROLLOUT, tag = "updates", security(("fleet_token" = [])),
    params(("rollout_id" = String, Path)), request_body = RolloutChange,
    responses((status = 200, description = "The rollout as it now is", body = Rollout),
        (status = 403, description = "Not an admin", body = crate::problem::ProblemDoc),
        (status = 404, body = crate::problem::ProblemDoc)))]
async fn change(
    State(st): State<AppState>,
    auth: FleetAuth,
    id: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<RolloutChange>, ApiError>,
) -> Result<Json<Rollout>, ApiError> {
    admin_only(&auth)?;
    let id = rollout_param(id)?;
    let ApiJson(change) = body?;
    let (actor, now) = (auth.actor(), st.clock().now());
    let changed = st
        .store()
        .write(move |_, c| {
            Ok(match rows::change_rollout(c, &id, &change, &actor, now)? {
                Ok(()) => Ok(rows::rollout(c, &id)?),
                Err(r) => Err(r),
            })
        })
        .await?
        .map_err(rollout_refusal)?;
    let rollout = changed.ok_or_else(|| rollout_refusal(RolloutRefusal::NoRollout))?;
    st.fleet_changed();
    tracing::info!(rollout = %rollout.id, state = %rollout.state, percent = rollout.percent, by = %auth.label, "rollout changed");
    Ok(Json(rollout))
}
