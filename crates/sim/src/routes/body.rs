//! JSON request bodies: a lenient object extractor and typed field accessors whose errors
//! name the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::api_error::ApiError;

/// A request body that must be a JSON object.
#[derive(Debug)]
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::body("body", e.body_text())
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonObject(m)),
            Ok(_) => Err(ApiError::body("body", "The body must be a JSON object.")),
            Err(e) => Err(ApiError::body("body", format!("Malformed JSON: {e}."))),
        }
    }
}

/// The JSON 413.
pub(crate) fn too_large() -> ApiError {
    ApiError::other(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "request_too_large",
        "The request body is larger than 1 MiB.",
    )
}

/// A required, non-empty string field.
pub(crate) fn required<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match optional(m, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::body(field, format!("`{field}` is required."))),
    }
}

/// An optional string field (absent or null is `None`; another type is an error).
pub(crate) fn optional<'a>(
    m: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::body(
            field,
            format!("`{field}` must be a string."),
        )),
    }
}
