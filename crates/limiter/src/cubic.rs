//! Adaptive rate: CUBIC, as in the AWS SDKs' adaptive retry mode.
//!
//! Why: a fixed rate is either too slow when the account has headroom or too fast when the
//! server sheds load. On a throttle the bucket's rate drops to `beta` x the measured
//! (smoothed) send rate; afterwards it grows back along a cubic curve that is flat around the
//! rate that was last throttled (probing it carefully) and steep beyond it (reclaiming
//! headroom quickly).
//!
//! Source: the AWS SDKs' `ClientRateLimiter`, here as in smithy-rs
//! `rust-runtime/aws-smithy-runtime/src/client/retries/client_rate_limiter.rs` (itself ported
//! from aws-sdk-go-v2 `aws/retry/adaptive_ratelimit.go`). The constants (`beta` 0.7, `scale`
//! 0.4, `smooth` 0.8, floor 0.5/s) are in [`redial_policy::config`].
//!
//! The math is plain functions of time given as seconds (`f64`), so it is unit-tested with the
//! SDK's own expected numbers. Two deliberate differences from the SDK, both for a dialer that
//! has a configured ceiling: the rate is clamped to `[floor, ceiling]` (the SDK has no
//! ceiling and also caps at twice the measured rate; we do not, so an idle client recovers),
//! and a throttle before any send rate was measured uses the current rate instead of 0.

use redial_policy::config::AdaptiveConfig;

/// Multiplicative decrease: the rate after a throttle, before clamping.
///
/// ```
/// assert_eq!(redial_limiter::cubic::cubic_throttle(10.0, 0.7), 7.0);
/// ```
pub fn cubic_throttle(rate: f64, beta: f64) -> f64 {
    rate * beta
}

/// Seconds after a throttle at which the cubic curve is back at `last_max_rate`:
/// `cbrt(last_max_rate * (1 - beta) / scale)`.
pub fn cubic_time_window(last_max_rate: f64, beta: f64, scale: f64) -> f64 {
    (last_max_rate * (1.0 - beta) / scale).cbrt()
}

/// The rate on the cubic curve at time `now` (seconds), for a throttle at
/// `time_of_last_throttle` when the rate was `last_max_rate`:
/// `scale * (now - time_of_last_throttle - window)^3 + last_max_rate`.
///
/// ```
/// use redial_limiter::cubic::cubic_success;
/// // Right at the throttle the curve starts at beta x last_max_rate.
/// assert!((cubic_success(5.0, 5.0, 10.0, 0.7, 0.4) - 7.0).abs() < 1e-9);
/// ```
pub fn cubic_success(
    now: f64,
    time_of_last_throttle: f64,
    last_max_rate: f64,
    beta: f64,
    scale: f64,
) -> f64 {
    let dt = now - time_of_last_throttle - cubic_time_window(last_max_rate, beta, scale);
    scale * dt.powi(3) + last_max_rate
}

/// Exponential smoothing of the measured send rate: `sample * smooth + previous * (1 - smooth)`.
pub fn smoothed_rate(previous: f64, sample: f64, smooth: f64) -> f64 {
    sample * smooth + previous * (1.0 - smooth)
}

/// Clamps `rate` to `[floor, ceiling]`; when the floor is above the ceiling the ceiling wins.
pub fn clamp_rate(rate: f64, floor: f64, ceiling: f64) -> f64 {
    rate.max(floor.min(ceiling)).min(ceiling)
}

/// Width of the send-rate measurement buckets, seconds (the SDK's half-second buckets).
const MEASURE_BUCKET_SECONDS: f64 = 0.5;

/// The adaptive state of one bucket; pure: every method takes the time in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct CubicState {
    measured_tx_rate: f64,
    last_tx_rate_bucket: f64,
    request_count: u64,
    last_max_rate: f64,
    time_of_last_throttle: f64,
    recovering: bool,
}

impl CubicState {
    /// A fresh state at time `now` (seconds): no send rate measured, not recovering.
    pub fn new(now: f64) -> Self {
        Self {
            measured_tx_rate: 0.0,
            last_tx_rate_bucket: (now / MEASURE_BUCKET_SECONDS).floor() * MEASURE_BUCKET_SECONDS,
            request_count: 0,
            last_max_rate: 0.0,
            time_of_last_throttle: now,
            recovering: false,
        }
    }

    /// The smoothed send rate, requests per second.
    pub fn measured_rate(&self) -> f64 {
        self.measured_tx_rate
    }

    /// Whether a throttle happened and the rate has not yet climbed back to the ceiling.
    pub fn is_recovering(&self) -> bool {
        self.recovering
    }

    /// Counts one request sent at `now`; every half-second boundary folds the count into the
    /// smoothed rate (the SDK's `update_tokens_retrieved_per_second`).
    pub fn record_send(&mut self, now: f64, smooth: f64) {
        let bucket = (now / MEASURE_BUCKET_SECONDS).floor() * MEASURE_BUCKET_SECONDS;
        self.request_count += 1;
        if bucket > self.last_tx_rate_bucket {
            let sample = self.request_count as f64 / (bucket - self.last_tx_rate_bucket);
            self.measured_tx_rate = smoothed_rate(self.measured_tx_rate, sample, smooth);
            self.request_count = 0;
            self.last_tx_rate_bucket = bucket;
        }
    }

