//! [`ApiError`]: an error answer of the API, parsed from status, headers and body.
//!
//! The parser never fails and never panics: a body that is not the documented JSON (an HTML
//! page from a proxy, an empty, truncated, non-UTF-8 or oversized body) still yields a typed
//! error from the HTTP status, with [`BodyKind`] saying what the body was.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use super::kind::{ErrorCode, ErrorType};
use crate::retry_after::parse_retry_after;

/// Most bytes of an error body that are read and parsed; the rest is discarded.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A UTF-8 byte order mark, ignored at the start of a body (RFC 8259 §8.1 lets a parser
/// ignore it).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the body of an error answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BodyKind {
    /// The documented JSON error (enveloped or top-level).
    Json,
    /// No body at all.
    Empty,
    /// An HTML page (typically from a proxy or load balancer).
    Html,
    /// Some other body: plain text, JSON of another shape, invalid UTF-8.
    NotJson,
    /// The body was cut short (the connection ended mid-body).
    Truncated,
    /// The body was larger than [`MAX_ERROR_BODY_BYTES`]; only the status was used.
    TooLarge,
}

/// Response metadata the parser reads besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseMeta<'a> {
    /// The `Retry-After` header value.
    pub retry_after: Option<&'a str>,
    /// A request id header (`x-request-id`), for support reports.
    pub request_id: Option<&'a str>,
    /// The `Content-Type` header value.
    pub content_type: Option<&'a str>,
    /// Whether reading the body failed part-way.
    pub truncated: bool,
}

/// An error answer of the Nixflex API.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `error.type` as sent, or implied by the status when the body had none.
    pub error_type: Option<ErrorType>,
    /// `error.code` as sent.
    pub code: Option<ErrorCode>,
    /// `error.message`: for people only; never branch on it.
    pub message: Option<String>,
    /// `error.doc_url`.
    pub doc_url: Option<String>,
    /// `error.details`: extra context such as `twilio_error`.
    pub details: Option<Value>,
    /// `Retry-After`, as a delay from the moment the answer was parsed. `None` when absent or
    /// unparseable (garbage and negative values are ignored, not errors).
    #[serde(with = "crate::serde_util::opt_duration_secs")]
    pub retry_after: Option<Duration>,
    /// The server's request id, when it sent one.
    pub request_id: Option<String>,
    /// What the body was.
    pub body: BodyKind,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<Fields>,
    #[serde(flatten)]
    top: Fields,
}

#[derive(Deserialize, Default)]
struct Fields {
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<String>,
    message: Option<String>,
    doc_url: Option<String>,
    details: Option<Value>,
}

impl ApiError {
    /// Builds an error from a status alone (tests and callers without a body).
    pub fn from_status(status: u16) -> Self {
        Self {
            status,
            error_type: ErrorType::from_status(status),
            code: None,
            message: None,
            doc_url: None,
            details: None,
            retry_after: None,
            request_id: None,
            body: BodyKind::Empty,
        }
    }

    /// Sets the code (builder style, for tests and synthetic errors).
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the type (builder style).
    pub fn with_type(mut self, error_type: ErrorType) -> Self {
        self.error_type = Some(error_type);
        self
    }

    /// Sets `details` (builder style).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Sets the Retry-After delay (builder style).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Parses an error answer. `now` is the wall-clock time, used for an HTTP-date
    /// Retry-After. Never fails: what cannot be read is reported through [`ApiError::body`].
    pub fn parse(status: u16, meta: ResponseMeta<'_>, body: &[u8], now: SystemTime) -> Self {
        let mut err = Self::from_status(status);
        err.retry_after = meta.retry_after.and_then(|v| parse_retry_after(v, now));
        err.request_id = meta
            .request_id
            .filter(|id| id.len() <= 200)
            .map(str::to_owned);
        let oversized = body.len() > MAX_ERROR_BODY_BYTES;
        let body = body.strip_prefix(BOM).unwrap_or(body);
        err.body = if meta.truncated {
            BodyKind::Truncated
        } else if oversized {
            BodyKind::TooLarge
        } else if body.iter().all(u8::is_ascii_whitespace) {
            BodyKind::Empty
        } else if looks_like_html(meta.content_type, body) {
            BodyKind::Html
        } else {
            match serde_json::from_slice::<Envelope>(body) {
                Ok(env) => {
                    let fields = env.error.unwrap_or(env.top);
                    if fields.error_type.is_none() && fields.code.is_none() {
                        BodyKind::NotJson
                    } else {
                        if let Some(t) = fields.error_type {
                            err.error_type = Some(ErrorType::from_name(&t));
                        }
                        err.code = fields.code.map(|c| ErrorCode::from_name(&c));
                        err.message = fields.message;
                        err.doc_url = fields.doc_url;
                        err.details = fields.details;
                        BodyKind::Json
                    }
                }
                Err(e) if e.is_eof() => BodyKind::Truncated,
                Err(_) => BodyKind::NotJson,
            }
        };
        err
    }

