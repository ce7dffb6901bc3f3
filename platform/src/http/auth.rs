//! Who is asking: a kiosk (its enrolment credential, `hkc_…`) or help-desk staff and admins
//! (`hft_…`), both as `Authorization: Bearer …`. Only the SHA-256 of a secret is stored and
//! compared; a missing, unknown or revoked secret answers 401 and nothing else.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::audit::Actor;
use crate::fleet::Role;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::store::fleet as fleet_rows;

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

/// The kiosk behind `Authorization: Bearer hkc_…`: the credential it got at enrolment. Every
/// route that takes or returns anything about a case, an applicant, a fee notice or an order
/// asks for it; the kiosk a case or order belongs to is this one, never a body field.
pub struct KioskAuth(pub String);

impl KioskAuth {
    /// The kiosk as it appears in the audit log.
    pub fn actor(&self) -> Actor {
        Actor::Kiosk(Some(self.0.clone()))
    }
}

impl FromRequestParts<AppState> for KioskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorised = || {
            ApiError::unauthorized(
                "authorization",
                "需要自助终端的凭据（Authorization: Bearer hkc_…），请先登记终端",
                "A kiosk credential is required (Authorization: Bearer hkc_…); enrol the kiosk first",
            )
        };
        let sha = crate::staff::token_hash(bearer(parts).ok_or_else(unauthorised)?);
        let found = match st.known_credentials().kiosk(&sha) {
            Some(k) => Some(k),
            None => {
                let key = sha.clone();
                let found = st
                    .store()
                    .read(move |_, c| fleet_rows::kiosk_by_credential(c, &key))
                    .await?;
                if let Some(k) = &found {
                    st.known_credentials().found(sha, k.clone());
                }
                found
            }
        };
        let Some(kiosk) = found else {
            tracing::warn!("a request with an unknown or revoked kiosk credential");
            return Err(unauthorised());
        };
        if let Err(wait) = st.limiters().kiosk(&kiosk) {
            tracing::warn!(%kiosk, "a kiosk is over its request rate");
            return Err(ApiError::rate_limited(wait));
        }
        Ok(KioskAuth(kiosk))
    }
}

/// Help-desk staff or an admin behind `Authorization: Bearer hft_…`.
pub struct FleetAuth {
    pub role: Role,
    pub label: String,
}

impl FleetAuth {
    pub(super) fn actor(&self) -> Actor {
        Actor::Fleet(format!("{}:{}", self.role.as_str(), self.label))
    }

    pub(super) fn admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            return Ok(());
        }
        tracing::warn!(label = %self.label, "a help-desk token asked for an admin action");
        Err(ApiError::forbidden(
            "authorization",
            "只有管理员可以登记或注销终端",
            "Only an admin may enrol or revoke kiosks",
        ))
    }
}

impl FromRequestParts<AppState> for FleetAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorised = || {
            ApiError::unauthorized(
                "authorization",
                "需要有效的运维令牌（Authorization: Bearer hft_…）",
                "A valid help-desk or admin token is required (Authorization: Bearer hft_…)",
            )
        };
        let sha = crate::staff::token_hash(bearer(parts).ok_or_else(unauthorised)?);
        let found = st
            .store()
            .read(move |_, c| fleet_rows::fleet_role(c, &sha))
            .await?;
        match found {
            Some((role, label)) => Ok(FleetAuth { role, label }),
            None => {
                tracing::warn!("a fleet request with an unknown or revoked help-desk token");
                Err(unauthorised())
            }
        }
    }
}
