//! Classification: the verdict on a failure, looked up by code, then type, then HTTP status,
//! then transport kind. Deciding what to do with the verdict is `strategy`'s job.

pub(crate) mod defaults;

use std::collections::HashMap;

use crate::action::{Action, Classification, HaltScope, MatchedBy, SideEffect};
use crate::config::{
    ActionName, Config, Idempotency, RuleConfig, ScopeName, TWILIO_OPTED_OUT_CODES, TwilioConfig,
};
use crate::error::{ApiError, ErrorCode, ErrorType, Failure, TransportError, TransportKind};
use crate::request::RequestInfo;
use defaults::{Rule, code_rule, status_rule, type_rule};

/// The compiled lookup tables. Known codes and types index arrays; unknown names a map, so a
/// lookup allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct Classifier {
    codes: Vec<Option<Rule>>,
    types: Vec<Option<Rule>>,
    extra_codes: HashMap<String, Rule>,
    extra_types: HashMap<String, Rule>,
    outbound_failed_overridden: bool,
    twilio: TwilioConfig,
    idempotency: Idempotency,
}

/// The code a server that honours `Idempotency-Key` answers (409) while the first request
/// with the key is still being handled. Not in the contract's table; common practice (Stripe).
pub(crate) const IDEMPOTENCY_KEY_IN_USE: &str = "idempotency_key_in_use";

fn apply(base: Option<Rule>, cfg: &RuleConfig) -> Rule {
    let base = base.unwrap_or(Rule {
        action: ActionName::Fatal,
        scope: ScopeName::Account,
        max_attempts: None,
    });
    Rule {
        action: cfg.action.unwrap_or(base.action),
        scope: cfg.scope.unwrap_or(base.scope),
        max_attempts: cfg.max_attempts.or(base.max_attempts),
    }
}

impl Classifier {
    pub(crate) fn new(config: &Config) -> Self {
        let mut codes: Vec<Option<Rule>> = ErrorCode::DOCUMENTED.iter().map(code_rule).collect();
        let mut types: Vec<Option<Rule>> = ErrorType::DOCUMENTED.iter().map(type_rule).collect();
        let mut extra_codes = HashMap::new();
        let mut extra_types = HashMap::new();
        for (name, cfg) in &config.codes {
            let code = ErrorCode::from_name(name);
            match code.index() {
                Some(i) => codes[i] = Some(apply(codes[i], cfg)),
                None => {
                    extra_codes.insert(name.clone(), apply(None, cfg));
                }
            }
        }
        for (name, cfg) in &config.types {
            match ErrorType::from_name(name).index() {
                Some(i) => types[i] = Some(apply(types[i], cfg)),
                None => {
                    extra_types.insert(name.clone(), apply(None, cfg));
                }
            }
        }
        let outbound_failed_overridden = config
            .codes
            .get(ErrorCode::OutboundFailed.as_str())
            .is_some_and(|c| c.action.is_some());
        Self {
            codes,
            types,
            extra_codes,
            extra_types,
            outbound_failed_overridden,
            twilio: config.twilio.clone(),
            idempotency: config.retry.idempotency,
        }
    }

    fn code(&self, code: &ErrorCode) -> Option<Rule> {
        match code.index() {
            Some(i) => self.codes[i],
            None => self.extra_codes.get(code.as_str()).copied(),
        }
    }

    fn error_type(&self, t: &ErrorType) -> Option<Rule> {
        match t.index() {
            Some(i) => self.types[i],
            None => self.extra_types.get(t.as_str()).copied(),
        }
    }

    pub(crate) fn classify(&self, failure: &Failure, request: &RequestInfo<'_>) -> Classification {
        match failure {
            Failure::Api(e) => self.classify_api(e, request),
            Failure::Transport(e) => classify_transport(e),
        }
    }

    /// A 409 that says the request's idempotency key is still in use: the first request with
    /// the key is being handled (it may be placing the call). The answer is to wait and send
    /// the same key again, never to give up: `idempotency_key_in_use` on any keyed request,
    /// or — when keys are honoured — a 409 that names no documented code on a keyed POST.
    fn key_in_use(&self, e: &ApiError, request: &RequestInfo<'_>) -> bool {
        if !request.idempotency_key || e.status != 409 {
            return false;
        }
        match &e.code {
            Some(c) if c.as_str() == IDEMPOTENCY_KEY_IN_USE => true,
            Some(c) if !c.is_unknown() => false,
            _ => {
                self.idempotency == Idempotency::Honoured
                    && request.method == crate::route::Method::Post
            }
        }
    }