    /// `details.twilio_error` as a number: accepts `20003`, `"20003"` and `{"code": 20003}`.
    pub fn twilio_error(&self) -> Option<u32> {
        let v = self.details.as_ref()?.get("twilio_error")?;
        let v = v.get("code").unwrap_or(v);
        match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " {t}")?;
        }
        if let Some(c) = &self.code {
            write!(f, "/{c}")?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        } else if self.body != BodyKind::Json {
            write!(f, " ({:?} body)", self.body)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html")) {
        return true;
    }
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let head = &body[start..body.len().min(start + 15)];
    head.first() == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(status: u16, body: &str) -> ApiError {
        ApiError::parse(
            status,
            ResponseMeta::default(),
            body.as_bytes(),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn envelope_and_top_level_fields() {
        let e = parse(
            502,
            r#"{"error":{"type":"provider_error","code":"outbound_failed","message":"m","doc_url":"u","details":{"twilio_error":21211}}}"#,
        );
        assert_eq!(e.body, BodyKind::Json);
        assert_eq!(e.error_type, Some(ErrorType::Provider));
        assert_eq!(e.code, Some(ErrorCode::OutboundFailed));
        assert_eq!(e.twilio_error(), Some(21211));
        let e = parse(
            400,
            r#"{"type":"invalid_request","code":"message_too_long"}"#,
        );
        assert_eq!(e.code, Some(ErrorCode::MessageTooLong));
    }

    #[test]
    fn bodies_that_are_not_the_contract_still_type_from_status() {
        let html = parse(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(html.body, BodyKind::Html);
        assert_eq!(html.error_type, Some(ErrorType::Provider));
        assert_eq!(parse(500, "").body, BodyKind::Empty);
        assert_eq!(
            parse(500, r#"{"error":{"type":"serv"#).body,
            BodyKind::Truncated
        );
        assert_eq!(parse(500, "oops").body, BodyKind::NotJson);
        assert_eq!(parse(500, r#"{"data":[]}"#).body, BodyKind::NotJson);
        let bin = ApiError::parse(
            503,
            ResponseMeta::default(),
            &[0xff, 0xfe, 0x00],
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(bin.body, BodyKind::NotJson);
        assert_eq!(bin.error_type, None);
        let big = vec![b' '; MAX_ERROR_BODY_BYTES + 1];
        assert_eq!(
            ApiError::parse(500, ResponseMeta::default(), &big, SystemTime::UNIX_EPOCH).body,
            BodyKind::TooLarge
        );
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): a body behind a UTF-8 byte order mark was
    /// `NotJson`, so its code was lost; for `recipient_unsubscribed` that meant no opt-out.
    #[test]
    fn a_leading_bom_does_not_hide_the_error_code() {
        let e = parse(
            400,
            "\u{feff}{\"error\":{\"type\":\"invalid_request\",\"code\":\"recipient_unsubscribed\"}}",
        );
        assert_eq!(e.body, BodyKind::Json);
        assert_eq!(e.code, Some(ErrorCode::RecipientUnsubscribed));
        assert_eq!(parse(500, "\u{feff}").body, BodyKind::Empty);
    }

    #[test]
    fn twilio_error_shapes() {
        let e = ApiError::from_status(502).with_details(json!({"twilio_error": {"code": "20003"}}));
        assert_eq!(e.twilio_error(), Some(20003));
        let e = ApiError::from_status(502).with_details(json!({"twilio_error": "x"}));
        assert_eq!(e.twilio_error(), None);
    }
}
