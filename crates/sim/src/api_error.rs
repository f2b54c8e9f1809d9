//! Error responses in the Nixflex envelope.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Base of every `doc_url`.
const DOC_BASE: &str = "https://docs.nixflex.example/errors/";

/// One API error: rendered as `{"error": {type, code, message, doc_url, details}}`.
/// Boxed so `Result<_, ApiError>` stays small.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
    details: Value,
    retry_after: Option<HeaderValue>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        ApiError(Box::new(Inner {
            status,
            kind,
            code,
            message,
            details: json!({}),
            retry_after: None,
        }))
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            code,
            message.into(),
        )
    }

    /// 400 `invalid_request` / `invalid_body` naming the field.
    pub(crate) fn body(field: &str, message: impl Into<String>) -> Self {
        Self::invalid("invalid_body", message).detail("field", field)
    }

    /// 401 `authentication_error`.
    pub(crate) fn auth(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            code,
            message.into(),
        )
    }

    /// 403 `permission_error`.
    pub(crate) fn permission(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            code,
            message.into(),
        )
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", code, message.into())
    }

    /// 409 `conflict`.
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", code, message.into())
    }

    /// 429 `rate_limit_error`.
    pub(crate) fn rate_limit(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            code,
            message.into(),
        )
    }

    /// 502 `provider_error`.
    pub(crate) fn provider(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "provider_error",
            code,
            message.into(),
        )
    }

    /// 500 (or other 5xx) `server_error`.
    pub(crate) fn server(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(status, "server_error", code, message.into())
    }

    /// Any status/type, for the router's own 404/405/413.
    pub(crate) fn other(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(status, kind, code, message.into())
    }

    /// Adds `details[key] = value`.
    pub(crate) fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Value::Object(map) = &mut self.0.details {
            map.insert(key.to_owned(), value.into());
        }
        self
    }

    /// Sets the `Retry-After` header.
    pub(crate) fn retry_after(mut self, value: HeaderValue) -> Self {
        self.0.retry_after = Some(value);
        self
    }

    /// The JSON body as bytes.
    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        let v = json!({"error": {
            "type": self.0.kind,
            "code": self.0.code,
            "message": self.0.message,
            "doc_url": format!("{DOC_BASE}{}", self.0.code),
            "details": self.0.details,
        }});
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body_bytes();
        let mut resp = (
            self.0.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(v) = self.0.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
