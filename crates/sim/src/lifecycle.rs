//! Call lifecycles: drawn once at creation, read lazily on every status request (no timer
//! task per call: a call's status is a function of the time since it was created).

use std::time::Duration;

use rand::Rng;

use crate::scenario::{CallsConfig, TalkTime};

/// How a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Busy,
    NoAnswer,
    Failed,
}

impl Outcome {
    fn terminal_status(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Failed => "failed",
        }
    }
}

/// When a call ends and how; the other transitions come from the scenario's [`CallsConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    /// When the call becomes terminal and frees its slot, from creation.
    pub(crate) end_at: Duration,
    pub(crate) outcome: Outcome,
}

impl Timeline {
    /// Draws a call's outcome and, for a completed call, its talk time.
    pub(crate) fn draw(cfg: &CallsConfig, rng: &mut impl Rng) -> Timeline {
        let w = &cfg.outcomes;
        let total = u64::from(w.completed)
            + u64::from(w.busy)
            + u64::from(w.no_answer)
            + u64::from(w.failed);
        let mut pick = if total == 0 {
            0
        } else {
            rng.random_range(0..total)
        };
        let mut outcome = Outcome::Completed;
        for (weight, o) in [
            (w.completed, Outcome::Completed),
            (w.busy, Outcome::Busy),
            (w.no_answer, Outcome::NoAnswer),
            (w.failed, Outcome::Failed),
        ] {
            if pick < u64::from(weight) {
                outcome = o;
                break;
            }
            pick -= u64::from(weight);
        }
        let end_at = match outcome {
            Outcome::Completed => cfg.answered_after + talk_time(cfg, rng),
            Outcome::Busy => cfg.busy_after.unwrap_or(cfg.answered_after),
            Outcome::NoAnswer => cfg.no_answer_after.unwrap_or(cfg.answered_after),
            Outcome::Failed => cfg.failed_after.unwrap_or(cfg.answered_after),
        };
        Timeline { end_at, outcome }
    }

    /// Status `elapsed` after creation.
    pub(crate) fn status_at(&self, cfg: &CallsConfig, elapsed: Duration) -> &'static str {
        if elapsed >= self.end_at {
            self.outcome.terminal_status()
        } else if elapsed >= cfg.answered_after && self.outcome == Outcome::Completed {
            "in_progress"
        } else if elapsed >= cfg.ringing_after {
            "ringing"
        } else {
            "queued"
        }
    }
}

/// The talk time of a completed call.
fn talk_time(cfg: &CallsConfig, rng: &mut impl Rng) -> Duration {
    match &cfg.duration {
        None => uniform(cfg.duration_min, cfg.duration_max, rng),
        Some(TalkTime::Uniform { min, max }) => uniform(*min, *max, rng),
        Some(TalkTime::LogNormal {
            median,
            sigma,
            min,
            max,
        }) => lognormal(*median, *sigma, rng).clamp(*min, *max),
    }
}

fn uniform(min: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    if max > min {
        rng.random_range(min..=max)
    } else {
        min
    }
}

/// `median * exp(sigma * z)` with `z` standard normal (Box–Muller, two uniform draws);
/// saturates instead of overflowing.
fn lognormal(median: Duration, sigma: f64, rng: &mut impl Rng) -> Duration {
    // 1 - [0, 1) is (0, 1]: the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let secs = median.as_secs_f64() * (sigma * z).exp();
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::OutcomeWeights;
    use rand::SeedableRng;

    fn only_completed() -> OutcomeWeights {
        OutcomeWeights {
            completed: 1,
            busy: 0,
            no_answer: 0,
            failed: 0,
        }
    }

    #[test]
    fn statuses_progress_to_terminal() {
        let cfg = CallsConfig {
            outcomes: only_completed(),
            ..CallsConfig::default()
        };
        let t = Timeline::draw(&cfg, &mut rand::rngs::StdRng::seed_from_u64(1));
        assert_eq!(t.status_at(&cfg, Duration::ZERO), "queued");
        assert_eq!(t.status_at(&cfg, cfg.ringing_after), "ringing");
        assert_eq!(t.status_at(&cfg, cfg.answered_after), "in_progress");
        assert_eq!(t.status_at(&cfg, t.end_at), "completed");
    }

    #[test]
    fn unanswered_outcomes_end_at_their_own_times() {
        for (weights, after, status) in [
            ((1, 0, 0), Duration::from_secs(4), "busy"),
            ((0, 1, 0), Duration::from_secs(30), "no_answer"),
            ((0, 0, 1), Duration::from_secs(6), "failed"),
        ] {
            let cfg = CallsConfig {
                busy_after: Some(Duration::from_secs(4)),
                no_answer_after: Some(Duration::from_secs(30)),
                failed_after: Some(Duration::from_secs(6)),
                outcomes: OutcomeWeights {
                    completed: 0,
                    busy: weights.0,
                    no_answer: weights.1,
                    failed: weights.2,
                },
                ..CallsConfig::default()
            };
            let t = Timeline::draw(&cfg, &mut rand::rngs::StdRng::seed_from_u64(1));
            assert_eq!(t.end_at, after);
            assert_eq!(
                t.status_at(&cfg, after - Duration::from_millis(1)),
                "ringing"
            );
            assert_eq!(t.status_at(&cfg, after), status);
        }
    }

    /// The median of a seeded sample of log-normal talk times is the configured median
    /// (within 2 %), the tail is capped at `max`, and about 10 % exceed
    /// `median * exp(1.2816 * sigma)` (the 90th percentile of a log-normal).
    #[test]
    fn lognormal_median_and_tail() {
        let median = Duration::from_secs(90);
        let max = Duration::from_secs(15 * 60);
        let cfg = CallsConfig {
            duration: Some(TalkTime::LogNormal {
                median,
                sigma: 0.8,
                min: Duration::ZERO,
                max,
            }),
            outcomes: only_completed(),
            ..CallsConfig::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let n = 20_000;
        let talks: Vec<Duration> = (0..n)
            .map(|_| Timeline::draw(&cfg, &mut rng).end_at - cfg.answered_after)
            .collect();
        let share = |f: &dyn Fn(&Duration) -> bool| {
            talks.iter().filter(|t| f(t)).count() as f64 / f64::from(n)
        };
        let below_median = share(&|t| *t <= median);
        assert!((below_median - 0.5).abs() < 0.02, "{below_median}");
        let p90 = median.mul_f64((1.2816_f64 * 0.8).exp());
        let above_p90 = share(&|t| *t > p90);
        assert!((above_p90 - 0.1).abs() < 0.01, "{above_p90}");
        assert!(talks.iter().all(|t| *t <= max));
        assert!(share(&|t| *t == max) < 0.01);
    }

    #[test]
    fn lognormal_never_overflows() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..10_000 {
            let d = lognormal(Duration::from_secs(u64::MAX / 4), 5.0, &mut rng);
            assert!(d > Duration::ZERO);
        }
    }
}
