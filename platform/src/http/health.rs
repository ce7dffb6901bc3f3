//! Whether the platform serves, and at which schema version.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use hall_domain::api::{self};

use crate::problem::ApiError;
use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(api::HEALTH, get(health))
}

/// `GET /api/v1/health`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub schema_version: i64,
}

#[utoipa::path(get, path = api::HEALTH, tag = "platform",
    responses((status = 200, description = "Serving; the database's schema version", body = Health)))]
pub(super) async fn health(
    State(st): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = st.store().clone();
    let version = tokio::task::spawn_blocking(move || store.schema_version())
        .await
        .map_err(|_| ApiError::internal())??;
    Ok(Json(
        serde_json::json!({ "status": "ok", "schema_version": version }),
    ))
}
