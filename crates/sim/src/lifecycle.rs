//! Call lifecycles: drawn once at creation, read lazily on every status request.

use std::time::Duration;

use rand::Rng;

use crate::scenario::CallsConfig;

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

/// Offsets from creation at which a call changes status.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    ringing_at: Duration,
    answered_at: Duration,
    /// When the call becomes terminal and frees its slot.
    pub(crate) end_at: Duration,
    outcome: Outcome,
}

impl Timeline {
    /// Draws a call's outcome and talk time.
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
        let end_at = if outcome == Outcome::Completed {
            let talk = if cfg.duration_max > cfg.duration_min {
                rng.random_range(cfg.duration_min..=cfg.duration_max)
            } else {
                cfg.duration_min
            };
            cfg.answered_after + talk
        } else {
            cfg.answered_after
        };
        Timeline {
            ringing_at: cfg.ringing_after,
            answered_at: cfg.answered_after,
            end_at,
            outcome,
        }
    }

    /// Status `elapsed` after creation.
    pub(crate) fn status_at(&self, elapsed: Duration) -> &'static str {
        if elapsed >= self.end_at {
            self.outcome.terminal_status()
        } else if elapsed >= self.answered_at && self.outcome == Outcome::Completed {
            "in_progress"
        } else if elapsed >= self.ringing_at {
            "ringing"
        } else {
            "queued"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn statuses_progress_to_terminal() {
        let cfg = CallsConfig {
            outcomes: crate::scenario::OutcomeWeights {
                completed: 1,
                busy: 0,
                no_answer: 0,
                failed: 0,
            },
            ..CallsConfig::default()
        };
        let t = Timeline::draw(&cfg, &mut rand::rngs::StdRng::seed_from_u64(1));
        assert_eq!(t.status_at(Duration::ZERO), "queued");
        assert_eq!(t.status_at(cfg.ringing_after), "ringing");
        assert_eq!(t.status_at(cfg.answered_after), "in_progress");
        assert_eq!(t.status_at(t.end_at), "completed");
    }
}
