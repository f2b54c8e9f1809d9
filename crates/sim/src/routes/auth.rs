//! `Authorization: Bearer key_id:key_secret`.

use axum::http::{HeaderMap, header};

use crate::api_error::ApiError;
use crate::state::Shared;

/// Checks the header against the account's keys.
pub(crate) fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let invalid = || ApiError::auth("invalid_api_key", "Invalid API key provided.");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(invalid)?
        .trim();
    let Some((id, secret)) = token.split_once(':').filter(|(_, s)| !s.is_empty()) else {
        return Err(ApiError::auth(
            "key_secret_required",
            "The Authorization header must be `Bearer key_id:key_secret`.",
        ));
    };
    match shared.secret_of(id) {
        Some(s) if s == secret => Ok(()),
        _ => Err(invalid()),
    }
}
