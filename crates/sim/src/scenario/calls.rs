//! `[calls]`: how long calls ring and talk, how they end, and how many finished calls the
//! simulator remembers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default spread (`sigma` of the underlying normal) of a log-normal talk time: with a 90 s
/// median it puts the 90th percentile near 4 min and the 99th near 10 min (assumed, shaped
/// after the contract's "a typical answered call is one to three minutes").
pub const DEFAULT_LOGNORMAL_SIGMA: f64 = 0.8;

/// Timing and outcome distribution of simulated calls.
///
/// A call is `queued` until `ringing_after`, then `ringing`. A call that ends `busy`,
/// `no_answer` or `failed` goes from `ringing` straight to that status at `busy_after`,
/// `no_answer_after` or `failed_after` (each defaults to `answered_after`). A completed call
/// is `in_progress` from `answered_after` for a talk time drawn from `duration` (or, when
/// `duration` is unset, uniformly from `duration_min..=duration_max`), then `completed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Time from creation to `ringing`.
    #[serde(with = "humantime_serde")]
    pub ringing_after: Duration,
    /// Time from creation to answer (and, unless overridden below, to the end of an
    /// unanswered call).
    #[serde(with = "humantime_serde")]
    pub answered_after: Duration,
    /// Shortest talk time of a completed call (uniform; ignored when `duration` is set).
    #[serde(with = "humantime_serde")]
    pub duration_min: Duration,
    /// Longest talk time of a completed call (uniform; ignored when `duration` is set).
    #[serde(with = "humantime_serde")]
    pub duration_max: Duration,
    /// Talk-time distribution of completed calls; when set it replaces
    /// `duration_min`/`duration_max` (which must then be left at their defaults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<TalkTime>,
    /// Time from creation to `busy`; unset = `answered_after`.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub busy_after: Option<Duration>,
    /// Time from creation to `no_answer` (how long it rings out); unset = `answered_after`.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub no_answer_after: Option<Duration>,
    /// Time from creation to `failed`; unset = `answered_after`.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub failed_after: Option<Duration>,
    /// Relative weights of the terminal outcomes.
    pub outcomes: OutcomeWeights,
    /// Keep at most this many finished (terminal) calls for `GET /v1/calls/{id}` and
    /// `GET /v1/calls`; older finished calls are forgotten (reads answer 404
    /// `call_not_found`, the list omits them, their Idempotency-Key is forgotten too). Live
    /// calls are never forgotten, and the per-number dial counts behind
    /// `SimStats::duplicate_dials` are always kept. Unset = keep every call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_finished: Option<u64>,
    /// When true, `GET /v1/calls` ignores its `to` and `agent_id` filters and returns the
    /// newest calls of the account (still honouring `limit`), as a server that does not know
    /// the filters would.
    pub list_ignores_filters: bool,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            ringing_after: Duration::from_millis(200),
            answered_after: Duration::from_secs(1),
            duration_min: Duration::from_secs(2),
            duration_max: Duration::from_secs(5),
            duration: None,
            busy_after: None,
            no_answer_after: None,
            failed_after: None,
            outcomes: OutcomeWeights::default(),
            keep_finished: None,
            list_ignores_filters: false,
        }
    }
}

/// How the talk time of a completed call is drawn (`calls.duration`).
///
/// ```
/// let s = redial_sim::Scenario::from_toml_str(r#"
///     [calls]
///     duration = { kind = "lognormal", median = "90s", max = "15m" }
/// "#).unwrap();
/// assert!(matches!(s.calls.duration, Some(redial_sim::TalkTime::LogNormal { .. })));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum TalkTime {
    /// Uniform over `min..=max`.
    #[serde(rename = "uniform")]
    Uniform {
        /// Shortest talk time.
        #[serde(with = "humantime_serde")]
        min: Duration,
        /// Longest talk time.
        #[serde(with = "humantime_serde")]
        max: Duration,
    },
    /// Log-normal with the given median and spread, clamped to `min..=max`: most calls near
    /// the median, a long tail of long ones.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// Median talk time.
        #[serde(with = "humantime_serde")]
        median: Duration,
        /// Standard deviation of the log of the talk time (default
        /// [`DEFAULT_LOGNORMAL_SIGMA`]).
        #[serde(default = "default_sigma")]
        sigma: f64,
        /// Shortest talk time (default 0).
        #[serde(default, with = "humantime_serde")]
        min: Duration,
        /// Longest talk time: the tail is capped here.
        #[serde(with = "humantime_serde")]
        max: Duration,
    },
}

fn default_sigma() -> f64 {
    DEFAULT_LOGNORMAL_SIGMA
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
