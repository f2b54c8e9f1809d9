//! `[calls]`: how long calls ring and talk, and how they end.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Timing and outcome distribution of simulated calls.
///
/// A call is `queued` until `ringing_after`, `ringing` until `answered_after`, then either
/// ends there as `busy`, `no_answer` or `failed`, or is `in_progress` for a duration drawn
/// uniformly from `duration_min..=duration_max` and then `completed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Time from creation to `ringing`.
    #[serde(with = "humantime_serde")]
    pub ringing_after: Duration,
    /// Time from creation to answer (or to the end of an unanswered call).
    #[serde(with = "humantime_serde")]
    pub answered_after: Duration,
    /// Shortest talk time of a completed call.
    #[serde(with = "humantime_serde")]
    pub duration_min: Duration,
    /// Longest talk time of a completed call.
    #[serde(with = "humantime_serde")]
    pub duration_max: Duration,
    /// Relative weights of the terminal outcomes.
    pub outcomes: OutcomeWeights,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            ringing_after: Duration::from_millis(200),
            answered_after: Duration::from_secs(1),
            duration_min: Duration::from_secs(2),
            duration_max: Duration::from_secs(5),
            outcomes: OutcomeWeights::default(),
        }
    }
}

/// Relative weights (not necessarily summing to 100) of how calls end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomeWeights {
    /// Answered, talked, hung up.
    pub completed: u32,
    /// The line was busy.
    pub busy: u32,
    /// Rang out.
    pub no_answer: u32,
    /// The carrier failed the call after it started ringing.
    pub failed: u32,
}

impl Default for OutcomeWeights {
    fn default() -> Self {
        Self {
            completed: 80,
            busy: 8,
            no_answer: 8,
            failed: 4,
        }
    }
}
