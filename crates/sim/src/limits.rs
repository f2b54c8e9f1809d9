//! The account's request-rate limiter (GCRA).
//!
//! It runs on the simulator's clock and is updated under the state lock, so a decision and
//! its bookkeeping are one step. (Live calls are counted by [`crate::store::CallStore`].)

use std::time::Duration;

use tokio::time::Instant;

/// Generic cell rate algorithm: one request per `interval`, with `burst` allowed at once.
#[derive(Debug)]
pub(crate) struct Gcra {
    interval: Duration,
    /// `burst * interval`: how far the theoretical arrival time may run ahead of now.
    limit: Duration,
    tat: Option<Instant>,
}

impl Gcra {
    /// A limiter for `rps` requests per second; `None` when `rps` is 0 (unlimited).
    pub(crate) fn new(rps: f64, burst: u32) -> Option<Gcra> {
        if rps <= 0.0 || !rps.is_finite() {
            return None;
        }
        let interval = Duration::from_secs_f64(1.0 / rps);
        Some(Gcra {
            interval,
            limit: interval * burst.max(1),
            tat: None,
        })
    }

    /// Admits a request at `now`, or says how long until one would be admitted.
    pub(crate) fn check(&mut self, now: Instant) -> Result<(), Duration> {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let next = tat + self.interval;
        let ahead = next.saturating_duration_since(now);
        if ahead > self.limit {
            return Err(ahead - self.limit);
        }
        self.tat = Some(next);
        Ok(())
    }
}

/// `Retry-After` seconds for a GCRA wait: rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_burst_then_waits() {
        let now = crate::clock::now();
        let mut g = Gcra::new(10.0, 3).unwrap();
        for _ in 0..3 {
            assert!(g.check(now).is_ok());
        }
        let wait = g.check(now).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert!(g.check(now + wait).is_ok());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
