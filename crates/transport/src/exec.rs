//! The retry loop: per attempt, wait for a call slot (creates) and for pacing (and through it
//! for an account pause), then — right before sending — check the halted scopes, the circuit
//! and the time left; send with the per-attempt timeout, parse, `Policy::evaluate`, and act on
//! the decision. The deadline (from the first send), the attempt limits and the retry budget
//! bound the attempts; waiting is not a failure: queueing for a slot or the pacer, a pause
//! and a throttle are not charged to them (`pacing.max_pause` and `slots.max_wait` bound those
//! waits, ending the request unsent and re-dialable).
//!
//! Two rules keep a person from being dialled twice: a request that is not safe to repeat is
//! never sent with less than a full attempt's time left (a timeout mid-send would make it
//! ambiguous for nothing), and once any attempt of it may have acted, every end but success is
//! reported [`Error::Ambiguous`].

// A `Failure` (an `ApiError` with its optional fields) is large, but it is the cold path and is
// handed to the policy at once; it is boxed only to be kept as the request's last failure.
#![allow(clippy::result_large_err)]

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use redial_limiter::{CallSlot, CircuitOpen, Permit};
use redial_policy::{
    Action, ApiError, Attempt, Decision, ErrorCode, Failure, GiveUpReason, Policy, RequestInfo,
    RetryBudget, SideEffect, Unlimited,
};
use serde::de::DeserializeOwned;
use tokio::time::error::Elapsed;
use tokio::time::{Instant, sleep, timeout_at};
use tracing::{Instrument, field};

use crate::attempt::{self, Answer};
use crate::client::Client;
use crate::clock;
use crate::error::{Error, FailureDetail};
use crate::metrics as m;
use crate::request::Request;
use crate::support::{self, SupportReport};

