//! Configuration of the limiter: request pacing, adaptive rate, call slots, circuit breaker
//! and retry budget.
//!
//! These are plain data: `redial-limiter` reads them. They live here so that one TOML file,
//! validated in one place, configures the whole runtime.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default account-wide request ceiling, requests per second. **Assumed**: the Nixflex API
/// does not document its rate; operators state the real value (`redial campaign --rate`, or
/// the `account` bucket's `rate`). It is the only request cap by default: no route has a
/// bucket of its own unless one is configured, so nothing paces a route below the account.
pub const DEFAULT_ACCOUNT_RATE_PER_SECOND: f64 = 20.0;
/// Default account bucket burst (requests that may go back to back after an idle period).
/// **Assumed**.
pub const DEFAULT_ACCOUNT_BURST: u32 = 10;
/// Default number of concurrent live calls the account allows. **Assumed**.
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 10;

/// `[pacing]`: GCRA token buckets matched by method and route, and their adaptive rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// Buckets in match order; the first whose `routes` match a request paces it, and the
    /// bucket named `account` (or the last bucket) paces every request as well. The default
    /// is the `account` bucket alone: per-route buckets exist only when configured.
    pub buckets: Vec<BucketConfig>,
    /// Adaptive rate (CUBIC) applied to a bucket on a `throttle` decision.
    pub adaptive: AdaptiveConfig,
    /// Longest one request waits out an account pause (a throttle's Retry-After). A request
    /// that meets a pause with more left than this ends unsent with `Error::Paused`
    /// (re-dialable). Unset: `retry.max_retry_after`. Read it with [`super::Config::max_pause`].
    #[serde(with = "humantime_serde")]
    pub max_pause: Option<Duration>,
    /// How many requests this process has on the wire at once.
    pub in_flight: InFlightConfig,
}

impl Default for PacingConfig {
    fn default() -> Self {
        Self {
            // One bucket: the account's stated rate is the only cap. A route bucket at an
            // unmeasured rate (the old `calls` bucket at 5/s) would cap creates below what the
            // user asked for; the adaptive rate finds a lower limit on 429 instead.
            buckets: vec![BucketConfig {
                name: ACCOUNT_BUCKET.to_owned(),
                routes: vec!["*".to_owned()],
                rate: DEFAULT_ACCOUNT_RATE_PER_SECOND,
                burst: DEFAULT_ACCOUNT_BURST,
            }],
            adaptive: AdaptiveConfig::default(),
            max_pause: None,
            in_flight: InFlightConfig::default(),
        }
    }
}

/// Name of the account-wide bucket that every request draws from.
pub const ACCOUNT_BUCKET: &str = "account";

/// `[[pacing.buckets]]`: one GCRA bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Bucket name, used in metrics labels (`bucket`).
    pub name: String,
    /// Route patterns this bucket paces: `"METHOD /path"` with `{param}` segments, `"METHOD *"`,
    /// or `"*"` for every request.
    #[serde(default)]
    pub routes: Vec<String>,
    /// Ceiling, requests per second (> 0).
    pub rate: f64,
    /// Burst size (>= 1).
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_burst() -> u32 {
    1
}

/// `[pacing.adaptive]`: CUBIC rate control as in the AWS SDKs' adaptive retry mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveConfig {
    /// Whether a throttle lowers the bucket's rate (otherwise only Retry-After pauses it).
    pub enabled: bool,
    /// Multiplicative decrease applied to the measured send rate on a throttle (0 < beta < 1).
    pub beta: f64,
    /// CUBIC scale constant `C` (> 0).
    pub scale: f64,
    /// Smoothing of the measured send rate (0 < smooth <= 1).
    pub smooth: f64,
    /// Floor of the adaptive rate, requests per second (> 0).
    pub min_rate: f64,
}

