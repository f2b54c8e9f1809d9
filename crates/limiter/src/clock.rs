//! The one place this crate reads the time.
//!
//! Everything in the limiter (GCRA buckets, pauses, CUBIC recovery, breaker windows, the retry
//! budget) asks [`now`] for the time. It reads `tokio::time::Instant`, so tests run on tokio's
//! paused clock (`#[tokio::test(start_paused = true)]`): virtual time advances only when every
//! task is asleep, and a test of "100 requests at 10/s" takes milliseconds and is exact.
//!
//! [`TokioClock`] adapts the same reading to governor's [`Clock`] trait. We do not use
//! governor's default `quanta` clock: it can go backwards across cores (governor issue #299)
//! and tokio's paused clock does not drive it.

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use tokio::time::Instant;

/// The current instant on tokio's clock (the paused clock in tests).
///
/// ```
/// let a = redial_limiter::clock::now();
/// assert!(redial_limiter::clock::now() >= a);
/// ```
#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

/// The current instant on the machine's monotonic clock, for round-trip times: physical
/// latency, which tokio's paused clock (it jumps while a test's requests are on the wire)
/// cannot measure. Nothing that decides *when* a request may go reads it.
#[allow(clippy::disallowed_methods)]
pub fn real_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Which slot of `width` `elapsed` falls in (a zero width counts as 1 ns): `elapsed / width`, in 64-bit
/// arithmetic (a 128-bit division is a libcall on the hot path; 2^64 ns is 584 years).
pub(crate) fn slot_index(elapsed: Duration, width: Duration) -> u64 {
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    nanos(elapsed) / nanos(width).max(1)
}

/// A governor [`Clock`] over tokio time: monotonic, and driven by tokio's paused clock in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

/// A governor [`Reference`] reading of [`TokioClock`]: a `tokio::time::Instant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokioInstant(pub Instant);

impl TokioInstant {
    /// The tokio instant inside.
    pub fn into_inner(self) -> Instant {
        self.0
    }
}

impl Add<Nanos> for TokioInstant {
    type Output = Self;

    fn add(self, other: Nanos) -> Self {
        Self(self.0 + Duration::from(other))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        self.0.checked_sub(duration.into()).map_or(*self, Self)
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_index_divides_and_never_panics() {
        let ms = Duration::from_millis;
        assert_eq!(slot_index(ms(0), ms(100)), 0);
        assert_eq!(slot_index(ms(99), ms(100)), 0);
        assert_eq!(slot_index(ms(100), ms(100)), 1);
        assert_eq!(slot_index(ms(2_550), ms(100)), 25);
        assert_eq!(slot_index(Duration::MAX, ms(1)), u64::MAX / 1_000_000);
        assert_eq!(slot_index(ms(5), Duration::ZERO), 5_000_000);
    }

    #[tokio::test(start_paused = true)]
    async fn governor_clock_follows_the_paused_tokio_clock() {
        let clock = TokioClock;
        let a = clock.now();
        tokio::time::advance(Duration::from_millis(250)).await;
        let b = clock.now();
        assert_eq!(b.duration_since(a), Nanos::from(Duration::from_millis(250)));
        assert_eq!(
            a.duration_since(b),
            Nanos::from(Duration::ZERO),
            "saturates, never negative"
        );
        assert_eq!(a + Nanos::from(Duration::from_millis(250)), b);
        assert_eq!(b.saturating_sub(Duration::from_millis(250).into()), a);
    }
}
