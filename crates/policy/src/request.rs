//! What the policy needs to know about the request that failed.

use std::time::Duration;

use crate::route::Method;

/// The request a failure belongs to. Borrowed, so building one costs nothing.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// HTTP method.
    pub method: Method,
    /// Concrete path, e.g. `/v1/calls/call_123` (matched against `[routes]` patterns).
    pub path: &'a str,
    /// Whether the request carries an `Idempotency-Key`.
    pub idempotency_key: bool,
    /// The agent the request names, for an agent-scope halt.
    pub agent_id: Option<&'a str>,
    /// The sender the request uses (from_number, or Twilio account SID), for a sender halt.
    pub sender: Option<&'a str>,
}

impl<'a> RequestInfo<'a> {
    /// A request with no key, agent or sender.
    pub fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            idempotency_key: false,
            agent_id: None,
            sender: None,
        }
    }
}

/// Where the retry loop stands when it asks for a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    /// Attempts made so far, the failed one included (1 after the first attempt).
    pub number: u32,
    /// How many of the *earlier* attempts (the failed one not included) were answered by a
    /// throttle or a slot wait. Those are waits, not failures: they are not charged to
    /// `max_attempts` (`number - waits` is), and they grow the throttle backoff.
    pub waits: u32,
    /// Time charged to the request's deadline: from its first send, without the time it
    /// queued for a call slot, the pacer, a pause or a throttle (those are waits).
    pub elapsed: Duration,
    /// The delay waited before the failed attempt (zero for the first).
    pub previous_delay: Duration,
    /// A uniform random sample in `[0, 1)` for jitter.
    pub jitter: f64,
}

impl Attempt {
    /// The first attempt of a request, failed: number 1, nothing waited, no time charged.
    pub fn first(jitter: f64) -> Self {
        Self {
            number: 1,
            waits: 0,
            elapsed: Duration::ZERO,
            previous_delay: Duration::ZERO,
            jitter,
        }
    }

    /// Attempts charged to `max_attempts`: those not answered by a throttle or a slot wait.
    pub fn charged(&self) -> u32 {
        self.number.saturating_sub(self.waits)
    }
}

/// The limits that apply to one request after `[routes]` overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Attempts allowed, the first included.
    pub max_attempts: u32,
    /// Total deadline.
    pub deadline: Duration,
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
}
