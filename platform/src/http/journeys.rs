//! `POST /api/v1/fleet/journeys`: a kiosk reports what people did at it (journey events and
//! 好差评), with its own credential; nothing personal is asked for or kept. See
//! [`hall_domain::api::JourneyEvent`].

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hall_domain::api::{self, JOURNEY_EVENTS_MAX, JourneyReport, JourneyReportAnswer, check_event};

use super::auth::KioskAuth;
use super::extract::ApiJson;
use crate::problem::{ApiError, field_error};
use crate::state::AppState;
use crate::store::journeys;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(api::FLEET_JOURNEYS, post(report))
}

#[utoipa::path(post, path = api::FLEET_JOURNEYS, tag = "fleet", security(("kiosk_credential" = [])),
    request_body = JourneyReport,
    responses((status = 200, description = "Every event is kept; one delivered again counts once", body = JourneyReportAnswer),
        (status = 401, body = crate::problem::ProblemDoc)))]
pub(super) async fn report(
    State(st): State<AppState>,
    KioskAuth(kiosk): KioskAuth,
    ApiJson(report): ApiJson<JourneyReport>,
) -> Result<Json<JourneyReportAnswer>, ApiError> {
    if report.events.is_empty() || report.events.len() > JOURNEY_EVENTS_MAX {
        return Err(ApiError::validation(vec![field_error(
            "events",
            "count",
            "一次报告1至200条记录",
            "A report holds 1 to 200 events",
        )]));
    }
    let mut errors = Vec::new();
    for (i, e) in report.events.iter().enumerate() {
        if let Err(why) = check_event(e) {
            errors.push(field_error(
                &format!("events[{i}]"),
                "invalid",
                &format!("记录无效：{why}"),
                &format!("The event is not valid: {why}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (now, now_ms) = (st.clock().now(), st.clock().millis());
    let k = kiosk.clone();
    let (accepted, duplicates) = st
        .store()
        .write(move |_, c| journeys::record(c, &k, &report.events, now, now_ms))
        .await?;
    tracing::debug!(%kiosk, accepted, duplicates, "journey events kept");
    Ok(Json(JourneyReportAnswer {
        accepted,
        duplicates,
    }))
}