impl Client {
    /// Runs a logical request to its end and decodes the answer.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        slot: Option<&mut Option<CallSlot>>,
    ) -> Result<T, Error> {
        self.execute_counted(req, slot)
            .await
            .map(|(value, _)| value)
    }

    /// [`Client::execute`], also returning the attempts it took. `slot` is the call slot of a
    /// create-call request: the loop takes one before sending, gives it back and waits again
    /// on `wait_slot`, and hands it to the caller with the answer — or inside
    /// [`Error::Ambiguous`], because the call may be live.
    pub(crate) async fn execute_counted<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        mut slot: Option<&mut Option<CallSlot>>,
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
        // The loop's state (under 1 KiB; a test holds it there) lives in one allocation per
        // logical request, so the futures the endpoints return stay small for callers that
        // hold many of them.
        let mut result = Box::pin(self.run(req, slot.as_deref_mut(), started))
            .instrument(span.clone())
            .await;
        // A create that may have placed its call keeps its slot in the error: the call may be
        // live, and freeing the slot now could overrun the account's live-call limit.
        if let (Err(e), Some(held)) = (&mut result, slot) {
            let may_have_acted = e.may_have_acted();
            match e {
                Error::Ambiguous { slot: kept, .. } => *kept = held.take(),
                Error::Fatal { slot: kept, .. } | Error::Halted { slot: kept, .. }
                    if may_have_acted =>
                {
                    *kept = held.take().map(Box::new);
                }
                _ => {}
            }
        }
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
        match &result {
            Ok(_) => self
                .inner
                .success_metrics
                .record(req.group, req.route, elapsed),
            Err(_) => m::request_failed(req.group, req.route, outcome, elapsed),
        }
        result
    }

    async fn run<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        mut slot: Option<&mut Option<CallSlot>>,
        started: Instant,
    ) -> Result<(T, u32), Error> {
        // The loop's state lives across every await for the whole request: it keeps only what
        // later attempts need (the request's `info` and limits are rebuilt from `req` where
        // used), so the boxed state stays small.
        let inner = &self.inner;
        let policy = inner.policy.load_full();
        inner.limiter.budget().deposit();
        let mut end = Ending::new(req, started);
        end.may_have_acted = req.in_doubt;

        loop {
            // Fail fast before queueing: a halted scope or an open circuit.
            self.look(req, &req.info()).map_err(|e| end.fail(e))?;
            if let Some(held) = slot.as_deref_mut()
                && held.is_none()
            {
                *held = Some(self.wait_for_slot(&policy, &mut end).await?);
            }
            self.wait_for_pacer(&policy, &mut end).await?;
            let limits = policy.limits(&req.info());
            let now = clock::now();
            // The deadline runs from the first send: queueing before it is not charged.
            let deadline = *end.deadline.get_or_insert(now + limits.deadline);
            let left = deadline.saturating_duration_since(now);
            // Least time left in which a request that is not safe to repeat is still sent.
            let send_window = limits.attempt_timeout.min(limits.deadline / 2);
            if left.is_zero() || (!policy.may_repeat(&req.info()) && left < send_window) {
                return Err(end.deadline());
            }
            // Computed before the hook's await, so `limits` does not live across it.
            let attempt_timeout = limits.attempt_timeout.min(left);
            // The waits may have been long: look again right before sending, and take the
            // breaker's permit only now, so a probe is not spent waiting in a queue.
            let permit = self.admit(req, &req.info()).map_err(|e| end.fail(e))?;
            if let Some(hook) = req.before_send
                && let Err(e) = hook().await
            {
                return Err(end.fail(Error::Aborted {
                    reason: e.to_string(),
                    detail: Box::default(),
                    operation: req.route,
                }));
            }
            end.attempts += 1;
            if end.first_sent.is_none() {
                end.first_sent = Some(clock::wall_now());
            }
            let n = end.attempts;
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
                    inner.limiter.breakers().record(req.group, permit, false);
                    return Ok((value, n));
                }
                Err(f) => f,
            };

            let next = self.after_failure(
                &policy,
                failure,
                permit,
                &attempt_span,
                &mut end,
                slot.as_deref_mut(),
            )?;
            match next {
                Next::Backoff(after) => {
                    if clock::now() + after >= end.deadline_at() {
                        return Err(end.deadline());
                    }
                    sleep(after).await;
                    end.previous_delay = after;
                }
                Next::Throttled { sleep: after, wait } => {
                    // A wait, not an attempt: bounded by `max_pause` in all (the account
                    // pause a Retry-After holds the request in included), not charged.
                    let max_pause = policy.config().max_pause();
                    if end.throttle_waited.saturating_add(wait) > max_pause {
                        let cause = end.last_api_error();
                        return Err(end.paused(wait, cause));
                    }
                    sleep(after).await;
                    end.throttle_waited += wait;
                    end.waited(after);
                    end.previous_delay = after;
                }
                Next::SlotWait(after) => {
                    // Waiting for a slot: bounded by `slots.max_wait` in all, not charged.
                    if let Some(max) = policy.config().slots.max_wait
                        && end.slot_waited.saturating_add(after) > max
                    {
                        return Err(end.slot_wait());
                    }
                    sleep(after).await;
                    end.slot_waited += after;
                    end.waited(after);
                    end.previous_delay = after;
                }
            }
        }
    }

    /// Waits for a call slot for a create: after a `concurrent_call_limit` Retry-After (which
    /// delays creates only), then for the slot itself, bounded by `slots.max_wait` in all.
    /// Neither wait is charged to the deadline.
    async fn wait_for_slot(
        &self,
        policy: &Policy,
        end: &mut Ending<'_, '_>,
    ) -> Result<CallSlot, Error> {
        let inner = &self.inner;
        if let Some((until, cause)) = inner.pauses.creates_until() {
            let remaining = until.saturating_duration_since(clock::now());
            if remaining > policy.config().max_pause() {
                return Err(end.paused(remaining, Some(cause)));
            }
            sleep(remaining).await;
            end.waited(remaining);
        }
        let started = clock::now();
        let got = match policy.config().slots.max_wait {
            None => Some(inner.limiter.slots().acquire().await),
            Some(max) => {
                let limit = started + max.saturating_sub(end.slot_waited);
                until(limit, inner.limiter.slots().acquire()).await.ok()
            }
        };
        let waited = clock::now().saturating_duration_since(started);
        end.slot_waited += waited;
        end.waited(waited);
        got.ok_or_else(|| end.slot_wait())
    }

    /// Waits for the pacer (and through it for an account pause). A pause whose remaining
    /// length is more than this request may wait (`pacing.max_pause`) ends the request unsent
    /// with [`Error::Paused`]: checked before queueing and whenever the pause changes while it
    /// waits. The wait is not charged to the deadline.
    async fn wait_for_pacer(&self, policy: &Policy, end: &mut Ending<'_, '_>) -> Result<(), Error> {
        let pacer = self.inner.limiter.pacer();
        let req = end.req;
        let max_pause = policy.config().max_pause();
        self.pause_too_long(end, max_pause)?;
        let started = clock::now();
        let mut acquire = pin!(pacer.acquire(req.method, &req.path));
        // The common case: the bucket has room and nothing is paused. No timer, no allocation.
        if poll_fn(|cx| Poll::Ready(acquire.as_mut().poll(cx)))
            .await
            .is_ready()
        {
            return Ok(());
        }
        loop {
            // Registered before the look, so a pause that starts in between is not missed.
            let changed = pacer.pause_changed();
            self.pause_too_long(end, max_pause)?;
            tokio::select! {
                biased;
                () = &mut acquire => break,
                () = changed => {}
            }
        }
        end.waited(clock::now().saturating_duration_since(started));
        Ok(())
    }

    /// [`Error::Paused`] when the account is paused for longer than `max_pause`.
    fn pause_too_long(&self, end: &mut Ending<'_, '_>, max_pause: Duration) -> Result<(), Error> {
        let Some(until) = self.inner.limiter.pacer().paused_until() else {
            return Ok(());
        };
        let remaining = until.saturating_duration_since(clock::now());
        if remaining > max_pause {
            return Err(end.paused(remaining, self.inner.pauses.account_cause()));
        }
        Ok(())
    }

    /// What a failed attempt leads to: the delay before the next attempt, or the error that
    /// ends the request. Out of line, cold and not generic over the answer's type, so the
    /// success path of the loop stays compact.
    #[cold]
    #[inline(never)]
    fn after_failure(
        &self,
        policy: &Policy,
        failure: Failure,
        permit: Permit,
        attempt_span: &tracing::Span,
        end: &mut Ending<'_, '_>,
        slot: Option<&mut Option<CallSlot>>,
    ) -> Result<Next, Error> {
        let inner = &self.inner;
        let req = end.req;
        let limits = policy.limits(&req.info());
        let attempt = Attempt {
            number: end.attempts,
            waits: end.waits,
            elapsed: limits
                .deadline
                .saturating_sub(end.deadline_at().saturating_duration_since(clock::now())),
            previous_delay: end.previous_delay,
            jitter: inner.jitter(),
        };
        let budget: &dyn RetryBudget = if policy.config().budget.enabled {
            inner.limiter.budget().as_ref()
        } else {
            &Unlimited
        };
        let eval = policy.evaluate(&failure, &req.info(), &attempt, budget);
        let decision = eval.decision;
        record_attempt(attempt_span, &failure, &decision);
        m::failed_attempt(req.group, &failure, &eval.classification, &decision);
        // Only failures of the server (5xx, provider errors, timeouts) speak of the
        // endpoint's health; a 4xx or a 429 is an answer from a healthy server.
        let client_error = failure
            .api()
            .is_some_and(|e| (400..500).contains(&e.status));
        let unhealthy = eval.classification.action == Action::Retry && !client_error;
        inner
            .limiter
            .breakers()
            .record(req.group, permit, unhealthy);
        if eval.classification.side_effect == SideEffect::MayHaveActed
            && !req.method.is_idempotent()
        {
            end.may_have_acted = true;
        }
        let api = failure.api();
        if let Some(e) = api
            && support::is_provider_error(e)
        {
            // Counted per operation across requests: a repeat is a support case even when
            // each request saw the error once.
            let s = &policy.config().support;
            let count = inner
                .provider_window
                .record(req.route, clock::now(), s.provider_window);
            end.provider_errors = end.provider_errors.max(count);
            end.provider_repeated |= count >= s.provider_repeats;
        }
        let retry_after = api.and_then(|e| e.retry_after);
        let is_slot_limit =
            api.and_then(|e| e.code.as_ref()) == Some(&ErrorCode::ConcurrentCallLimit);
        if let Some(held) = slot {
            if is_slot_limit {
                // Give our slot back first: the limit shrinks to the calls still live.
                held.take();
                inner.limiter.slots().on_limit_hit();
                if let (Some(ra), Some(e)) = (retry_after, api) {
                    inner.pauses.pause_creates(ra, e);
                }
            } else if eval.classification.side_effect == SideEffect::NotActed && !end.may_have_acted
            {
                // Nothing happened: no call holds this slot while the create backs off.
                held.take();
            }
        }
        if let Decision::Throttle { retry_after, .. } = &decision {
            inner
                .limiter
                .pacer()
                .on_throttle(req.method, &req.path, *retry_after);
            if let (Some(_), Some(e)) = (retry_after, api) {
                inner.pauses.set_account_cause(e);
            }
        } else {
            inner.limiter.pacer().on_answer(req.method, &req.path);
        }
        end.record(failure);

        match decision {
            Decision::Retry { after } => Ok(Next::Backoff(after)),
            Decision::Throttle { after, retry_after } => {
                end.waits += 1;
                // A Retry-After pauses the account: the pacer holds this request (and every
                // other) until then, so it need not sleep as well.
                let covered = retry_after.is_some_and(|ra| {
                    inner
                        .limiter
                        .pacer()
                        .paused_until()
                        .is_some_and(|u| u + Duration::from_millis(1) >= clock::now() + ra)
                });
                // Either way the request waits the Retry-After (or the backoff) out: that is
                // what counts against `max_pause`. (Counting only the sleep let a server that
                // throttles every request with a short Retry-After hold it forever.)
                Ok(match retry_after.filter(|_| covered) {
                    Some(ra) => Next::Throttled {
                        sleep: Duration::ZERO,
                        wait: ra,
                    },
                    None => Next::Throttled {
                        sleep: after,
                        wait: after,
                    },
                })
            }
            Decision::WaitSlot { after } => {
                end.waits += 1;
                // A Retry-After delays every create (the slot wait honours it).
                Ok(Next::SlotWait(if retry_after.is_some() {
                    Duration::ZERO
                } else {
                    after
                }))
            }
            // An opt-out is final and must reach the caller as one, even if an earlier
            // attempt may have acted (`detail.may_have_acted` says so).
            Decision::Fatal { opted_out: true } => Err(Error::Fatal {
                opted_out: true,
                detail: end.take_detail(),
                operation: req.route,
                slot: None,
            }),
            Decision::Fatal { opted_out } => Err(end.finish(|detail, operation| Error::Fatal {
                opted_out,
                detail,
                operation,
                slot: None,
            })),
            Decision::Halt { scope } => {
                // The cause (the answer's code) goes with the halt to a fleet's shared store.
                let cause = end
                    .last
                    .as_ref()
                    .and_then(|f| f.api())
                    .and_then(|e| e.code.as_ref())
                    .map_or("halted", |c| c.as_str());
                if inner.halts.halt(scope.clone(), cause) {
                    m::halted(&scope);
                    tracing::warn!(scope = %scope, "halting scope: later requests in it fail fast");
                }
                Err(end.fail(Error::Halted {
                    scope,
                    detail: Box::default(),
                    operation: req.route,
                    slot: None,
                }))
            }
            Decision::Ambiguous => Err(end.ambiguous()),
            Decision::GiveUp { reason } => {
                let kind = reason.clone();
                end.give_up = Some(Box::new(reason));
                Err(end.finish(|detail, operation| match kind {
                    GiveUpReason::BudgetExhausted => Error::BudgetExhausted { detail, operation },
                    GiveUpReason::DeadlineExceeded => Error::Timeout { detail, operation },
                    _ => Error::Exhausted { detail, operation },
                }))
            }
            other => {
                // A decision this version does not know: stop safely rather than guess.
                tracing::error!(decision = other.as_str(), "unknown decision; giving up");
                Err(end.finish(|detail, operation| Error::Exhausted { detail, operation }))
            }
        }
    }

    /// Refuses a request whose scope is halted or whose circuit is open, without taking a
    /// breaker permit: the fail-fast look before queueing.
    fn look(&self, req: &Request<'_>, info: &RequestInfo<'_>) -> Result<(), Error> {
        self.halted(req, info)?;
        self.inner
            .limiter
            .breakers()
            .check(req.group)
            .map_err(|open| circuit_open(req, open))
    }

    /// The same right before sending, taking the breaker's permit (a half-open probe).
    fn admit(&self, req: &Request<'_>, info: &RequestInfo<'_>) -> Result<Permit, Error> {
        self.halted(req, info)?;
        self.inner
            .limiter
            .breakers()
            .admit(req.group)
            .map_err(|open| circuit_open(req, open))
    }

    fn halted(&self, req: &Request<'_>, info: &RequestInfo<'_>) -> Result<(), Error> {
        match self.inner.halts.check(info) {
            Some(scope) => Err(Error::Halted {
                scope,
                detail: Box::default(),
                operation: req.route,
                slot: None,
            }),
            None => Ok(()),
        }
    }
}

