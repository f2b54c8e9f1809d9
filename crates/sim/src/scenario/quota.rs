//! `[quota]`: a call quota per fixed window, like an account's daily allowance.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default quota window: a day.
const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A quota of calls placed per window.
///
/// Windows are fixed and back to back from the simulator's start (or last reset):
/// `[0, window)`, `[window, 2*window)`, … Every call placed (a `POST /v1/calls` that created
/// a call, including ones whose answer was then lost to a reset or an outage page) uses one
/// unit. Once `calls` calls were placed in the current window, **every** authenticated `/v1`
/// request of the account is answered 429 `rate_limit_exceeded` with a `Retry-After` of the
/// time left in the window, until the window ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Calls allowed per window; 0 = no quota.
    pub calls: u64,
    /// Length of a quota window.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            calls: 0,
            window: DEFAULT_WINDOW,
        }
    }
}
