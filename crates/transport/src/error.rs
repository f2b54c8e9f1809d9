//! [`Error`]: every way a request can end without success, matchable without parsing strings.

use std::time::{Duration, SystemTime};

use redial_policy::{ApiError, ConfigError, ErrorCode, Failure, GiveUpReason, HaltScope};

use redial_limiter::CallSlot;

use crate::key::ApiKeyError;
use crate::support::SupportReport;
use crate::validate::InvalidInput;

/// What happened before a request ended: the last failure, attempts and time spent.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct FailureDetail {
    /// The operation, as a route pattern: `"POST /v1/calls"`.
    pub operation: &'static str,
    /// The last failure, when an attempt was made.
    pub last: Option<Failure>,
    /// Attempts sent.
    pub attempts: u32,
    /// Time from the start of the logical request to the end.
    pub elapsed: Duration,
    /// For `Exhausted`, `Timeout` and `BudgetExhausted`: the limit that ended the retries.
    pub give_up: Option<GiveUpReason>,
    /// The report for Nixflex support, on a server error or a repeating provider error.
    pub support: Option<SupportReport>,
    /// An attempt of this (non-idempotent) request may have acted on the server: reconcile
    /// before repeating it.
    pub may_have_acted: bool,
    /// When the request was first sent (wall clock), if it was: a reconciliation looks for a
    /// call created after this (see `Calls::reconcile`).
    pub first_sent: Option<SystemTime>,
}

impl FailureDetail {
    pub(crate) fn new(operation: &'static str) -> Self {
        Self {
            operation,
            last: None,
            attempts: 0,
            elapsed: Duration::ZERO,
            give_up: None,
            support: None,
            may_have_acted: false,
            first_sent: None,
        }
    }
}

