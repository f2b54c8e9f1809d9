//! Backoff schedules: how long to wait before the next attempt.
//!
//! Plain functions of the retry number, the previous delay and a jitter sample in `[0, 1)`,
//! so they are exact in tests and need no clock or RNG of their own (the AWS SDKs'
//! `calculate_exponential_backoff` takes its jitter the same way). Jitter spreads retries of
//! many clients apart; full jitter is the default because it gives the least total work
//! ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ScheduleConfig;

/// How a delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// `random(0, min(cap, base * multiplier^n))`.
    #[default]
    Full,
    /// Half the exponential delay plus a random half.
    Equal,
    /// `min(cap, random(base, previous * 3))`.
    Decorrelated,
    /// The exponential delay itself.
    None,
}

/// A backoff schedule.
///
/// ```
/// use std::time::Duration;
/// use redial_policy::{Backoff, Jitter};
/// let b = Backoff::new(Jitter::None, Duration::from_millis(100), 2.0, Duration::from_secs(1));
/// assert_eq!(b.delay(1, Duration::ZERO, 0.5), Duration::from_millis(100));
/// assert_eq!(b.delay(3, Duration::ZERO, 0.5), Duration::from_millis(400));
/// assert_eq!(b.delay(10, Duration::ZERO, 0.5), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    jitter: Jitter,
    base_secs: f64,
    multiplier: f64,
    cap_secs: f64,
}

impl Backoff {
    /// A schedule; `multiplier` below 1 is treated as 1, a cap below base as base.
    pub fn new(jitter: Jitter, base: Duration, multiplier: f64, cap: Duration) -> Self {
        let base_secs = base.as_secs_f64();
        Self {
            jitter,
            base_secs,
            multiplier: if multiplier.is_finite() {
                multiplier.max(1.0)
            } else {
                1.0
            },
            cap_secs: cap.as_secs_f64().max(base_secs),
        }
    }

    /// The schedule a config section describes.
    pub fn from_config(c: &ScheduleConfig) -> Self {
        Self::new(c.jitter, c.base, c.multiplier, c.cap)
    }

    /// The delay before retry number `retry` (1 for the first retry). `previous` is the delay
    /// used before the previous retry (decorrelated jitter grows from it); `sample` is a
    /// uniform random number in `[0, 1)` (values outside are clamped). Never exceeds the cap.
    pub fn delay(&self, retry: u32, previous: Duration, sample: f64) -> Duration {
        let sample = if sample.is_finite() {
            sample.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let exp = (retry.max(1) - 1).min(1024) as i32;
        let ceiling = (self.base_secs * self.multiplier.powi(exp)).min(self.cap_secs);
        let secs = match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => ceiling * sample,
            Jitter::Equal => ceiling / 2.0 + ceiling / 2.0 * sample,
            Jitter::Decorrelated => {
                let upper = (previous.as_secs_f64() * 3.0).max(self.base_secs);
                (self.base_secs + (upper - self.base_secs) * sample).min(self.cap_secs)
            }
        };
        secs_to_duration(secs.clamp(0.0, self.cap_secs))
    }

    /// The largest delay the schedule can produce.
    pub fn cap(&self) -> Duration {
        secs_to_duration(self.cap_secs)
    }
}

/// Seconds to a `Duration`, saturating at `Duration::MAX` instead of panicking on a huge cap.
fn secs_to_duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn schedules() {
        let full = Backoff::new(Jitter::Full, MS(100), 2.0, MS(10_000));
        assert_eq!(full.delay(3, Duration::ZERO, 0.5), MS(200));
        let equal = Backoff::new(Jitter::Equal, MS(100), 2.0, MS(10_000));
        assert_eq!(equal.delay(2, Duration::ZERO, 0.0), MS(100));
        let dec = Backoff::new(Jitter::Decorrelated, MS(100), 2.0, MS(1_000));
        assert_eq!(dec.delay(2, MS(200), 1.0), MS(600));
        assert_eq!(dec.delay(5, MS(900), 1.0), MS(1_000));
    }

    #[test]
    fn a_maximal_cap_does_not_panic() {
        let b = Backoff::new(Jitter::None, Duration::MAX, 2.0, Duration::MAX);
        assert_eq!(b.cap(), Duration::MAX);
        assert_eq!(b.delay(3, Duration::MAX, 0.5), Duration::MAX);
    }

    #[test]
    fn huge_retry_numbers_stay_at_cap() {
        let b = Backoff::new(Jitter::None, MS(100), 10.0, MS(5_000));
        assert_eq!(b.delay(u32::MAX, Duration::ZERO, 0.3), MS(5_000));
    }
}