/// Awaits `wait` until `deadline`. A wait that is over at the first poll (a free call slot, a
/// bucket with room: the common case) arms no timer.
async fn until<F: Future>(deadline: Instant, wait: F) -> Result<F::Output, Elapsed> {
    let mut wait = pin!(wait);
    if let Poll::Ready(out) = poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await {
        return Ok(out);
    }
    timeout_at(deadline, wait).await
}

fn circuit_open(req: &Request<'_>, open: CircuitOpen) -> Error {
    Error::CircuitOpen {
        group: open.group,
        retry_in: open.retry_in,
        detail: Box::default(),
        operation: req.route,
    }
}

/// What comes after a failed attempt that is tried again.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// A retry after this backoff: charged to the deadline.
    Backoff(Duration),
    /// A throttle: sleep `sleep` (zero when the account pause holds the request anyway), and
    /// charge `wait`, the whole wait the throttle asked for, to `pacing.max_pause`.
    Throttled {
        /// How long to sleep before the next attempt.
        sleep: Duration,
        /// How long the throttle makes the request wait, the account pause included.
        wait: Duration,
    },
    /// `concurrent_call_limit`: wait this long, then for a slot.
    SlotWait(Duration),
}

/// What the loop knows about how the request is going, to build its final error. Small on
/// purpose: it lives in the loop's state for the whole request, and the success path never
/// needs a [`FailureDetail`], which is built only when the request ends in an error.
struct Ending<'r, 'a> {
    req: &'r Request<'a>,
    started: Instant,
    /// The deadline: set at the first send, pushed back by every wait after it (slot,
    /// pacer, pause, throttle), so it bounds attempts and retry backoff only.
    deadline: Option<Instant>,
    /// When the first attempt was sent (wall clock).
    first_sent: Option<SystemTime>,
    /// Time waited for call slots (bounded by `slots.max_wait`).
    slot_waited: Duration,
    /// Time waited after throttles, account pauses from their Retry-After included (bounded
    /// by `pacing.max_pause`).
    throttle_waited: Duration,
    attempts: u32,
    /// Attempts answered by a throttle or a slot wait: not charged to `max_attempts`.
    waits: u32,
    /// An attempt of this (non-idempotent) request may have acted on the server.
    may_have_acted: bool,
    /// Why retries ended, boxed: only requests that give up pay for it.
    give_up: Option<Box<GiveUpReason>>,
    /// The backoff slept before the current attempt.
    previous_delay: Duration,
    /// The last failure, boxed: only failed attempts pay for it.
    last: Option<Box<Failure>>,
    /// Provider errors of this operation in the `[support]` window (across requests).
    provider_errors: u32,
    /// They reached `support.provider_repeats`: a support case.
    provider_repeated: bool,
}