    /// A throttle at `now` while the bucket's rate is `current_rate`: returns the new rate,
    /// `beta` x the smaller of the measured and current rates, clamped to `[floor, ceiling]`.
    pub fn throttle(
        &mut self,
        now: f64,
        current_rate: f64,
        cfg: &AdaptiveConfig,
        ceiling: f64,
    ) -> f64 {
        let rate_to_use = if self.measured_tx_rate > 0.0 {
            self.measured_tx_rate.min(current_rate)
        } else {
            current_rate
        };
        self.last_max_rate = rate_to_use;
        self.time_of_last_throttle = now;
        self.recovering = true;
        clamp_rate(cubic_throttle(rate_to_use, cfg.beta), cfg.min_rate, ceiling)
    }

    /// A success at `now`: while recovering, the rate on the cubic curve clamped to
    /// `[floor, ceiling]`; `None` when not recovering (the rate is the ceiling). Reaching the
    /// ceiling ends the recovery.
    pub fn success(&mut self, now: f64, cfg: &AdaptiveConfig, ceiling: f64) -> Option<f64> {
        if !self.recovering {
            return None;
        }
        let raw = cubic_success(
            now,
            self.time_of_last_throttle,
            self.last_max_rate,
            cfg.beta,
            cfg.scale,
        );
        let rate = clamp_rate(raw, cfg.min_rate, ceiling);
        if rate >= ceiling {
            self.recovering = false;
        }
        Some(rate)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// The SDK's `test_calculated_rate_with_successes` (ported from aws-sdk-go-v2): last max
    /// rate 10, throttled at t = 5.
    #[test]
    fn cubic_success_matches_the_aws_sdk_table() {
        let expected = [
            (5.0, 7.0),
            (6.0, 9.64893600966),
            (7.0, 10.000030849917364),
            (8.0, 10.453284520772092),
            (9.0, 13.408697022224185),
            (10.0, 21.26626835427364),
            (11.0, 36.425998516920465),
        ];
        for (t, rate) in expected {
            let got = cubic_success(t, 5.0, 10.0, 0.7, 0.4);
            assert!((got - rate).abs() < 1e-9, "t={t}: got {got}, want {rate}");
        }
    }

    #[test]
    fn throttle_is_beta_times_the_smaller_of_measured_and_current() {
        let cfg = AdaptiveConfig::default();
        assert!(close(cubic_throttle(10.0, 0.7), 7.0));
        let mut s = CubicState::new(0.0);
        // Nothing measured yet: the current rate is the base.
        assert!(close(s.throttle(0.2, 10.0, &cfg, 20.0), 7.0));
        // 4 sends in [0, 0.5), one at 0.5: sample 5 / 0.5 = 10/s, smoothed 0.8 * 10 = 8.
        let mut s = CubicState::new(0.0);
        for t in [0.0, 0.1, 0.2, 0.3, 0.5] {
            s.record_send(t, cfg.smooth);
        }
        assert!(close(s.measured_rate(), 8.0));
        assert!(close(s.throttle(0.6, 10.0, &cfg, 20.0), 5.6));
        // The floor holds.
        let mut s = CubicState::new(0.0);
        assert!(close(s.throttle(0.0, 0.6, &cfg, 20.0), cfg.min_rate));
    }

    #[test]
    fn recovery_follows_the_curve_and_stops_at_the_ceiling() {
        let cfg = AdaptiveConfig::default();
        let mut s = CubicState::new(5.0);
        assert_eq!(
            s.success(5.0, &cfg, 12.0),
            None,
            "not recovering before any throttle"
        );
        assert!(close(s.throttle(5.0, 10.0, &cfg, 12.0), 7.0));
        assert!(close(s.success(6.0, &cfg, 12.0).unwrap(), 9.64893600966));
        assert!(close(
            s.success(8.0, &cfg, 12.0).unwrap(),
            10.453284520772092
        ));
        assert!(s.is_recovering());
        assert_eq!(
            s.success(9.0, &cfg, 12.0),
            Some(12.0),
            "13.4 is clamped to the ceiling"
        );
        assert!(!s.is_recovering());
        assert_eq!(s.success(10.0, &cfg, 12.0), None);
    }

    #[test]
    fn clamp_prefers_the_ceiling_when_the_floor_is_above_it() {
        assert_eq!(clamp_rate(0.1, 0.5, 0.2), 0.2);
        assert_eq!(clamp_rate(0.1, 0.5, 2.0), 0.5);
        assert_eq!(clamp_rate(3.0, 0.5, 2.0), 2.0);
    }

    proptest! {
        #[test]
        fn adaptive_rate_stays_within_floor_and_ceiling(
            ceiling in 0.6f64..1000.0,
            events in proptest::collection::vec((0.0f64..5.0, any::<bool>(), 0u8..20), 1..60),
        ) {
            let cfg = AdaptiveConfig::default();
            let mut s = CubicState::new(0.0);
            let mut t = 0.0;
            let mut rate = ceiling;
            for (dt, throttled, sends) in events {
                for _ in 0..sends {
                    t += dt / 20.0;
                    s.record_send(t, cfg.smooth);
                }
                t += dt;
                if throttled {
                    rate = s.throttle(t, rate, &cfg, ceiling);
                } else if let Some(r) = s.success(t, &cfg, ceiling) {
                    rate = r;
                }
                prop_assert!(rate >= cfg.min_rate && rate <= ceiling, "rate {} outside [{}, {}]", rate, cfg.min_rate, ceiling);
            }
        }
    }
}
