//! `redial policy explain`: the rule the runtime applies to every documented type and code.

use serde::Serialize;

use crate::action::{Action, HaltScope, MatchedBy, SideEffect};
use crate::error::{ApiError, ErrorCode, ErrorType, Failure};
use crate::policy::Policy;
use crate::request::RequestInfo;
use crate::route::Method;

/// One row of the explanation table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainRow {
    /// `type` or `code`.
    pub kind: &'static str,
    /// The type or code name.
    pub name: String,
    /// The action, with its scope for halts (`halt(agent)`).
    pub action: String,
    /// What it proves about side effects.
    pub side_effect: &'static str,
    /// Attempts allowed when this is the latest failure; `0` for throttles and slot waits,
    /// which are waits and not counted (bounded by `pacing.max_pause` / `slots.max_wait`).
    pub max_attempts: u32,
    /// The backoff schedule a retry uses.
    pub backoff: String,
}

impl Policy {
    /// The rule for every documented type and code, in contract order.
    pub fn explain(&self) -> Vec<ExplainRow> {
        let request = RequestInfo {
            agent_id: Some("<agent>"),
            sender: Some("<sender>"),
            ..RequestInfo::new(Method::Post, "/v1/calls")
        };
        let types = ErrorType::DOCUMENTED.iter().map(|t| {
            let status = t.documented_status().unwrap_or(500);
            (
                "type",
                t.as_str(),
                ApiError::from_status(status).with_type(t.clone()),
            )
        });
        let codes = ErrorCode::DOCUMENTED.iter().map(|c| {
            let status = match c {
                ErrorCode::RateLimitExceeded | ErrorCode::ConcurrentCallLimit => 429,
                ErrorCode::OutboundFailed => 502,
                _ => 400,
            };
            (
                "code",
                c.as_str(),
                ApiError::from_status(status).with_code(c.clone()),
            )
        });
        types
            .chain(codes)
            .map(|(kind, name, err)| {
                let c = self.classify(&Failure::Api(err), &request);
                let limits = self.limits(&request);
                let action = match &c.action {
                    Action::Halt(HaltScope::Account) => "halt(account)".to_owned(),
                    Action::Halt(HaltScope::Agent(_)) => "halt(agent)".to_owned(),
                    Action::Halt(HaltScope::Sender(_)) => "halt(sender)".to_owned(),
                    a if c.opted_out => format!("{}(opted_out)", a.as_str()),
                    a => a.as_str().to_owned(),
                };
                let by_twilio =
                    name == ErrorCode::OutboundFailed.as_str() && c.matched_by == MatchedBy::Code;
                let action = if by_twilio {
                    format!("by_twilio_code(default {action})")
                } else {
                    action
                };
                let backoff = if by_twilio {
                    self.backoff_label(&Action::Retry)
                } else {
                    self.backoff_label(&c.action)
                };
                ExplainRow {
                    kind,
                    name: name.to_owned(),
                    action,
                    side_effect: match c.side_effect {
                        SideEffect::NotActed => "not_acted",
                        SideEffect::MayHaveActed => "may_have_acted",
                    },
                    max_attempts: if matches!(c.action, Action::Throttle | Action::WaitSlot) {
                        // A wait, not an attempt: not counted (see `ExplainRow::max_attempts`).
                        0
                    } else if c.action.tries_again() || by_twilio {
                        c.max_attempts.unwrap_or(limits.max_attempts)
                    } else {
                        1
                    },
                    backoff,
                }
            })
            .collect()
    }

    fn backoff_label(&self, action: &Action) -> String {
        let s = match action {
            Action::Retry => &self.config().backoff.retry,
            Action::Throttle | Action::WaitSlot => &self.config().backoff.throttle,
            _ => return "-".to_owned(),
        };
        format!(
            "{:?} base {} x{} cap {}",
            s.jitter,
            humantime::format_duration(s.base),
            s.multiplier,
            humantime::format_duration(s.cap)
        )
        .to_lowercase()
    }
}