impl<'r, 'a> Ending<'r, 'a> {
    fn new(req: &'r Request<'a>, started: Instant) -> Self {
        Self {
            req,
            started,
            deadline: None,
            first_sent: None,
            slot_waited: Duration::ZERO,
            throttle_waited: Duration::ZERO,
            attempts: 0,
            waits: 0,
            may_have_acted: false,
            give_up: None,
            previous_delay: Duration::ZERO,
            last: None,
            provider_errors: 0,
            provider_repeated: false,
        }
    }

    /// A wait that is not charged to the deadline: push it back by as much.
    fn waited(&mut self, d: Duration) {
        if let Some(deadline) = &mut self.deadline {
            *deadline += d;
        }
    }

    /// The deadline (the request's start, before anything was sent).
    fn deadline_at(&self) -> Instant {
        self.deadline.unwrap_or(self.started)
    }

    fn record(&mut self, failure: Failure) {
        self.last = Some(Box::new(failure));
    }

    /// The last failure's API error, if any.
    fn last_api_error(&self) -> Option<ApiError> {
        self.last.as_ref().and_then(|f| f.api()).cloned()
    }

    /// The detail of the error that ends the request (the last failure moves into it). Call
    /// it once, as the request ends: it takes the last failure.
    fn take_detail(&mut self) -> Box<FailureDetail> {
        let mut detail = Box::new(FailureDetail::new(self.req.route));
        detail.last = self.last.take().map(|last| *last);
        detail.attempts = self.attempts;
        detail.elapsed = clock::now().saturating_duration_since(self.started);
        detail.give_up = self.give_up.take().map(|g| *g);
        detail.may_have_acted = self.may_have_acted;
        detail.first_sent = self.first_sent;
        let provider = self.provider_repeated.then_some(self.provider_errors);
        attach_support(&mut detail, self.req, provider);
        detail
    }

