//! JSON answers for unknown routes and wrong methods.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;
use crate::state::Shared;

/// 404 for a path no route matches.
pub(crate) async fn not_found(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    shared.record(super::UNMATCHED, 404);
    ApiError::not_found("route_not_found", format!("No route for {}.", uri.path())).into_response()
}

/// 405 for a known path with the wrong method.
pub(crate) async fn method_not_allowed(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
) -> Response {
    shared.record(super::UNMATCHED, 405);
    ApiError::other(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method_not_allowed",
        format!("{method} is not allowed on {}.", uri.path()),
    )
    .into_response()
}