/// CUBIC decrease factor; source: AWS SDKs' adaptive retry mode (`BETA = 0.7`).
pub const CUBIC_BETA: f64 = 0.7;
/// CUBIC scale constant; source: AWS SDKs' adaptive retry mode (`SCALE_CONSTANT = 0.4`).
pub const CUBIC_SCALE: f64 = 0.4;
/// Send-rate smoothing; source: AWS SDKs' adaptive retry mode (`SMOOTH = 0.8`).
pub const RATE_SMOOTHING: f64 = 0.8;
/// Lowest adaptive rate, requests per second; source: AWS SDKs' `MIN_FILL_RATE = 0.5`.
pub const MIN_ADAPTIVE_RATE: f64 = 0.5;

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            beta: CUBIC_BETA,
            scale: CUBIC_SCALE,
            smooth: RATE_SMOOTHING,
            min_rate: MIN_ADAPTIVE_RATE,
        }
    }
}

/// `[pacing.in_flight]`: requests on the wire at once, limited from their latency.
///
/// No ceiling by default: the limit starts at `min` and climbs while answers come back as fast
/// as their route's best recent time, and falls back while they come back slower than
/// `tolerance` times that (requests queueing at the server, where more of them add latency and
/// memory, not throughput). The account's limits stay the rate and the call slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InFlightConfig {
    /// Whether the limit follows latency. Off: the limit is `max` (0: no limit at all).
    pub adaptive: bool,
    /// Floor of the adaptive limit and where it starts (>= 1): this many requests may always
    /// be on the wire at once.
    pub min: u32,
    /// Hard ceiling (0, the default: none).
    pub max: u32,
    /// An answer slower than `tolerance` times its route's best time in the last minute counts
    /// as queued (> 1).
    pub tolerance: f64,
}

/// Requests always allowed on the wire at once. Not an account limit: the latency-driven
/// limit only ever rises from here, and 64 keeps a server busy at any rate a dialer reaches
/// unless each request takes over 64 / rate seconds (0.64 s at 100 req/s), which the limit
/// then climbs past.
pub const DEFAULT_IN_FLIGHT_MIN: u32 = 64;
/// Latency over a route's best that counts as queueing: twice the best, as Netflix's
/// `Gradient2Limit` tolerates (`rttTolerance = 2.0`), so ordinary jitter never lowers the limit.
pub const DEFAULT_IN_FLIGHT_TOLERANCE: f64 = 2.0;

impl Default for InFlightConfig {
    fn default() -> Self {
        Self {
            adaptive: true,
            min: DEFAULT_IN_FLIGHT_MIN,
            max: 0,
            tolerance: DEFAULT_IN_FLIGHT_TOLERANCE,
        }
    }
}

/// `[slots]`: the gate of concurrent calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlotsConfig {
    /// Most calls live at once (>= 1).
    pub max_concurrent_calls: u32,
    /// Successful call creations, after a `concurrent_call_limit`, before the limit climbs by
    /// one (additive increase; >= 1).
    pub increase_after: u32,
    /// Longest a create waits for a call slot in all before it ends unsent with
    /// `Error::SlotWait` (re-dialable). Unset (the default): it waits as long as it takes.
    #[serde(with = "humantime_serde")]
    pub max_wait: Option<Duration>,
}

/// Successful creates before the slot limit climbs by one after a shrink.
pub const DEFAULT_SLOT_INCREASE_AFTER: u32 = 5;

impl Default for SlotsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            increase_after: DEFAULT_SLOT_INCREASE_AFTER,
            max_wait: None,
        }
    }
}

/// `[breaker]`: a circuit breaker per endpoint group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Whether the breaker is active.
    pub enabled: bool,
    /// Share of retryable failures over the sampling window that opens the circuit (0..=1).
    pub failure_ratio: f64,
    /// Sliding window over which the failure ratio is measured.
    #[serde(with = "humantime_serde")]
    pub sampling_window: Duration,
    /// Fewest requests in the window before the ratio may open the circuit (>= 1).
    pub min_throughput: u32,
    /// Consecutive retryable failures that open the circuit regardless of the ratio
    /// (0 disables this trigger).
    pub consecutive_failures: u32,
    /// How long the circuit stays open before half-open probes.
    #[serde(with = "humantime_serde")]
    pub break_duration: Duration,
    /// Probes let through while half-open (>= 1).
    pub half_open_probes: u32,
}