    /// Ends the request with `make`'s error — or [`Error::Ambiguous`] when an earlier attempt
    /// may have acted: the caller must reconcile, whatever the last attempt said.
    fn finish(&mut self, make: impl FnOnce(Box<FailureDetail>, &'static str) -> Error) -> Error {
        if self.may_have_acted {
            return self.ambiguous();
        }
        make(self.take_detail(), self.req.route)
    }

    /// Ends the request as ambiguous: the server may have acted and repeating was unsafe.
    fn ambiguous(&mut self) -> Error {
        self.may_have_acted = true;
        Error::Ambiguous {
            detail: self.take_detail(),
            operation: self.req.route,
            slot: None,
        }
    }

    /// Ends the request unsent because the account is paused for `retry_in` more.
    fn paused(&mut self, retry_in: Duration, cause: Option<ApiError>) -> Error {
        self.finish(|detail, operation| Error::Paused {
            resume_at: clock::wall_now() + retry_in,
            retry_in,
            cause: cause.map(Box::new),
            detail,
            operation,
        })
    }

    /// Ends a create unsent because it waited `slots.max_wait` for a slot.
    fn slot_wait(&mut self) -> Error {
        let waited = self.slot_waited;
        self.finish(|detail, operation| Error::SlotWait {
            waited,
            detail,
            operation,
        })
    }

    /// Ends the request with an error from a gate (halt, circuit), keeping what happened.
    fn fail(&mut self, mut error: Error) -> Error {
        match &mut error {
            // A halt stops the scope even if an earlier attempt may have acted; the flag in
            // the detail tells the caller to reconcile.
            Error::Halted { detail: d, .. } => *d = self.take_detail(),
            Error::CircuitOpen { detail: d, .. } | Error::Aborted { detail: d, .. }
                if !self.may_have_acted =>
            {
                *d = self.take_detail();
            }
            _ => return self.ambiguous(),
        }
        error
    }

    /// Ends the request because its deadline passed.
    fn deadline(&mut self) -> Error {
        self.give_up = Some(Box::new(GiveUpReason::DeadlineExceeded));
        self.finish(|detail, operation| Error::Timeout { detail, operation })
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

/// Attaches a support report when Nixflex asks for one: on a server error (a bare gateway
/// page included), or on a provider error that repeated for this operation (`provider` is the
/// count in the window when it reached `support.provider_repeats`).
fn attach_support(detail: &mut FailureDetail, req: &Request<'_>, provider: Option<u32>) {
    let Some(Failure::Api(e)) = &detail.last else {
        return;
    };
    let repeats = if support::reported_at_once(e) {
        1
    } else if let Some(n) = provider.filter(|_| support::is_provider_error(e)) {
        n
    } else {
        return;
    };
    let subject = support::Subject {
        operation: req.route,
        agent_id: req.agent_id,
        to: req.to,
        call_id: req.call_id,
    };
    let report = SupportReport::new(e, subject, detail.attempts, repeats, clock::wall_rfc3339());
    m::support_report(e.error_type.as_ref());
    detail.support = Some(report);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use redial_policy::Method;

    use super::*;
    use crate::key::ApiKey;
    use crate::model::{Agent, Call, List};

    /// The retry loop's state is one allocation per logical request. Kept at or under 1,024
    /// bytes it is served from the allocator's per-thread cache (glibc's tcache takes requests
    /// up to 1,032 bytes); at 1,696 bytes it took the slow large-chunk path on every request.
    #[test]
    fn boxed_request_state_fits_the_allocators_thread_cache() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .api_key(ApiKey::parse("a:b").expect("key"))
            .build()
            .expect("client");
        let list = Request::new(Method::Get, "/v1/agents".into(), "GET /v1/agents", "agents");
        let create = Request::new(Method::Post, "/v1/calls".into(), "POST /v1/calls", "calls");
        let mut slot = None;
        for (what, size) in [
            (
                "list",
                std::mem::size_of_val(&client.run::<List<Agent>>(&list, None, clock::now())),
            ),
            (
                "create",
                std::mem::size_of_val(&client.run::<Call>(&create, Some(&mut slot), clock::now())),
            ),
        ] {
            assert!(size <= 1024, "{what}: the request state is {size} bytes");
        }
    }

    /// A create that may have acted, then met an open circuit, ends ambiguous with its support
    /// report — counted once. (The loop used to build the detail twice on this path and count
    /// the report twice.)
    #[test]
    fn ambiguous_end_at_a_gate_counts_one_support_report() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        use redial_policy::{ApiError, ResponseMeta};

        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let req = Request::new(Method::Post, "/v1/calls".into(), "POST /v1/calls", "calls");
        let error = metrics::with_local_recorder(&recorder, || {
            let mut end = Ending::new(&req, clock::now());
            end.attempts = 1;
            end.may_have_acted = true;
            let body =
                br#"{"error":{"type":"server_error","code":"internal_error","message":"boom"}}"#;
            let meta = ResponseMeta {
                retry_after: None,
                request_id: Some("req_1"),
                content_type: Some("application/json"),
                truncated: false,
            };
            end.record(Failure::Api(ApiError::parse(
                500,
                meta,
                body,
                clock::wall_now(),
            )));
            end.fail(Error::CircuitOpen {
                group: "calls".into(),
                retry_in: Duration::from_secs(1),
                detail: Box::default(),
                operation: req.route,
            })
        });
        let Error::Ambiguous { detail, .. } = &error else {
            panic!("expected ambiguous, got {error:?}");
        };
        assert_eq!(detail.attempts, 1);
        assert!(detail.may_have_acted);
        assert!(
            detail.support.is_some(),
            "a server error carries its report"
        );
        let reports: u64 = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == m::SUPPORT_REPORTS)
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => n,
                other => panic!("support reports is a counter, got {other:?}"),
            })
            .sum();
        assert_eq!(reports, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn until_returns_a_ready_wait_at_once_and_bounds_a_pending_one() {
        let deadline = clock::now() + Duration::from_secs(5);
        assert_eq!(until(deadline, async { 7 }).await.ok(), Some(7));

        // A wait that ends before the deadline is awaited to its end.
        let slow = async {
            sleep(Duration::from_secs(2)).await;
            8
        };
        assert_eq!(until(deadline, slow).await.ok(), Some(8));

        // One that does not is cut at the deadline.
        let started = clock::now();
        let never = std::future::pending::<()>();
        assert!(until(deadline, never).await.is_err());
        assert_eq!(clock::now(), deadline);
        assert!(clock::now() > started);
    }
}
