//! The support report Nixflex asks for on a `server_error`, or a `provider_error` that repeats
//! for one operation: ids, the full error, a timestamp and what was being attempted.

use serde::Serialize;
use serde_json::Value;

use redial_policy::ApiError;

/// What Nixflex support needs to investigate a failure. Serialise it as JSON and attach it to
/// a ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SupportReport {
    /// The call id, when the operation concerned a known call.
    pub call_id: Option<String>,
    /// The message id, when known.
    pub message_id: Option<String>,
    /// `error.type`.
    pub error_type: Option<String>,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// `error.details`.
    pub details: Option<Value>,
    /// HTTP status.
    pub status: u16,
    /// The server's request id, when it sent one.
    pub request_id: Option<String>,
    /// When the last failure was seen, RFC 3339 (UTC).
    pub timestamp: String,
    /// What was attempted: `"POST /v1/calls"`.
    pub operation: String,
    /// Attempts made.
    pub attempts: u32,
    /// How many of them failed with this same type.
    pub repeats: u32,
}

impl SupportReport {
    pub(crate) fn new(
        err: &ApiError,
        operation: &str,
        attempts: u32,
        repeats: u32,
        timestamp: String,
    ) -> Self {
        Self {
            call_id: None,
            message_id: None,
            error_type: err.error_type.as_ref().map(|t| t.as_str().to_owned()),
            code: err.code.as_ref().map(|c| c.as_str().to_owned()),
            message: err.message.clone(),
            details: err.details.clone(),
            status: err.status,
            request_id: err.request_id.clone(),
            timestamp,
            operation: operation.to_owned(),
            attempts,
            repeats,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
