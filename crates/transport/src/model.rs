//! The API's resources, as the contract's REST conventions shape them. Deserialisation is
//! lenient (unknown fields ignored, optional fields defaulted) because the API adds fields.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::key::Secret;

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Agent {
    /// Agent id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Voice id.
    #[serde(default)]
    pub voice_id: String,
    /// Numbers attached to the agent.
    #[serde(default)]
    pub phone_numbers: Vec<String>,
}

/// `POST /v1/agents` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// System prompt (at most about 10,000 characters).
    pub system_prompt: String,
    /// A supported voice id.
    pub voice_id: String,
}

/// `POST /v1/phone-numbers` body: import a Twilio number to an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberImport {
    /// The agent to attach the number to.
    pub agent_id: String,
    /// The number, E.164.
    pub phone_number: String,
    /// Twilio account SID (`AC` + 32 hex).
    pub twilio_account_sid: String,
    /// Twilio auth token (redacted in Debug).
    pub twilio_auth_token: Secret,
}

/// An imported number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PhoneNumber {
    /// The number.
    pub phone_number: String,
    /// The agent it is attached to.
    #[serde(default)]
    pub agent_id: String,
}

/// `POST /v1/calls` body and options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCall {
    /// The calling agent.
    pub agent_id: String,
    /// Destination, E.164.
    pub to: String,
    /// Caller id; the agent's number when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    /// Free-form metadata kept with the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Idempotency key for this logical call; a random UUID when absent. A dialer passes one
    /// derived from campaign and contact so that even a restarted process cannot dial twice.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl NewCall {
    /// A call from `agent_id` to `to`, with no caller id, metadata or key.
    pub fn new(agent_id: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            to: to.into(),
            from_number: None,
            metadata: None,
            idempotency_key: None,
        }
    }
}

/// The status of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallStatus {
    /// Accepted, not yet ringing.
    Queued,
    /// Ringing.
    Ringing,
    /// Answered and live.
    InProgress,
    /// Ended normally.
    Completed,
    /// The line was busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// The call failed.
    Failed,
    /// The call was canceled.
    Canceled,
    /// A status this version does not know (treated as not terminal).
    Unknown(String),
}

impl CallStatus {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Ringing => "ringing",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the call has ended and no longer holds a concurrent-call slot.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Failed | Self::Canceled
        )
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CallStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CallStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "queued" => Self::Queued,
            "ringing" => Self::Ringing,
            "in_progress" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no_answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => Self::Unknown(s),
        })
    }
}

/// A call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Call {
    /// Call id.
    pub id: String,
    /// Current status.
    pub status: CallStatus,
    /// Destination.
    #[serde(default)]
    pub to: String,
    /// Caller id.
    #[serde(default)]
    pub from_number: Option<String>,
    /// The calling agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// When the call was created, RFC 3339, as the server sent it (**assumed** field).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The metadata given at creation, returned as sent (**assumed** field); redial's creates
    /// carry their idempotency key in it under [`IDEMPOTENCY_KEY_FIELD`].
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// The `metadata` field under which every create carries its idempotency key, beside the
/// caller's own metadata (which is kept; a caller's value under this name is replaced). It
/// lets a reconciliation find the call a create placed when the server does not honour
/// `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_FIELD: &str = "redial_idempotency_key";

impl Call {
    /// The idempotency key the call was created with, read from its metadata.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.metadata.as_ref()?.get(IDEMPOTENCY_KEY_FIELD)?.as_str()
    }

    /// `created_at` as a time, when the server sent a parseable RFC 3339 value (`Z` or a
    /// numeric offset).
    pub fn created_at_time(&self) -> Option<std::time::SystemTime> {
        parse_rfc3339(self.created_at.as_deref()?)
    }
}

/// RFC 3339 with `Z` or a `+hh:mm`/`-hh:mm` offset (humantime reads only UTC forms).
fn parse_rfc3339(text: &str) -> Option<std::time::SystemTime> {
    use std::time::Duration;
    let text = text.trim();
    if let Some(utc) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    let (local, sign, offset) = match text.len().checked_sub(6) {
        Some(i) if text.is_char_boundary(i) => {
            let (local, offset) = text.split_at(i);
            match offset.as_bytes().first() {
                Some(b'+') => (local, 1i64, &offset[1..]),
                Some(b'-') => (local, -1i64, &offset[1..]),
                _ => return humantime::parse_rfc3339_weak(text).ok(),
            }
        }
        _ => return None,
    };
    let (h, m) = offset.split_once(':')?;
    let minutes: i64 = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
    let at = humantime::parse_rfc3339_weak(local).ok()?;
    let shift = Duration::from_secs(u64::try_from(minutes).ok()? * 60);
    // Local time = UTC + offset, so UTC = local - offset.
    if sign > 0 {
        at.checked_sub(shift)
    } else {
        at.checked_add(shift)
    }
}

/// `GET /v1/calls` query. Every filter is **assumed** (a server may ignore one it does not
/// know), so readers filter the answer themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCalls {
    /// Only calls to this number.
    pub to: Option<String>,
    /// Only calls of this agent.
    pub agent_id: Option<String>,
    /// At most this many calls (the contract's default is 100); never assume more come back.
    pub limit: Option<u32>,
}

impl ListCalls {
    /// The path and query: `/v1/calls?to=%2B44…&agent_id=…&limit=…`.
    pub(crate) fn path(&self) -> String {
        let mut path = String::from("/v1/calls");
        let mut sep = '?';
        let mut push = |name: &str, value: &str| {
            path.push(sep);
            sep = '&';
            path.push_str(name);
            path.push('=');
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    path.push(char::from(b));
                } else {
                    path.push_str(&format!("%{b:02X}"));
                }
            }
        };
        if let Some(to) = &self.to {
            push("to", to);
        }
        if let Some(agent) = &self.agent_id {
            push("agent_id", agent);
        }
        if let Some(limit) = self.limit {
            push("limit", &limit.to_string());
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_are_encoded() {
        let q = ListCalls {
            to: Some("+447446466847".into()),
            agent_id: Some("agent 1".into()),
            limit: Some(100),
        };
        assert_eq!(
            q.path(),
            "/v1/calls?to=%2B447446466847&agent_id=agent%201&limit=100"
        );
        assert_eq!(ListCalls::default().path(), "/v1/calls");
    }

    #[test]
    fn created_at_reads_utc_and_offsets() {
        let t = |s: &str| {
            parse_rfc3339(s).map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        };
        assert_eq!(t("1970-01-01T01:00:00Z"), Some(3600));
        assert_eq!(t("1970-01-01T01:00:00.250Z"), Some(3600));
        assert_eq!(t("1970-01-01T02:00:00+01:00"), Some(3600));
        assert_eq!(t("1970-01-01T00:30:00-00:30"), Some(3600));
        assert_eq!(t("yesterday"), None);
    }
}

/// `POST /v1/messages` body and options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    /// Recipient, E.164.
    pub to: String,
    /// Text, at most 1,600 characters (see [`crate::sms::split_body`]).
    pub body: String,
    /// Sender number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    /// Agent sending on behalf of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Idempotency key; a random UUID when absent.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Message id.
    pub id: String,
    /// Status as accepted.
    #[serde(default)]
    pub status: String,
}

/// A `{"data": [...]}` list.
#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    pub(crate) data: Vec<T>,
}
