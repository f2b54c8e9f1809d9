//! What the policy says: the classification of a failure and the decision about the next step.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// A scope that a `halt` stops: later requests in it fail fast without being sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HaltScope {
    /// Every request of the account (bad API key).
    Account,
    /// Every request naming this agent.
    Agent(String),
    /// Every request using this sender: a from_number, or a Twilio account SID.
    Sender(String),
}

impl HaltScope {
    /// `account`, `agent` or `sender`: the low-cardinality metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Agent(_) => "agent",
            Self::Sender(_) => "sender",
        }
    }
}

impl fmt::Display for HaltScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Account => f.write_str("account"),
            Self::Agent(id) => write!(f, "agent {id}"),
            Self::Sender(id) => write!(f, "sender {id}"),
        }
    }
}

/// The verdict on a failure: which of the five handlers of design.md applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Transient: back off and try again.
    Retry,
    /// Over the request rate: slow the bucket down, honour Retry-After, try again.
    Throttle,
    /// Too many live calls: wait for a call slot, try again.
    WaitSlot,
    /// This request will never succeed as sent: give up on this item.
    Fatal,
    /// Every request in this scope will fail: stop the scope.
    Halt(HaltScope),
}

impl Action {
    /// The snake_case name used in config, metrics and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Throttle => "throttle",
            Self::WaitSlot => "wait_slot",
            Self::Fatal => "fatal",
            Self::Halt(_) => "halt",
        }
    }

    /// Whether the action tries the request again (retry, throttle, wait_slot).
    pub fn tries_again(&self) -> bool {
        matches!(self, Self::Retry | Self::Throttle | Self::WaitSlot)
    }
}

/// Whether the server may have acted on a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SideEffect {
    /// The failure proves nothing happened (every 4xx, outbound_failed, connect refused).
    NotActed,
    /// The server may have acted (5xx, a timeout or reset after the request was sent).
    MayHaveActed,
}

/// Which rule classified a failure (code, then type, then status, then transport kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchedBy {
    /// The `code` rule.
    Code,
    /// `details.twilio_error` of an `outbound_failed`.
    TwilioCode,
    /// The `type` rule.
    Type,
    /// The HTTP status class.
    Status,
    /// The transport failure kind.
    Transport,
}

/// The classification of one failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Classification {
    /// The verdict.
    pub action: Action,
    /// Whether the server may have acted.
    pub side_effect: SideEffect,
    /// Which rule matched.
    pub matched_by: MatchedBy,
    /// The code was present but is not one the contract documents.
    pub unknown_code: bool,
    /// The type was present but is not one the contract documents.
    pub unknown_type: bool,
    /// The recipient opted out (recipient_unsubscribed, Twilio 21610): never contact again.
    pub opted_out: bool,
    /// Attempt ceiling of the matching rule, if it sets one.
    pub max_attempts: Option<u32>,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Try again after `after`.
    Retry {
        /// Delay before the next attempt (backoff, or Retry-After when longer).
        #[serde(with = "secs")]
        after: Duration,
    },
    /// Slow the request's bucket down and try again after `after`.
    Throttle {
        /// Delay before the next attempt.
        #[serde(with = "secs")]
        after: Duration,
        /// The server's Retry-After, which pauses the whole account until then (for its full
        /// length: a throttle is a wait, never a reason to give up).
        #[serde(with = "crate::serde_util::opt_duration_secs")]
        retry_after: Option<Duration>,
    },
    /// Shrink the call-slot limit, wait for a slot, then try again after `after`.
    WaitSlot {
        /// Least delay before the next attempt.
        #[serde(with = "secs")]
        after: Duration,
    },
    /// Give up on this item: the request will never succeed as sent.
    Fatal {
        /// The recipient opted out.
        opted_out: bool,
    },
    /// Stop the scope: this and later requests in it fail fast.
    Halt {
        /// The scope to stop.
        scope: HaltScope,
    },
    /// The server may have acted and retrying could act twice: surface it for reconciling.
    Ambiguous,
    /// A retry was warranted but a limit refused it.
    GiveUp {
        /// Which limit.
        reason: GiveUpReason,
    },
}

impl Decision {
    /// The snake_case name used in metrics and span fields.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Retry { .. } => "retry",
            Self::Throttle { .. } => "throttle",
            Self::WaitSlot { .. } => "wait_slot",
            Self::Fatal { .. } => "fatal",
            Self::Halt { .. } => "halt",
            Self::Ambiguous => "ambiguous",
            Self::GiveUp { .. } => "give_up",
        }
    }

    /// The delay before the next attempt, for the three decisions that try again.
    pub fn retry_delay(&self) -> Option<Duration> {
        match self {
            Self::Retry { after } | Self::Throttle { after, .. } | Self::WaitSlot { after } => {
                Some(*after)
            }
            _ => None,
        }
    }
}

/// Why a warranted retry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The attempt limit is reached.
    AttemptsExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// The next attempt would start after the request's deadline.
    DeadlineExceeded,
    /// The retry budget refused the retry.
    BudgetExhausted,
    /// A `retry` answer asked for a longer wait than `max_retry_after` (a throttle's
    /// Retry-After never gives up: it pauses the account).
    RetryAfterTooLong {
        /// What the server asked for.
        #[serde(with = "secs")]
        retry_after: Duration,
        /// The configured ceiling.
        #[serde(with = "secs")]
        max: Duration,
    },
}

impl GiveUpReason {
    /// The snake_case name used in metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AttemptsExhausted { .. } => "attempts_exhausted",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::BudgetExhausted => "budget_exhausted",
            Self::RetryAfterTooLong { .. } => "retry_after_too_long",
        }
    }
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AttemptsExhausted { attempts } => write!(f, "gave up after {attempts} attempts"),
            Self::DeadlineExceeded => {
                f.write_str("the request's deadline would pass before the next attempt")
            }
            Self::BudgetExhausted => f.write_str("the retry budget refused another retry"),
            Self::RetryAfterTooLong { retry_after, max } => write!(
                f,
                "the server asked to retry after {}s, longer than max_retry_after ({}s)",
                retry_after.as_secs_f64(),
                max.as_secs_f64()
            ),
        }
    }
}

mod secs {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}
