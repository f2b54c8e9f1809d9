//! `[limits]`: the account's request rate and concurrent-call limits.

use serde::{Deserialize, Serialize};

/// Account-wide limits, enforced on every `/v1` request after authentication.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sustained request rate of the account GCRA, per second; 0 means unlimited.
    pub requests_per_second: f64,
    /// Requests that may arrive at once on an idle account; 0 is treated as 1.
    pub burst: u32,
    /// Live calls allowed at once; 0 means unlimited.
    pub max_concurrent_calls: u32,
    /// How a `rate_limit_exceeded` 429 states its `Retry-After`.
    pub retry_after: RetryAfterFormat,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 0.0,
            burst: 1,
            max_concurrent_calls: 0,
            retry_after: RetryAfterFormat::Seconds,
        }
    }
}

/// Form of the `Retry-After` header on `rate_limit_exceeded`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfterFormat {
    /// Whole seconds: the GCRA wait rounded up, at least 1.
    Seconds,
    /// An HTTP date (RFC 9110 IMF-fixdate) that far in the future.
    HttpDate,
    /// No header at all.
    None,
}
