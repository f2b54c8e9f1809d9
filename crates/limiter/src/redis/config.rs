//! [`FleetConfig`] and the [`OnRedisError`] policy.

use std::time::Duration;

/// Default Redis URL: a local server (assumed; fleets pass their own).
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";
/// Default namespace, the hash tag of every key (`redial:{default}:...`) when `--redis` is
/// given without `--campaign` (assumed).
pub const DEFAULT_NAMESPACE: &str = "default";
/// Default call-slot lease, seconds: a SIGKILLed process's slots come back within this
/// (assumed: long enough that a renewal every third of it survives a few lost round trips).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Default life of a probe token, seconds: how long the fleet waits for the first request after
/// a pause to answer before letting another probe go (assumed: a create's round trip is ~1 s).
pub const DEFAULT_PROBE_TTL: Duration = Duration::from_secs(5);
/// Default age after which the halts cache is re-read, seconds (assumed). The pacer's script
/// also reports a version on every acquire, so a halt is usually seen before the next send.
pub const DEFAULT_HALTS_REFRESH: Duration = Duration::from_secs(1);
/// Default time a Redis command may take before it counts as an error, milliseconds (the redis
/// crate's own default, 500 ms).
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default time a connection attempt may take, seconds (the redis crate's default, 1 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default idle life of a bucket's state in Redis, seconds (assumed: an hour without a request
/// forgets an adaptive rate, which is relearned; a pause keeps its key at least until it ends).
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(3600);

/// What a send does while Redis cannot be reached (`on_redis_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnRedisError {
    /// Hold sends until Redis answers again, retrying with backoff (the default): the fleet's
    /// limits are never exceeded, at the cost of stopping while Redis is away. Reads (`GET`,
    /// the status polls of live calls, which is how slots come back) go on, paced in-process
    /// at the configured rates.
    #[default]
    Wait,
    /// Go on alone at `1/share` of the configured limits (rates, bursts and call slots), with
    /// an in-process pacer and gate, until Redis answers again. `share` is the number of
    /// processes in the fleet (0 is taken as 1).
    Local {
        /// Processes in the fleet: each takes this share of the limits while alone.
        share: u32,
    },
}

/// How to reach Redis and how the fleet's state behaves there.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetConfig {
    /// Redis URL, e.g. `redis://10.0.0.5:6379/` (`--redis`).
    pub url: String,
    /// Namespace of every key, used as the Redis Cluster hash tag: `redial:{namespace}:...`
    /// (`--campaign`, or [`DEFAULT_NAMESPACE`] for limits shared by several campaigns).
    /// Must be non-empty and must not contain `{` or `}`.
    pub namespace: String,
    /// What a send does while Redis cannot be reached.
    pub on_redis_error: OnRedisError,
    /// Life of a call-slot lease without renewal; renewed every third of it.
    pub lease: Duration,
    /// Life of a probe token after a pause (see [`DEFAULT_PROBE_TTL`]).
    pub probe_ttl: Duration,
    /// Age after which the halts cache is re-read.
    pub halts_refresh: Duration,
    /// Time a Redis command may take before it counts as an error.
    pub response_timeout: Duration,
    /// Time a connection attempt may take.
    pub connect_timeout: Duration,
    /// Idle life of a bucket's state in Redis.
    pub state_ttl: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_REDIS_URL.to_owned(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            on_redis_error: OnRedisError::Wait,
            lease: DEFAULT_LEASE,
            probe_ttl: DEFAULT_PROBE_TTL,
            halts_refresh: DEFAULT_HALTS_REFRESH,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            state_ttl: DEFAULT_STATE_TTL,
        }
    }
}

impl FleetConfig {
    /// The default config for `url` and `namespace`.
    ///
    /// ```
    /// use redial_limiter::redis::{FleetConfig, OnRedisError};
    ///
    /// let cfg = FleetConfig::new("redis://127.0.0.1:6379/", "spring-renewals");
    /// assert_eq!(cfg.on_redis_error, OnRedisError::Wait);
    /// ```
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            namespace: namespace.into(),
            ..Self::default()
        }
    }
}

/// Why a fleet backend could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The namespace is empty or holds `{` or `}` (it becomes the keys' hash tag).
    #[error("invalid fleet namespace {namespace:?}: must be non-empty, without '{{' or '}}'")]
    InvalidNamespace {
        /// The namespace given.
        namespace: String,
    },
    /// The Redis URL could not be parsed.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(#[source] ::redis::RedisError),
    /// A config value is out of range.
    #[error("invalid fleet config: {0}")]
    InvalidConfig(&'static str),
    /// Built outside a tokio runtime (the backend runs background tasks).
    #[error("the Redis fleet backend must be built inside a tokio runtime")]
    NoRuntime,
    /// Redis answered with an error or could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}
