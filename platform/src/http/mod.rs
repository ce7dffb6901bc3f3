//! The HTTP face of the platform: one router per aggregate (each file owns its routes, its
//! request and answer types and the mapping to API types), merged here with the fallbacks and
//! layers every route shares. Paths come from [`hall_domain::api`], as the clients' do.

mod applications;
mod auth;
mod cases;
mod catalogue;
mod console;
mod contract;
mod extract;
mod fleet;
pub(crate) mod follow_up;
mod health;
mod journeys;
mod openapi;
mod payments;
mod staff;
mod updates;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::problem::ApiError;
use crate::state::AppState;

pub use extract::BODY_LIMIT;
pub use fleet::check_kiosk;
pub(crate) use staff::refusal_error;

/// The platform API as an axum router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(openapi::router())
        .merge(catalogue::router())
        .merge(applications::router())
        .merge(cases::router())
        .merge(staff::router())
        .merge(payments::router())
        .merge(fleet::router())
        .merge(updates::router())
        .merge(journeys::router())
        .merge(console::router())
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_peer,
        ))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The overall rate, per network address, ahead of everything else (credential lookups
/// included): 429 with Retry-After beyond it. A request that did not come through the
/// connection loop (no peer known) is not counted.
async fn limit_peer(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer
        && let Err(wait) = st.limiters().peer(peer)
    {
        tracing::warn!(%peer, "a network address is over its request rate");
        return ApiError::rate_limited(wait).into_response();
    }
    next.run(req).await
}
