//! Pauses as the client sees them.
//!
//! - The **account pause**: a throttle's `Retry-After` (`rate_limit_exceeded`, Twilio 20429)
//!   stops every request of the account for its full length. The pacer holds it (and lets one
//!   probe go first at its end); the client keeps the answer that caused it, so callers can
//!   ask [`crate::Client::pause`] and stop a campaign at once.
//! - The **creates pause**: a `Retry-After` on `concurrent_call_limit` delays creates only.
//!   Status reads go on: they are how slots come back.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use redial_policy::ApiError;
use tokio::time::Instant;

use crate::clock;

/// The account is paused: nothing may be sent until `resume_at`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PauseInfo {
    /// When the pause ends (wall clock).
    pub resume_at: SystemTime,
    /// How long from now.
    pub retry_in: Duration,
    /// The throttle answer that paused the account, when this client saw it (a pause shared
    /// by a fleet backend may have been caused by another process).
    pub cause: Option<ApiError>,
}

impl PauseInfo {
    /// A pause that ends `retry_in` from now.
    pub(crate) fn new(retry_in: Duration, cause: Option<ApiError>) -> Self {
        Self {
            resume_at: clock::wall_now() + retry_in,
            retry_in,
            cause,
        }
    }

    /// `resume_at` as RFC 3339 (UTC, seconds).
    pub fn resume_at_rfc3339(&self) -> String {
        humantime::format_rfc3339_seconds(self.resume_at).to_string()
    }
}

/// The causes of the account pause and the creates pause.
#[derive(Debug, Default)]
pub(crate) struct Pauses {
    /// The throttle answer behind the latest account pause.
    account_cause: Mutex<Option<ApiError>>,
    /// Until when creates wait (a `concurrent_call_limit` Retry-After), and why.
    creates: Mutex<Option<(Instant, ApiError)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pauses {
    /// Records the answer that paused the account.
    pub(crate) fn set_account_cause(&self, cause: &ApiError) {
        *lock(&self.account_cause) = Some(cause.clone());
    }

    /// The answer behind the account pause.
    pub(crate) fn account_cause(&self) -> Option<ApiError> {
        lock(&self.account_cause).clone()
    }

    /// Delays creates until `retry_after` from now (never shortens a longer delay).
    pub(crate) fn pause_creates(&self, retry_after: Duration, cause: &ApiError) {
        let until = clock::now() + retry_after;
        let mut creates = lock(&self.creates);
        if creates.as_ref().is_none_or(|(u, _)| *u < until) {
            *creates = Some((until, cause.clone()));
        }
    }

    /// Until when creates wait, and why, if they do.
    pub(crate) fn creates_until(&self) -> Option<(Instant, ApiError)> {
        let mut creates = lock(&self.creates);
        match &*creates {
            Some((until, cause)) if *until > clock::now() => Some((*until, cause.clone())),
            Some(_) => {
                *creates = None;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_creates_pause_is_never_shortened_and_expires() {
        let p = Pauses::default();
        let e = ApiError::from_status(429);
        assert!(p.creates_until().is_none());
        p.pause_creates(Duration::from_secs(60), &e);
        p.pause_creates(Duration::from_secs(5), &e);
        let (until, _) = p.creates_until().unwrap();
        assert_eq!(until - clock::now(), Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(p.creates_until().is_none());
    }
}