/// Failure ratio that opens the circuit; source: Polly v8 `FailureRatio = 0.1` is aggressive
/// for an API that sheds load by design, so we use Resilience4j's `failureRateThreshold = 50%`.
pub const DEFAULT_BREAKER_FAILURE_RATIO: f64 = 0.5;
/// Sampling window; source: Polly v8 `SamplingDuration = 30s`.
pub const DEFAULT_BREAKER_SAMPLING_WINDOW: Duration = Duration::from_secs(30);
/// Minimum throughput; source: Polly v8 `MinimumThroughput = 100` scaled down to a dialer's
/// request volume; Resilience4j's `minimumNumberOfCalls = 100`. We use 20.
pub const DEFAULT_BREAKER_MIN_THROUGHPUT: u32 = 20;
/// Consecutive failures that open the circuit (Resilience4j-style count trigger).
pub const DEFAULT_BREAKER_CONSECUTIVE_FAILURES: u32 = 10;
/// Break duration; source: Polly v8 `BreakDuration = 5s`.
pub const DEFAULT_BREAKER_BREAK_DURATION: Duration = Duration::from_secs(5);
/// Half-open probes; source: Polly v8 lets one probe through.
pub const DEFAULT_BREAKER_HALF_OPEN_PROBES: u32 = 1;

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_ratio: DEFAULT_BREAKER_FAILURE_RATIO,
            sampling_window: DEFAULT_BREAKER_SAMPLING_WINDOW,
            min_throughput: DEFAULT_BREAKER_MIN_THROUGHPUT,
            consecutive_failures: DEFAULT_BREAKER_CONSECUTIVE_FAILURES,
            break_duration: DEFAULT_BREAKER_BREAK_DURATION,
            half_open_probes: DEFAULT_BREAKER_HALF_OPEN_PROBES,
        }
    }
}

/// `[budget]`: the retry budget (Finagle `RetryBudget`, tower `TpsBudget`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Whether retries are bounded by the budget.
    pub enabled: bool,
    /// Share of the request rate that retries may add (0..=1000).
    pub ratio: f64,
    /// Retries per second always allowed, even with no recent requests.
    pub min_per_second: u32,
    /// Sliding window over which requests are counted (1s..=60s).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Budget units a retry after an error answer costs.
    pub retry_cost: f64,
    /// Budget units a retry after a timeout costs (timeouts cost more: the AWS SDKs charge
    /// 10 for a timeout against 5 for an error).
    pub timeout_cost: f64,
}

/// Retry ratio; source: Finagle `RetryBudget` default `percentCanRetry = 0.2`.
pub const DEFAULT_BUDGET_RATIO: f64 = 0.2;
/// Retries always allowed per second; source: Finagle `minRetriesPerSec = 10`.
pub const DEFAULT_BUDGET_MIN_PER_SECOND: u32 = 10;
/// Budget window; source: Finagle `ttl = 10s`.
pub const DEFAULT_BUDGET_WINDOW: Duration = Duration::from_secs(10);
/// Cost of a retry after an error answer, in budget units.
pub const DEFAULT_RETRY_COST: f64 = 1.0;
/// Cost of a retry after a timeout; twice an error's, as the AWS SDKs' 10 vs 5.
pub const DEFAULT_TIMEOUT_COST: f64 = 2.0;

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ratio: DEFAULT_BUDGET_RATIO,
            min_per_second: DEFAULT_BUDGET_MIN_PER_SECOND,
            window: DEFAULT_BUDGET_WINDOW,
            retry_cost: DEFAULT_RETRY_COST,
            timeout_cost: DEFAULT_TIMEOUT_COST,
        }
    }
}

/// `[support]`: when a `provider_error` is reported to Nixflex support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportConfig {
    /// Sliding window over which `provider_error` answers are counted per operation, across
    /// requests.
    #[serde(with = "humantime_serde")]
    pub provider_window: Duration,
    /// `provider_error` answers of one operation within the window that make a support
    /// report (>= 1).
    pub provider_repeats: u32,
}

/// Window of repeated provider errors. **Assumed**: the contract says "a provider_error that
/// repeats for the same operation" without a period; ten minutes groups one upstream incident.
pub const DEFAULT_PROVIDER_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Provider errors in the window that make a report: a repeat is the second one.
pub const DEFAULT_PROVIDER_REPEATS: u32 = 2;

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            provider_window: DEFAULT_PROVIDER_WINDOW,
            provider_repeats: DEFAULT_PROVIDER_REPEATS,
        }
    }
}