/// Why a request did not succeed.
///
/// Branch on the variant, then on [`Error::code`] — never on a message text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This request will never succeed as sent (a `fatal` decision): give up on the item.
    #[error("{operation}: fatal: {}", describe(.detail))]
    Fatal {
        /// The recipient opted out (recipient_unsubscribed or Twilio 21610): never contact them.
        opted_out: bool,
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
        /// For a create whose earlier attempt may have placed the call, the call slot it held:
        /// the call may be live (see [`Error::take_slot`]). Boxed: the error stays small.
        slot: Option<Box<CallSlot>>,
    },
    /// A halt scope is stopped: this request failed with a halting error, or was not sent
    /// because an earlier one halted its scope.
    #[error("{operation}: halted ({scope}): {}", describe(.detail))]
    Halted {
        /// The stopped scope.
        scope: HaltScope,
        /// What happened (no attempts when the request failed fast).
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
        /// For a create whose earlier attempt may have placed the call, the call slot it held:
        /// the call may be live (see [`Error::take_slot`]). Boxed: the error stays small.
        slot: Option<Box<CallSlot>>,
    },
    /// Retries ended at the attempt limit (or on a Retry-After longer than allowed).
    #[error("{operation}: gave up after {} attempts: {}", .detail.attempts, describe(.detail))]
    Exhausted {
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The server may have acted and a retry could act twice, so none was made (or a retry
    /// ended without an answer): reconcile — for a call, it may exist and be live.
    #[error("{operation}: ambiguous, the server may have acted: {}", describe(.detail))]
    Ambiguous {
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
        /// For a create-call request, the call slot it held: the call may be live, so keep it
        /// until the call is reconciled (dropping it frees the slot).
        slot: Option<CallSlot>,
    },
    /// The request's total deadline passed.
    #[error("{operation}: deadline passed after {} attempts: {}", .detail.attempts, describe(.detail))]
    Timeout {
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The endpoint group's circuit is open; nothing was sent.
    #[error("{operation}: circuit open for {group} for another {:.1}s", .retry_in.as_secs_f64())]
    CircuitOpen {
        /// The endpoint group.
        group: String,
        /// How long until the circuit lets a probe through.
        retry_in: Duration,
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The retry budget refused a retry (the service is failing broadly).
    #[error("{operation}: retry budget exhausted: {}", describe(.detail))]
    BudgetExhausted {
        /// What happened.
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The account is paused (a throttle's `Retry-After`: a quota, or Twilio's rate limit) for
    /// longer than this request may wait (`pacing.max_pause`), or it was throttled for longer
    /// than that in all. It ended without being sent (this time): it is re-dialable after
    /// `resume_at`, never failed. `Client::pause` tells whether the whole account is paused.
    #[error(
        "{operation}: not sent, the account is paused for another {:.0}s (until {}){}",
        .retry_in.as_secs_f64(),
        humantime::format_rfc3339_seconds(*.resume_at),
        describe_cause(.cause.as_deref())
    )]
    Paused {
        /// When sending may resume (wall clock).
        resume_at: SystemTime,
        /// How long from the end of the request.
        retry_in: Duration,
        /// The throttle answer that caused the pause, when this client saw it.
        cause: Option<Box<ApiError>>,
        /// What happened before (earlier attempts, if any).
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// A create waited `slots.max_wait` in all for a call slot without getting one; it ended
    /// without being sent (this time). Re-dialable, never failed.
    #[error("{operation}: not sent, no call slot within {:.0}s", .waited.as_secs_f64())]
    SlotWait {
        /// How long it waited for a slot.
        waited: Duration,
        /// What happened before (earlier attempts, if any).
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The caller's `before_send` hook failed, so the request was not sent (this time).
    #[error("{operation}: not sent, the before-send hook failed: {reason}")]
    Aborted {
        /// What the hook reported.
        reason: String,
        /// What happened before (earlier attempts, if any).
        detail: Box<FailureDetail>,
        /// The operation.
        operation: &'static str,
    },
    /// The request was refused before sending: an argument is invalid.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The client could not be built: bad config, key or base URL.
    #[error(transparent)]
    Config(#[from] ClientConfigError),
}

/// Why a client could not be built or reconfigured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// The policy config is invalid.
    #[error(transparent)]
    Policy(#[from] ConfigError),
    /// The API key is malformed.
    #[error(transparent)]
    ApiKey(#[from] ApiKeyError),
    /// No API key was given.
    #[error("no API key: pass one to ClientBuilder::api_key (KEY_ID:KEY_SECRET)")]
    MissingApiKey,
    /// The base URL is not an absolute http(s) URL.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

fn describe_cause(cause: Option<&ApiError>) -> String {
    cause.map_or_else(String::new, |c| format!(": {c}"))
}

fn describe(d: &FailureDetail) -> String {
    let mut s = match &d.last {
        Some(f) => f.to_string(),
        None => "not sent".to_owned(),
    };
    if let Some(r) = &d.give_up {
        s.push_str(&format!(" ({r})"));
    }
    s
}

impl Error {
    /// The details of a request that was attempted or failed fast.
    pub fn detail(&self) -> Option<&FailureDetail> {
        match self {
            Self::Fatal { detail, .. }
            | Self::Halted { detail, .. }
            | Self::Exhausted { detail, .. }
            | Self::Ambiguous { detail, .. }
            | Self::Timeout { detail, .. }
            | Self::CircuitOpen { detail, .. }
            | Self::BudgetExhausted { detail, .. }
            | Self::Paused { detail, .. }
            | Self::SlotWait { detail, .. }
            | Self::Aborted { detail, .. } => Some(detail),
            Self::InvalidInput(_) | Self::Config(_) => None,
        }
    }

    /// The last error answer of the API, if any (for [`Error::Paused`] without an answer of
    /// its own: the throttle that paused the account).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self.detail()?.last.as_ref() {
            Some(last) => last.api(),
            None => match self {
                Self::Paused { cause, .. } => cause.as_deref(),
                _ => None,
            },
        }
    }

    /// For [`Error::Paused`]: when sending may resume.
    pub fn resume_at(&self) -> Option<SystemTime> {
        match self {
            Self::Paused { resume_at, .. } => Some(*resume_at),
            _ => None,
        }
    }

    /// The error code: the API's, or the one the client-side check stands in for.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::InvalidInput(i) => Some(&i.code),
            _ => self.api_error()?.code.as_ref(),
        }
    }

    /// Attempts sent (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.detail().map_or(0, |d| d.attempts)
    }

    /// Time spent on the request.
    pub fn elapsed(&self) -> Duration {
        self.detail().map_or(Duration::ZERO, |d| d.elapsed)
    }

    /// The support report, when the failure warrants one.
    pub fn support_report(&self) -> Option<&SupportReport> {
        self.detail()?.support.as_ref()
    }

    /// Whether an attempt may have acted on the server (a call may exist): always true for
    /// [`Error::Ambiguous`], and possible for [`Error::Halted`] and opt-outs after a retry.
    pub fn may_have_acted(&self) -> bool {
        self.detail().is_some_and(|d| d.may_have_acted)
    }

    /// Takes the call slot a create kept because its call may be live: an ambiguous create,
    /// or one halted or refused after an earlier attempt that may have placed the call.
    /// Keep it until the call is known to have ended; dropping it frees the slot.
    pub fn take_slot(&mut self) -> Option<CallSlot> {
        match self {
            Self::Ambiguous { slot, .. } => slot.take(),
            Self::Fatal { slot, .. } | Self::Halted { slot, .. } => slot.take().map(|s| *s),
            _ => None,
        }
    }

    /// Whether the recipient opted out and must never be contacted again.
    pub fn is_opted_out(&self) -> bool {
        matches!(
            self,
            Self::Fatal {
                opted_out: true,
                ..
            }
        )
    }

    /// The halted scope, for `Halted`.
    pub fn halt_scope(&self) -> Option<&HaltScope> {
        match self {
            Self::Halted { scope, .. } => Some(scope),
            _ => None,
        }
    }

    /// The low-cardinality outcome label used in metrics: `fatal`, `halted`, … [`Error::Paused`]
    /// and [`Error::SlotWait`] are `halted`: re-dialable, never failed.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Fatal { .. } => "fatal",
            Self::Halted { .. } | Self::Paused { .. } | Self::SlotWait { .. } => "halted",
            Self::Exhausted { .. } => "exhausted",
            Self::Ambiguous { .. } => "ambiguous",
            Self::Timeout { .. } => "timeout",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::BudgetExhausted { .. } => "budget_exhausted",
            Self::Aborted { .. } => "aborted",
            Self::InvalidInput(_) => "invalid_input",
            Self::Config(_) => "config",
        }
    }
}
