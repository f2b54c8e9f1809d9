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
