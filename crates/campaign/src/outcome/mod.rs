//! What became of a contact: its one final [`ContactOutcome`].
//!
//! Every contact a [`ContactSource`](crate::ContactSource) yields ends in exactly one outcome
//! per run, written to the [`ResultSink`](crate::ResultSink) (and the journal). The serialized
//! form is the results file's JSON line: field names and meanings are a stable contract.

pub(crate) mod build;

use serde::{Deserialize, Serialize};

/// What became of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutcomeStatus {
    /// The call was placed and reached a terminal status (busy, no_answer and failed calls
    /// included: see [`ContactOutcome::call_status`]).
    Completed,
    /// Fatal for this contact, or retries exhausted, timeout, budget, circuit open.
    Failed,
    /// The recipient opted out (recipient_unsubscribed, Twilio 21610, the suppress list).
    OptedOut,
    /// The server may have placed the call and nobody could find out: reconcile before
    /// dialling this contact again.
    Ambiguous,
    /// Not attempted, or stopped, because a halt scope tripped or the campaign was stopped:
    /// re-dialable on a rerun when no call was created.
    Halted,
}

impl OutcomeStatus {
    /// Every status, in report order.
    pub const ALL: [OutcomeStatus; 5] = [
        Self::Completed,
        Self::Failed,
        Self::OptedOut,
        Self::Ambiguous,
        Self::Halted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::OptedOut => "opted_out",
            Self::Ambiguous => "ambiguous",
            Self::Halted => "halted",
        }
    }
}

impl std::fmt::Display for OutcomeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of a contact that did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The API's error type (`server_error`, ...), `transport` when no answer arrived, or the
    /// runtime's own class (`invalid_input`, `halted`, `circuit_open`, `suppressed`, ...).
    #[serde(rename = "type")]
    pub error_type: String,
    /// The API's error code, the transport failure kind, or the runtime's own code.
    pub code: String,
    /// For people; never branch on it.
    pub message: String,
    /// For `halted`: the scope kind (`account`, `agent`, `sender`, `campaign`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The API's `details`, as sent (e.g. `{"twilio_error": 21211}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The API's `doc_url`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    /// For a contact stopped by an account pause (a quota's long `Retry-After`): when the
    /// account may send again, RFC 3339 (UTC). Rerun after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<String>,
    /// For a `server_error` or `provider_error`: the report Nixflex support asks for
    /// (`timestamp`, `operation`, `agent_id`, `to`, `call_id`, `request_id`, `attempts`,
    /// `error {type, code, message, details}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<serde_json::Value>,
}

impl ErrorInfo {
    /// An error of the runtime's own (no API answer behind it).
    pub fn new(error_type: impl Into<String>, code: impl Into<String>, message: String) -> Self {
        Self {
            error_type: error_type.into(),
            code: code.into(),
            message,
            scope: None,
            details: None,
            doc_url: None,
            retry_at: None,
            support: None,
        }
    }
}

/// One contact's final outcome: one line of the results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactOutcome {
    /// Where the contact is in its source (the contacts file's line; the header is line 1).
    pub line: u64,
    /// The number (as written, for a malformed row).
    pub phone: String,
    /// What became of the contact.
    pub status: OutcomeStatus,
    /// The call id, when a call was created.
    pub call_id: Option<String>,
    /// The call's last known status, when a call was created.
    pub call_status: Option<String>,
    /// Attempts the create took (0 when nothing was sent).
    pub attempts: u32,
    /// Why the contact did not complete (boxed: most outcomes have none).
    pub error: Option<Box<ErrorInfo>>,
}

impl ContactOutcome {
    /// An outcome with no call: the runtime's own verdict on a contact (`attempts` 0).
    pub fn without_call(line: u64, phone: &str, status: OutcomeStatus, error: ErrorInfo) -> Self {
        Self {
            line,
            phone: phone.to_owned(),
            status,
            call_id: None,
            call_status: None,
            attempts: 0,
            error: Some(Box::new(error)),
        }
    }

    /// Whether this contact is dialled again on a rerun with the same journal: a halt or a
    /// stop ended it before any call was created (the halting answer proves nothing was
    /// placed).
    pub fn retry_on_rerun(&self) -> bool {
        self.status == OutcomeStatus::Halted && self.call_id.is_none()
    }

    /// Whether the contact was stopped (`halted`) while its call was live: its call exists
    /// but its end was not seen. A rerun follows that call instead of re-emitting this.
    pub fn call_unfinished(&self) -> bool {
        self.status == OutcomeStatus::Halted && self.call_id.is_some() && self.call_status.is_none()
    }

    /// The error code, if the contact did not complete.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.as_str())
    }
}
