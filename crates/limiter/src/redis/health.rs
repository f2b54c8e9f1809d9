//! Whether Redis answers, and when to ask it again after it did not.
//!
//! Every failed command (refused, timed out, or an error reply) marks Redis down and sets a
//! retry instant with exponential backoff; until then callers do not try Redis (they wait or
//! use the local fallback, per [`OnRedisError`]); the first answer afterwards marks it up.
//! The redis crate's `ConnectionManager` reconnects by itself in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::config::OnRedisError;
use super::metrics::{OpMetrics, REDIS_UP};
use crate::clock;

/// First wait before asking Redis again after an error, milliseconds (assumed).
const RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest wait between attempts while Redis is down, seconds (assumed).
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Up/down state of the connection, shared by the pacer, the gate and the halts store.
pub(crate) struct Health {
    policy: OnRedisError,
    down: AtomicBool,
    state: Mutex<Backoff>,
    up: metrics::Gauge,
}

#[derive(Debug)]
struct Backoff {
    retry_at: Option<Instant>,
    next: Duration,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("policy", &self.policy)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Health {
    pub(crate) fn new(policy: OnRedisError) -> Self {
        let up = metrics::gauge!(REDIS_UP);
        up.set(1.0);
        Self {
            policy,
            down: AtomicBool::new(false),
            state: Mutex::new(Backoff {
                retry_at: None,
                next: RETRY_MIN,
            }),
            up,
        }
    }

    /// Whether the last command failed.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// While Redis is down and its retry instant has not come: that instant.
    pub(crate) fn blocked_until(&self) -> Option<Instant> {
        if !self.is_down() {
            return None;
        }
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.retry_at.filter(|&at| at > clock::now())
    }

    /// A command failed: count it, log the first failure, back off. Returns the retry instant.
    pub(crate) fn on_error(
        &self,
        op: &'static str,
        ops: &OpMetrics,
        err: &::redis::RedisError,
    ) -> Instant {
        ops.error();
        let now = clock::now();
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let was_down = self.down.swap(true, Ordering::AcqRel);
        let at = match st.retry_at {
            // Several callers failing at once back off once.
            Some(at) if was_down && at > now => at,
            _ => {
                let at = now + st.next;
                st.next = (st.next * 2).min(RETRY_MAX);
                st.retry_at = Some(at);
                at
            }
        };
        drop(st);
        if was_down {
            tracing::debug!(op, error = %err, "Redis still unreachable");
        } else {
            self.up.set(0.0);
            tracing::warn!(op, error = %err, policy = ?self.policy, "Redis unreachable: fleet limits held per on_redis_error");
        }
        at
    }

    /// A command succeeded.
    pub(crate) fn on_ok(&self) {
        if self.down.load(Ordering::Acquire) {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if self.down.swap(false, Ordering::AcqRel) {
                st.retry_at = None;
                st.next = RETRY_MIN;
                self.up.set(1.0);
                tracing::info!("Redis reachable again: fleet limits shared again");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err() -> ::redis::RedisError {
        ::redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_and_resets_on_success() {
        let h = Health::new(OnRedisError::Wait);
        let ops = OpMetrics::new("acquire");
        assert_eq!(h.blocked_until(), None);
        let t0 = clock::now();
        assert_eq!(h.on_error("acquire", &ops, &err()), t0 + RETRY_MIN);
        // A second failure before the retry instant does not push it further.
        assert_eq!(h.on_error("acquire", &ops, &err()), t0 + RETRY_MIN);
        assert_eq!(h.blocked_until(), Some(t0 + RETRY_MIN));
        tokio::time::advance(RETRY_MIN).await;
        assert_eq!(h.blocked_until(), None, "time to try again");
        assert_eq!(
            h.on_error("acquire", &ops, &err()),
            clock::now() + RETRY_MIN * 2
        );
        for _ in 0..10 {
            tokio::time::advance(RETRY_MAX).await;
            h.on_error("acquire", &ops, &err());
        }
        assert_eq!(h.blocked_until(), Some(clock::now() + RETRY_MAX));
        h.on_ok();
        assert!(!h.is_down());
        assert_eq!(h.blocked_until(), None);
        assert_eq!(
            h.on_error("acquire", &ops, &err()),
            clock::now() + RETRY_MIN
        );
    }
}
