//! The support report Nixflex asks for on a `server_error`, or a `provider_error` that repeats
//! for one operation: ids, the full error, a timestamp and what was being attempted.
//!
//! "Repeats" is counted per operation across requests ([`ProviderWindow`], a sliding window
//! in the client, `[support]` in the config): one create failing once upstream says little,
//! ten creates failing once each within minutes is an incident. A bare 502/503/504 page from a
//! gateway (no JSON body) is reported at once, like a typed `server_error`: it names no
//! upstream provider, and the gateway in front of the API failed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use redial_policy::{ApiError, BodyKind, ErrorType};

/// What Nixflex support needs to investigate a failure. Serialise it as JSON (one line per
/// report, `serde_json::to_string`) and attach it to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SupportReport {
    /// When the last failure was seen, RFC 3339 (UTC).
    pub timestamp: String,
    /// What was attempted: `"POST /v1/calls"`.
    pub operation: String,
    /// The agent the request named, if any.
    pub agent_id: Option<String>,
    /// The destination number, for a call or a message.
    pub to: Option<String>,
    /// The call id, when the operation concerned a known call.
    pub call_id: Option<String>,
    /// The message id, when known.
    pub message_id: Option<String>,
    /// The server's request id, when it sent one.
    pub request_id: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// How many failures of this kind the report stands for: the attempts of this request
    /// that failed so, or, for a repeating `provider_error`, the ones of this operation in the
    /// `[support]` window across requests.
    pub repeats: u32,
    /// The full error, as the API sent it.
    pub error: SupportError,
}

/// The error inside a [`SupportReport`]: every field as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SupportError {
    /// `error.type` (or the one the HTTP status implies).
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// `error.details` (e.g. `twilio_error`).
    pub details: Option<Value>,
    /// `error.doc_url`.
    pub doc_url: Option<String>,
    /// HTTP status.
    pub status: u16,
}

/// Who the report is about, besides the error.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Subject<'a> {
    pub(crate) operation: &'a str,
    pub(crate) agent_id: Option<&'a str>,
    pub(crate) to: Option<&'a str>,
    pub(crate) call_id: Option<&'a str>,
}

impl SupportReport {
    pub(crate) fn new(
        err: &ApiError,
        subject: Subject<'_>,
        attempts: u32,
        repeats: u32,
        timestamp: String,
    ) -> Self {
        Self {
            timestamp,
            operation: subject.operation.to_owned(),
            agent_id: subject.agent_id.map(str::to_owned),
            to: subject.to.map(str::to_owned),
            call_id: subject.call_id.map(str::to_owned),
            message_id: None,
            request_id: err.request_id.clone(),
            attempts,
            repeats,
            error: SupportError {
                error_type: err.error_type.as_ref().map(|t| t.as_str().to_owned()),
                code: err.code.as_ref().map(|c| c.as_str().to_owned()),
                message: err.message.clone(),
                details: err.details.clone(),
                doc_url: err.doc_url.clone(),
                status: err.status,
            },
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Whether an error answer is reported at once: a typed `server_error`, a bare 500, or a
/// gateway's 502/503/504 page with no JSON body.
pub(crate) fn reported_at_once(e: &ApiError) -> bool {
    e.error_type == Some(ErrorType::Server)
        || (e.status == 500 && e.error_type.is_none())
        || (e.body != BodyKind::Json && matches!(e.status, 500 | 502 | 503 | 504))
}

/// Whether an error answer is a typed `provider_error` (counted in the window).
pub(crate) fn is_provider_error(e: &ApiError) -> bool {
    e.error_type == Some(ErrorType::Provider) && !reported_at_once(e)
}

/// Provider errors per operation over a sliding window, across requests.
#[derive(Debug, Default)]
pub(crate) struct ProviderWindow {
    seen: Mutex<HashMap<&'static str, VecDeque<Instant>>>,
}

impl ProviderWindow {
    /// Records a provider error of `operation` at `now`; returns how many the window holds.
    pub(crate) fn record(&self, operation: &'static str, now: Instant, window: Duration) -> u32 {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let times = seen.entry(operation).or_default();
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            times.pop_front();
        }
        times.push_back(now);
        u32::try_from(times.len()).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn provider_errors_are_counted_per_operation_over_the_window() {
        let w = ProviderWindow::default();
        let window = Duration::from_secs(600);
        let t0 = crate::clock::now();
        assert_eq!(w.record("POST /v1/calls", t0, window), 1);
        assert_eq!(w.record("GET /v1/agents", t0, window), 1);
        assert_eq!(
            w.record("POST /v1/calls", t0 + Duration::from_secs(599), window),
            2
        );
        assert_eq!(
            w.record("POST /v1/calls", t0 + Duration::from_secs(900), window),
            2
        );
        assert_eq!(
            w.record("POST /v1/calls", t0 + Duration::from_secs(2000), window),
            1
        );
    }

    #[test]
    fn a_bare_gateway_page_is_reported_like_a_server_error() {
        let page = |status| {
            ApiError::parse(
                status,
                redial_policy::ResponseMeta::default(),
                b"<html>Bad Gateway</html>",
                std::time::SystemTime::UNIX_EPOCH,
            )
        };
        for status in [502, 503, 504] {
            assert!(reported_at_once(&page(status)), "{status}");
            assert!(!is_provider_error(&page(status)));
        }
        let mut typed = ApiError::from_status(502).with_type(ErrorType::Provider);
        typed.body = BodyKind::Json;
        assert!(!reported_at_once(&typed) && is_provider_error(&typed));
    }
}
