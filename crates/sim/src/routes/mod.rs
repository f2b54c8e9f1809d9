//! The HTTP surface: `/v1/*` (the simulated API) and `/__sim/*` (control and stats).

mod admin;
mod agents;
mod auth;
mod body;
mod calls;
mod fallback;
mod injected;
mod messages;
mod middleware;
mod numbers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{delete, get, post};

use crate::state::Shared;

/// Largest request body accepted (1 MiB); larger ones get a JSON 413.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Stats key for requests that matched no route.
pub(crate) const UNMATCHED: &str = "unmatched";

/// Builds the router over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/v1/agents", get(agents::list).post(agents::create))
        .route("/v1/agents/{id}", get(agents::get_one))
        .route("/v1/phone-numbers", post(numbers::import))
        .route("/v1/phone-numbers/{phone_number}", delete(numbers::remove))
        .route("/v1/calls", get(calls::list).post(calls::create))
        .route("/v1/calls/{id}", get(calls::get_one))
        .route("/v1/messages", post(messages::create))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            middleware::v1,
        ));
    let sim = Router::new()
        .route("/__sim/stats", get(admin::stats))
        .route("/__sim/reset", post(admin::reset));
    v1.merge(sim)
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// The stats/fault-filter key (`"METHOD /pattern"`) of a matched route.
pub(crate) fn route_key(method: &Method, pattern: &str) -> &'static str {
    match (method.as_str(), pattern) {
        ("GET", "/v1/agents") => "GET /v1/agents",
        ("POST", "/v1/agents") => "POST /v1/agents",
        ("GET", "/v1/agents/{id}") => "GET /v1/agents/{id}",
        ("POST", "/v1/phone-numbers") => "POST /v1/phone-numbers",
        ("DELETE", "/v1/phone-numbers/{phone_number}") => "DELETE /v1/phone-numbers/{phone_number}",
        ("GET", "/v1/calls") => "GET /v1/calls",
        ("POST", "/v1/calls") => "POST /v1/calls",
        ("GET", "/v1/calls/{id}") => "GET /v1/calls/{id}",
        ("POST", "/v1/messages") => "POST /v1/messages",
        _ => UNMATCHED,
    }
}
