//! The retry loop: per attempt, halt-scope check, circuit check, pacing, send with the
//! per-attempt timeout, parse, `Policy::decide`, then act on the decision. The total deadline,
//! the attempt limits and the retry budget bound it.

// A `Failure` (an `ApiError` with its optional fields) is large, but it is the cold path and is
// handed to the policy at once; boxing it would cost an allocation on every failed attempt.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use redial_limiter::CallSlot;
use redial_policy::{Attempt, Decision, ErrorType, Failure, GiveUpReason, RetryBudget, Unlimited};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, sleep, timeout_at};
use tracing::{Instrument, field};

use crate::attempt::{self, Answer};
use crate::client::Client;
use crate::clock;
use crate::error::{Error, FailureDetail};
use crate::metrics as m;
use crate::request::Request;
use crate::support::SupportReport;

/// Provider errors of one operation from which a support report is assembled.
const PROVIDER_REPEATS_FOR_REPORT: u32 = 2;

/// How the loop treats the call slot of a create-call request.
pub(crate) enum Slot<'s> {
    /// Not a create-call request.
    None,
    /// The slot held for this create; on `wait_slot` it is given back and waited for again.
    Held(&'s mut Option<CallSlot>),
}

impl Client {
    /// Runs a logical request to its end and decodes the answer.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        slot: Slot<'_>,
    ) -> Result<T, Error> {
        self.execute_counted(req, slot)
            .await
            .map(|(value, _)| value)
    }

    /// [`Client::execute`], also returning the attempts it took.
    pub(crate) async fn execute_counted<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        slot: Slot<'_>,
    ) -> Result<(T, u32), Error> {
        let span = tracing::info_span!(
            "request",
            method = %req.method,
            route = req.route,
            idempotency_key = req.idempotency_key.as_deref().unwrap_or(""),
            outcome = field::Empty,
            attempts = field::Empty,
        );
        let started = clock::now();
        let result = self.run(req, slot, started).instrument(span.clone()).await;
        let elapsed = clock::now().saturating_duration_since(started);
        let outcome = match &result {
            Ok(_) => "success",
            Err(e) => e.outcome(),
        };
        span.record("outcome", outcome);
        span.record(
            "attempts",
            result.as_ref().map_or_else(Error::attempts, |(_, n)| *n),
        );
        m::request_done(req.group, req.route, outcome, elapsed);
        result
    }

    async fn run<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        mut slot: Slot<'_>,
        started: Instant,
    ) -> Result<(T, u32), Error> {
        let inner = &self.inner;
        let policy = inner.policy.load_full();
        let info = req.info();
        let limits = policy.limits(&info);
        let deadline = started + limits.deadline;
        let budget: &dyn RetryBudget = if policy.config().budget.enabled {
            inner.limiter.budget().as_ref()
        } else {
            &Unlimited
        };
        inner.limiter.budget().deposit();

        let mut detail = FailureDetail::new(req.route);
        let mut previous_delay = Duration::ZERO;
        let mut provider_errors = 0u32;
        let finish = |detail: &mut FailureDetail| {
            detail.elapsed = clock::now().saturating_duration_since(started);
        };

        loop {
            if let Some(scope) = inner.halts.check(&info) {
                finish(&mut detail);
                return Err(Error::Halted {
                    scope,
                    detail: Box::new(detail),
                    operation: req.route,
                });
            }
            if let Err(open) = inner.limiter.breakers().try_acquire(req.group) {
                finish(&mut detail);
                return Err(Error::CircuitOpen {
                    group: open.group,
                    retry_in: open.retry_in,
                    detail: Box::new(detail),
                    operation: req.route,
                });
            }
            if let Slot::Held(held) = &mut slot
                && held.is_none()
            {
                match timeout_at(deadline, inner.limiter.slots().acquire()).await {
                    Ok(s) => **held = Some(s),
                    Err(_) => return Err(deadline_passed(detail, started, req)),
                }
            }
            if timeout_at(
                deadline,
                inner.limiter.pacer().acquire(req.method, &req.path),
            )
            .await
            .is_err()
            {
                return Err(deadline_passed(detail, started, req));
            }
            let now = clock::now();
            if now >= deadline {
                return Err(deadline_passed(detail, started, req));
            }
            let attempt_timeout = limits.attempt_timeout.min(deadline - now);
            detail.attempts += 1;
            let n = detail.attempts;
            let attempt_span = tracing::debug_span!(
                "attempt",
                n,
                status = field::Empty,
                code = field::Empty,
                decision = field::Empty,
                delay_ms = field::Empty,
            );
            let outcome = attempt::send(inner, req, attempt_timeout)
                .instrument(attempt_span.clone())
                .await;
            let failure = match outcome.and_then(|answer| decode::<T>(&answer)) {
                Ok(value) => {
                    attempt_span.record("status", "ok");
                    attempt_span.record("decision", "success");
                    inner.limiter.pacer().on_success(req.method, &req.path);
                    inner.limiter.breakers().on_success(req.group);
                    m::successful_attempt(req.group);
                    return Ok((value, n));
                }
                Err(f) => f,
            };

            let attempt = Attempt {
                number: n,
                elapsed: clock::now().saturating_duration_since(started),
                previous_delay,
                jitter: inner.jitter(),
            };
            let eval = policy.evaluate(&failure, &info, &attempt, budget);
            let decision = eval.decision;
            record_attempt(&attempt_span, &failure, &decision);
            m::failed_attempt(req.group, &failure, &eval.classification, &decision);
            if eval.classification.action == redial_policy::Action::Retry {
                inner.limiter.breakers().on_failure(req.group);
            } else {
                inner.limiter.breakers().on_success(req.group);
            }
            if let Some(e) = failure.api()
                && e.error_type == Some(ErrorType::Provider)
            {
                provider_errors += 1;
            }
            detail.last = Some(failure);

            match decision {
                Decision::Retry { after } => {
                    wait(after, deadline)
                        .await
                        .map_err(|()| deadline_passed_ref(&mut detail, started, req))?;
                    previous_delay = after;
                }
                Decision::Throttle { after, retry_after } => {
                    inner
                        .limiter
                        .pacer()
                        .on_throttle(req.method, &req.path, retry_after);
                    wait(after, deadline)
                        .await
                        .map_err(|()| deadline_passed_ref(&mut detail, started, req))?;
                    previous_delay = after;
                }
                Decision::WaitSlot { after } => {
                    if let Slot::Held(held) = &mut slot {
                        // Give our slot back first: the limit shrinks to the calls still live.
                        held.take();
                    }
                    inner.limiter.slots().on_limit_hit();
                    wait(after, deadline)
                        .await
                        .map_err(|()| deadline_passed_ref(&mut detail, started, req))?;
                    previous_delay = after;
                }
                Decision::Fatal { opted_out } => {
                    finish(&mut detail);
                    attach_support(&mut detail, req, provider_errors);
                    return Err(Error::Fatal {
                        opted_out,
                        detail: Box::new(detail),
                        operation: req.route,
                    });
                }
                Decision::Halt { scope } => {
                    if inner.halts.halt(scope.clone()) {
                        tracing::warn!(scope = %scope, "halting scope: later requests in it fail fast");
                    }
                    finish(&mut detail);
                    return Err(Error::Halted {
                        scope,
                        detail: Box::new(detail),
                        operation: req.route,
                    });
                }
                Decision::Ambiguous => {
                    finish(&mut detail);
                    attach_support(&mut detail, req, provider_errors);
                    return Err(Error::Ambiguous {
                        detail: Box::new(detail),
                        operation: req.route,
                    });
                }
                Decision::GiveUp { reason } => {
                    finish(&mut detail);
                    attach_support(&mut detail, req, provider_errors);
                    let budget_refused = reason == GiveUpReason::BudgetExhausted;
                    let deadline_hit = reason == GiveUpReason::DeadlineExceeded;
                    detail.give_up = Some(reason);
                    let detail = Box::new(detail);
                    return Err(if budget_refused {
                        Error::BudgetExhausted {
                            detail,
                            operation: req.route,
                        }
                    } else if deadline_hit {
                        Error::Timeout {
                            detail,
                            operation: req.route,
                        }
                    } else {
                        Error::Exhausted {
                            detail,
                            operation: req.route,
                        }
                    });
                }
                other => {
                    // A decision this version does not know: stop safely rather than guess.
                    tracing::error!(decision = other.as_str(), "unknown decision; giving up");
                    finish(&mut detail);
                    return Err(Error::Exhausted {
                        detail: Box::new(detail),
                        operation: req.route,
                    });
                }
            }
        }
    }
}

fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, Failure> {
    let body: &[u8] = if answer.body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &answer.body
    };
    serde_json::from_slice(body).map_err(|e| {
        Failure::Transport(redial_policy::TransportError::new(
            redial_policy::TransportKind::Decode,
            true,
            format!("HTTP {} body is not the expected JSON: {e}", answer.status),
        ))
    })
}

/// Sleeps `after`, unless that would pass the deadline.
async fn wait(after: Duration, deadline: Instant) -> Result<(), ()> {
    if clock::now() + after >= deadline {
        return Err(());
    }
    sleep(after).await;
    Ok(())
}

fn deadline_passed(mut detail: FailureDetail, started: Instant, req: &Request<'_>) -> Error {
    detail.elapsed = clock::now().saturating_duration_since(started);
    detail.give_up = Some(GiveUpReason::DeadlineExceeded);
    Error::Timeout {
        detail: Box::new(detail),
        operation: req.route,
    }
}

fn deadline_passed_ref(detail: &mut FailureDetail, started: Instant, req: &Request<'_>) -> Error {
    deadline_passed(
        std::mem::replace(detail, FailureDetail::new(req.route)),
        started,
        req,
    )
}

fn record_attempt(span: &tracing::Span, failure: &Failure, decision: &Decision) {
    match failure {
        Failure::Api(e) => {
            span.record("status", e.status);
            span.record("code", e.code.as_ref().map_or("none", |c| c.as_str()));
        }
        Failure::Transport(t) => {
            span.record("status", t.kind.as_str());
        }
    }
    span.record("decision", decision.as_str());
    if let Some(d) = decision.retry_delay() {
        span.record("delay_ms", d.as_millis() as u64);
    }
    tracing::debug!(parent: span, decision = decision.as_str(), "attempt failed: {failure}");
}

/// Attaches a support report when Nixflex asks for one: on a server error, or on a provider
/// error that repeated for this operation.
fn attach_support(detail: &mut FailureDetail, req: &Request<'_>, provider_errors: u32) {
    let Some(Failure::Api(e)) = &detail.last else {
        return;
    };
    let server =
        e.error_type == Some(ErrorType::Server) || (e.status == 500 && e.error_type.is_none());
    let provider = provider_errors >= PROVIDER_REPEATS_FOR_REPORT;
    if !(server || provider) {
        return;
    }
    let repeats = if provider { provider_errors } else { 1 };
    let mut report = SupportReport::new(
        e,
        &format!(
            "{} {}",
            req.method,
            req.route.split_once(' ').map_or(req.route, |(_, p)| p)
        ),
        detail.attempts,
        repeats,
        clock::wall_rfc3339(),
    );
    report.call_id = req.call_id.map(str::to_owned);
    m::support_report(e.error_type.as_ref());
    detail.support = Some(report);
}