    fn classify_api(&self, e: &ApiError, request: &RequestInfo<'_>) -> Classification {
        if self.key_in_use(e, request) {
            return Classification {
                action: Action::Retry,
                // The first request with this key may be acting right now.
                side_effect: SideEffect::MayHaveActed,
                matched_by: if e.code.is_some() {
                    MatchedBy::Code
                } else {
                    MatchedBy::Status
                },
                unknown_code: false,
                unknown_type: false,
                opted_out: false,
                max_attempts: None,
            };
        }
        let unknown_code = e.code.as_ref().is_some_and(ErrorCode::is_unknown);
        let unknown_type = e.error_type.as_ref().is_some_and(ErrorType::is_unknown);
        // Compliance first, before any configurable rule: the recipient sent STOP.
        let mut opted_out = e.code == Some(ErrorCode::RecipientUnsubscribed)
            || (e.code == Some(ErrorCode::OutboundFailed)
                && e.twilio_error()
                    .is_some_and(|t| TWILIO_OPTED_OUT_CODES.contains(&t)));
        let (rule, matched_by) =
            if e.code == Some(ErrorCode::OutboundFailed) && !self.outbound_failed_overridden {
                let ceiling = self
                    .code(&ErrorCode::OutboundFailed)
                    .and_then(|r| r.max_attempts);
                let (action, matched, is_opt_out) = self.twilio_action(e.twilio_error());
                opted_out |= is_opt_out;
                (
                    Rule {
                        action,
                        scope: ScopeName::Sender,
                        max_attempts: ceiling,
                    },
                    matched,
                )
            } else if let Some(rule) = e.code.as_ref().and_then(|c| self.code(c)) {
                (rule, MatchedBy::Code)
            } else if let Some(rule) = e.error_type.as_ref().and_then(|t| self.error_type(t)) {
                (rule, MatchedBy::Type)
            } else if let Some(rule) =
                ErrorType::from_status(e.status).and_then(|t| self.error_type(&t))
            {
                (rule, MatchedBy::Status)
            } else {
                (status_rule(e.status), MatchedBy::Status)
            };
        // Compliance: an opt-out is final whatever a rule says (config validation rejects
        // such rules; this is the second line of defence).
        let action = if opted_out {
            Action::Fatal
        } else {
            resolve(rule, request)
        };
        let side_effect =
            if (400..500).contains(&e.status) || e.code == Some(ErrorCode::OutboundFailed) {
                SideEffect::NotActed
            } else if e.status >= 500 {
                SideEffect::MayHaveActed
            } else {
                SideEffect::NotActed
            };
        Classification {
            action,
            side_effect,
            matched_by,
            unknown_code,
            unknown_type,
            opted_out,
            max_attempts: rule.max_attempts,
        }
    }

    fn twilio_action(&self, twilio: Option<u32>) -> (ActionName, MatchedBy, bool) {
        let t = &self.twilio;
        let Some(code) = twilio else {
            return (t.default, MatchedBy::Code, false);
        };
        if t.opted_out.contains(&code) {
            (ActionName::Fatal, MatchedBy::TwilioCode, true)
        } else if t.fatal.contains(&code) {
            (ActionName::Fatal, MatchedBy::TwilioCode, false)
        } else if t.throttle.contains(&code) {
            (ActionName::Throttle, MatchedBy::TwilioCode, false)
        } else if t.retry.contains(&code) {
            (ActionName::Retry, MatchedBy::TwilioCode, false)
        } else if t.halt_sender.contains(&code) {
            (ActionName::Halt, MatchedBy::TwilioCode, false)
        } else {
            (t.default, MatchedBy::Code, false)
        }
    }
}

/// Turns a rule into an action, filling a halt scope from the request. A scope the request
/// does not name (an agent halt for a request without an agent) degrades to `fatal`: halting
/// something broader than the failure proves would stop healthy work.
fn resolve(rule: Rule, request: &RequestInfo<'_>) -> Action {
    match rule.action {
        ActionName::Retry => Action::Retry,
        ActionName::Throttle => Action::Throttle,
        ActionName::WaitSlot => Action::WaitSlot,
        ActionName::Fatal => Action::Fatal,
        ActionName::Halt => match rule.scope {
            ScopeName::Account => Action::Halt(HaltScope::Account),
            ScopeName::Agent => request.agent_id.map_or(Action::Fatal, |id| {
                Action::Halt(HaltScope::Agent(id.to_owned()))
            }),
            ScopeName::Sender => request.sender.map_or(Action::Fatal, |id| {
                Action::Halt(HaltScope::Sender(id.to_owned()))
            }),
        },
    }
}

fn classify_transport(e: &TransportError) -> Classification {
    let side_effect = match e.kind {
        TransportKind::Connect | TransportKind::Tls => SideEffect::NotActed,
        TransportKind::Decode => SideEffect::MayHaveActed,
        TransportKind::Timeout | TransportKind::Reset | TransportKind::Other => {
            if e.request_sent {
                SideEffect::MayHaveActed
            } else {
                SideEffect::NotActed
            }
        }
    };
    Classification {
        action: Action::Retry,
        side_effect,
        matched_by: MatchedBy::Transport,
        unknown_code: false,
        unknown_type: false,
        opted_out: false,
        max_attempts: None,
    }
}
