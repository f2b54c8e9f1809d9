//! [`Policy`]: classify a failure, then decide the next step from the verdict, the attempts
//! made, the deadline, the retry budget and the backoff schedules.

use std::time::Duration;

use crate::action::{Action, Classification, Decision, GiveUpReason, SideEffect};
use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::classify::Classifier;
use crate::config::{Config, ConfigError, Idempotency, RouteConfig};
use crate::error::{Failure, TransportKind};
use crate::request::{Attempt, RequestInfo, RequestLimits};
use crate::route::RoutePattern;

/// The retry policy of the runtime, compiled from a [`Config`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use redial_policy::{ApiError, Attempt, Decision, ErrorCode, Failure, Method, Policy, RequestInfo, Unlimited};
///
/// let policy = Policy::default();
/// let failure = Failure::Api(ApiError::from_status(400).with_code(ErrorCode::InvalidPhoneFormat));
/// let request = RequestInfo::new(Method::Post, "/v1/calls");
/// let attempt = Attempt::first(0.5);
/// assert_eq!(policy.decide(&failure, &request, &attempt, &Unlimited), Decision::Fatal { opted_out: false });
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    classifier: Classifier,
    retry_backoff: Backoff,
    throttle_backoff: Backoff,
    routes: Vec<(RoutePattern, RouteConfig)>,
    limits: RequestLimits,
    max_retry_after: Duration,
    idempotency: Idempotency,
    retry_cost: f64,
    timeout_cost: f64,
    config: Config,
}

impl Default for Policy {
    fn default() -> Self {
        Self::compile(Config::default())
    }
}

/// A classification together with the decision taken on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The verdict on the failure.
    pub classification: Classification,
    /// What to do next.
    pub decision: Decision,
}

