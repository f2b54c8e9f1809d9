//! The default rule of every documented type and code (docs/errors.md gives the reasons).

use crate::config::{ActionName, ScopeName};
use crate::error::{ErrorCode, ErrorType};

/// A compiled rule: action, halt scope and attempt ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) action: ActionName,
    pub(crate) scope: ScopeName,
    pub(crate) max_attempts: Option<u32>,
}

/// Attempts allowed when the latest failure is a provider error (upstream failures repeat).
pub(crate) const PROVIDER_ERROR_MAX_ATTEMPTS: u32 = 3;

const fn rule(action: ActionName, scope: ScopeName, max_attempts: Option<u32>) -> Rule {
    Rule {
        action,
        scope,
        max_attempts,
    }
}
const fn fatal() -> Rule {
    rule(ActionName::Fatal, ScopeName::Account, None)
}
const fn halt(scope: ScopeName) -> Rule {
    rule(ActionName::Halt, scope, None)
}

// Throttles and slot waits have no attempt ceiling: they are waits, not attempts (bounded by
// `pacing.max_pause` and `slots.max_wait` in the transport).

/// The default rule of a documented code.
pub(crate) fn code_rule(code: &ErrorCode) -> Option<Rule> {
    use ErrorCode as C;
    use ScopeName::*;
    Some(match code {
        C::InvalidApiKey | C::KeySecretRequired => halt(Account),
        C::AgentNotFound | C::AgentNotOwned | C::AgentNoPhone => halt(Agent),
        C::FromNumberNotOwned | C::TwilioInvalidCredentials | C::TwilioAuthFailed => halt(Sender),
        C::PromptTooLong
        | C::InvalidVoiceId
        | C::InvalidPhoneFormat
        | C::InvalidTwilioSid
        | C::NumberNotInTwilio
        | C::NumberAlreadyImported
        | C::CallNotFound
        | C::SmsNotSupportedInRegion
        | C::MessageTooLong
        | C::RecipientUnsubscribed => fatal(),
        // outbound_failed is refined by the Twilio table; this is its attempt ceiling.
        C::OutboundFailed => rule(
            ActionName::Retry,
            Account,
            Some(PROVIDER_ERROR_MAX_ATTEMPTS),
        ),
        C::RateLimitExceeded => rule(ActionName::Throttle, Account, None),
        C::ConcurrentCallLimit => rule(ActionName::WaitSlot, Account, None),
        C::Unknown(_) => return None,
    })
}

/// The default rule of a documented type.
pub(crate) fn type_rule(t: &ErrorType) -> Option<Rule> {
    use ErrorType as T;
    Some(match t {
        T::Authentication => halt(ScopeName::Account),
        T::Permission | T::InvalidRequest | T::NotFound | T::Conflict => fatal(),
        T::RateLimit => rule(ActionName::Throttle, ScopeName::Account, None),
        T::Provider => rule(
            ActionName::Retry,
            ScopeName::Account,
            Some(PROVIDER_ERROR_MAX_ATTEMPTS),
        ),
        T::Server => rule(ActionName::Retry, ScopeName::Account, None),
        T::Unknown(_) => return None,
    })
}

/// The rule of a bare HTTP status (no usable type or code).
pub(crate) fn status_rule(status: u16) -> Rule {
    match status {
        401 => halt(ScopeName::Account),
        408 => rule(ActionName::Retry, ScopeName::Account, None),
        429 => rule(ActionName::Throttle, ScopeName::Account, None),
        502 => rule(
            ActionName::Retry,
            ScopeName::Account,
            Some(PROVIDER_ERROR_MAX_ATTEMPTS),
        ),
        500..=599 => rule(ActionName::Retry, ScopeName::Account, None),
        _ => fatal(),
    }
}
