//! The item catalogue in force and the project and organisation registries.

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use hall_domain::api::{self, Item, OrganizationInfo, ProjectInfo};
use hall_domain::codes::{normalize_project_code, validate_credit_code, validate_project_code};

use super::auth::KioskAuth;
use super::extract::path_param;
use crate::problem::{ApiError, CREDIT_CODE, PROJECT_CODE};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::ITEMS, get(items))
        .route(api::PROJECT, get(project))
        .route(api::ORGANIZATION, get(organization))
}

#[utoipa::path(get, path = api::ITEMS, tag = "catalogue",
    responses((status = 200, description = "The catalogue in force, by stage then id", body = Vec<Item>)))]
pub(super) async fn items(State(st): State<AppState>) -> Result<Json<Vec<Item>>, ApiError> {
    let items = st.store().items().await?;
    Ok(Json(items.into_iter().map(|c| c.item).collect()))
}

#[utoipa::path(get, path = api::PROJECT, tag = "registries", security(("kiosk_credential" = [])),
    params(("code" = String, Path, description = "Investment project code, with or without dashes")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, body = ProjectInfo), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn project(
    State(st): State<AppState>,
    _kiosk: KioskAuth,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<ProjectInfo>, ApiError> {
    let code = path_param(code)?;
    let code = code.trim();
    validate_project_code(code).map_err(|e| ApiError::bad_code("code", PROJECT_CODE, &e))?;
    st.store()
        .project(normalize_project_code(code))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "code",
                "未找到该项目代码登记的项目，请核对项目代码",
                "No project is registered under this project code; please check it",
            )
        })
}

#[utoipa::path(get, path = api::ORGANIZATION, tag = "registries", security(("kiosk_credential" = [])),
    params(("credit_code" = String, Path, description = "Unified social credit code (GB 32100)")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, body = OrganizationInfo), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn organization(
    State(st): State<AppState>,
    _kiosk: KioskAuth,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<OrganizationInfo>, ApiError> {
    let code = path_param(code)?.trim().to_ascii_uppercase();
    validate_credit_code(&code).map_err(|e| ApiError::bad_code("credit_code", CREDIT_CODE, &e))?;
    st.store()
        .organization(code)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "credit_code",
                "未找到该统一社会信用代码登记的单位，请核对",
                "No organisation is registered under this credit code; please check it",
            )
        })
}