impl Policy {
    /// Compiles a validated policy from a config.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when the config breaks a range or rule.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::compile(config))
    }

    fn compile(config: Config) -> Self {
        let mut routes: Vec<(RoutePattern, RouteConfig)> = config
            .routes
            .iter()
            .filter_map(|(p, r)| RoutePattern::parse(p).ok().map(|p| (p, r.clone())))
            .collect();
        // The most specific matching pattern wins, whatever the order of the file (a TOML
        // table has none).
        routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.specificity()));
        Self {
            classifier: Classifier::new(&config),
            retry_backoff: Backoff::from_config(&config.backoff.retry),
            throttle_backoff: Backoff::from_config(&config.backoff.throttle),
            routes,
            limits: RequestLimits {
                max_attempts: config.retry.max_attempts,
                deadline: config.retry.deadline,
                attempt_timeout: config.retry.attempt_timeout,
            },
            max_retry_after: config.retry.max_retry_after,
            idempotency: config.retry.idempotency,
            retry_cost: config.budget.retry_cost,
            timeout_cost: config.budget.timeout_cost,
            config,
        }
    }

    /// The config this policy was compiled from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the server is configured to honour `Idempotency-Key`.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }

    /// The attempt, deadline and timeout limits of a request after `[routes]` overrides (the
    /// most specific matching pattern wins).
    pub fn limits(&self, request: &RequestInfo<'_>) -> RequestLimits {
        let mut limits = self.limits;
        if let Some((_, r)) = self
            .routes
            .iter()
            .find(|(p, _)| p.matches(request.method, request.path))
        {
            limits.max_attempts = r.max_attempts.unwrap_or(limits.max_attempts);
            limits.deadline = r.deadline.unwrap_or(limits.deadline);
            limits.attempt_timeout = r.attempt_timeout.unwrap_or(limits.attempt_timeout);
        }
        limits
    }

    /// The verdict on a failure (code, then type, then status, then transport kind).
    pub fn classify(&self, failure: &Failure, request: &RequestInfo<'_>) -> Classification {
        self.classifier.classify(failure, request)
    }

    /// What to do after a failed attempt.
    pub fn decide(
        &self,
        failure: &Failure,
        request: &RequestInfo<'_>,
        attempt: &Attempt,
        budget: &dyn RetryBudget,
    ) -> Decision {
        let classification = self.classify(failure, request);
        self.decide_classified(&classification, failure, request, attempt, budget)
    }

    /// [`Policy::classify`] and [`Policy::decide`] in one step, keeping both.
    pub fn evaluate(
        &self,
        failure: &Failure,
        request: &RequestInfo<'_>,
        attempt: &Attempt,
        budget: &dyn RetryBudget,
    ) -> Evaluation {
        let classification = self.classify(failure, request);
        let decision = self.decide_classified(&classification, failure, request, attempt, budget);
        Evaluation {
            classification,
            decision,
        }
    }

    fn decide_classified(
        &self,
        c: &Classification,
        failure: &Failure,
        request: &RequestInfo<'_>,
        attempt: &Attempt,
        budget: &dyn RetryBudget,
    ) -> Decision {
        match &c.action {
            Action::Fatal => {
                return Decision::Fatal {
                    opted_out: c.opted_out,
                };
            }
            Action::Halt(scope) => {
                return Decision::Halt {
                    scope: scope.clone(),
                };
            }
            Action::Retry | Action::Throttle | Action::WaitSlot => {}
        }
        if c.side_effect == SideEffect::MayHaveActed && !self.may_repeat(request) {
            return Decision::Ambiguous;
        }
        let retry_after = failure.api().and_then(|e| e.retry_after);
        if c.action != Action::Retry {
            return self.wait(&c.action, retry_after, attempt);
        }
        let limits = self.limits(request);
        let max_attempts = c.max_attempts.unwrap_or(limits.max_attempts);
        let charged = attempt.charged();
        if charged >= max_attempts {
            return Decision::GiveUp {
                reason: GiveUpReason::AttemptsExhausted {
                    attempts: attempt.number,
                },
            };
        }
        if let Some(ra) = retry_after
            && ra > self.max_retry_after
        {
            return Decision::GiveUp {
                reason: GiveUpReason::RetryAfterTooLong {
                    retry_after: ra,
                    max: self.max_retry_after,
                },
            };
        }
        let backoff = self
            .retry_backoff
            .delay(charged, attempt.previous_delay, attempt.jitter);
        let after = retry_after.map_or(backoff, |ra| backoff.max(ra));
        if attempt.elapsed.saturating_add(after) >= limits.deadline {
            return Decision::GiveUp {
                reason: GiveUpReason::DeadlineExceeded,
            };
        }
        let cost = match failure {
            Failure::Transport(t) if t.kind == TransportKind::Timeout => self.timeout_cost,
            _ => self.retry_cost,
        };
        if !budget.try_withdraw(cost) {
            return Decision::GiveUp {
                reason: GiveUpReason::BudgetExhausted,
            };
        }
        Decision::Retry { after }
    }

    /// A throttle or a slot wait: a wait, not a failure. It is not charged to `max_attempts`,
    /// the deadline or the retry budget (429s prove nothing happened and the pacer already
    /// slows the account down), and a Retry-After is honoured whatever its length: the
    /// transport pauses the account (or, for `concurrent_call_limit`, the creates) for all of
    /// it and bounds how long one request waits with `pacing.max_pause` / `slots.max_wait`.
    fn wait(&self, action: &Action, retry_after: Option<Duration>, attempt: &Attempt) -> Decision {
        // Consecutive waits grow the backoff: the first wait uses the base delay.
        let n = attempt.waits.saturating_add(1);
        let backoff = self
            .throttle_backoff
            .delay(n, attempt.previous_delay, attempt.jitter);
        match action {
            // The account is paused until Retry-After; waiting longer than asked adds nothing.
            Action::Throttle => Decision::Throttle {
                after: retry_after.unwrap_or(backoff),
                retry_after,
            },
            _ => Decision::WaitSlot {
                after: retry_after.map_or(backoff, |ra| backoff.max(ra)),
            },
        }
    }

    /// Whether repeating the request cannot act twice: an idempotent method, or a key the
    /// server is configured to honour.
    pub fn may_repeat(&self, request: &RequestInfo<'_>) -> bool {
        request.method.is_idempotent()
            || (request.idempotency_key && self.idempotency == Idempotency::Honoured)
    }
}
