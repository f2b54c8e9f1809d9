//! `[retry]`, `[backoff.*]`, `[types.*]`, `[codes.*]`, `[routes.*]` and `[twilio]`: what the
//! policy does with each failure.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::Jitter;

/// Default attempts per logical request, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default total deadline of one logical request, retries and waits included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
/// Default timeout of one attempt (connect, send and read the response).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest Retry-After a `retry` decision sleeps for (a longer one gives up with a clear
/// reason), and the default of `pacing.max_pause`, the longest one request waits out an
/// account pause.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long a create that ended ambiguous waits before listing the account's calls a second
/// time, when the first list did not show it. **Assumed**: the API documents no consistency
/// window for `GET /v1/calls`; a store that lists what it just wrote, or a replica a few
/// hundred milliseconds behind, shows the call well within 10 s.
pub const DEFAULT_RECONCILE_SETTLE: Duration = Duration::from_secs(10);

/// `[retry]`: limits of the retry loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per logical request, the first included (1..=100).
    pub max_attempts: u32,
    /// Total deadline of one logical request.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// Timeout of one attempt.
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// Longest Retry-After honoured by sleeping; longer gives up.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Whether the server is known to honour `Idempotency-Key`. Only then is a non-idempotent
    /// request retried after a failure where the server may have acted.
    pub idempotency: Idempotency,
    /// Whether a create that ended ambiguous while keys are not honoured is reconciled: the
    /// runtime lists the account's calls, adopts the call if it exists, and sends again under
    /// the same key once two lists, `reconcile_settle` apart, prove it does not.
    pub reconcile: bool,
    /// Wait between the two lists of a reconciliation.
    #[serde(with = "humantime_serde")]
    pub reconcile_settle: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            deadline: DEFAULT_DEADLINE,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            idempotency: Idempotency::Ignored,
            reconcile: true,
            reconcile_settle: DEFAULT_RECONCILE_SETTLE,
        }
    }
}

/// Whether the server honours the `Idempotency-Key` header (**assumed** by the contract to be
/// unknown, so the default is the safe `ignored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    /// The server returns the first result for a repeated key and creates nothing.
    Honoured,
    /// The server may ignore the key: a retry could act twice.
    #[default]
    Ignored,
}

/// `[backoff]`: one schedule for transient retries and one for throttles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackoffConfig {
    /// Schedule after a `retry` decision (server errors, timeouts, resets).
    pub retry: ScheduleConfig,
    /// Schedule after a `throttle` or `wait_slot` decision (429s). Keys left out of
    /// `[backoff.throttle]` keep the throttle defaults (`base` 1 s), not the retry schedule's.
    #[serde(deserialize_with = "throttle_schedule")]
    pub throttle: ScheduleConfig,
}

/// `[backoff.throttle]` as written: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialSchedule {
    jitter: Option<Jitter>,
    #[serde(default, with = "humantime_serde")]
    base: Option<Duration>,
    multiplier: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    cap: Option<Duration>,
}

/// Reads `[backoff.throttle]`, filling the keys left out from the throttle defaults.
fn throttle_schedule<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ScheduleConfig, D::Error> {
    let written = PartialSchedule::deserialize(deserializer)?;
    let default = BackoffConfig::default().throttle;
    Ok(ScheduleConfig {
        jitter: written.jitter.unwrap_or(default.jitter),
        base: written.base.unwrap_or(default.base),
        multiplier: written.multiplier.unwrap_or(default.multiplier),
        cap: written.cap.unwrap_or(default.cap),
    })
}

/// Base delay of transient retries; the AWS SDKs' standard mode uses about 100 ms... (their
/// `INITIAL_BACKOFF`, 50 ms in newer SDKs; we keep 100 ms for a rate-limited API).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(100);
/// Base delay after a throttle; the AWS SDKs' current behaviour starts throttles at 1 s.
pub const DEFAULT_THROTTLE_BASE: Duration = Duration::from_secs(1);
/// Growth factor of the exponential schedules.
pub const DEFAULT_MULTIPLIER: f64 = 2.0;
/// Cap of a single delay; the AWS SDKs' `MAX_BACKOFF` is 20 s.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(20);

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            retry: ScheduleConfig {
                base: DEFAULT_RETRY_BASE,
                ..ScheduleConfig::default()
            },
            throttle: ScheduleConfig {
                base: DEFAULT_THROTTLE_BASE,
                ..ScheduleConfig::default()
            },
        }
    }
}

/// `[backoff.retry]` / `[backoff.throttle]`: one backoff schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Jitter: `full` (default), `equal`, `decorrelated` or `none`.
    pub jitter: Jitter,
    /// First delay (before jitter).
    #[serde(with = "humantime_serde")]
    pub base: Duration,
    /// Growth per retry (>= 1).
    pub multiplier: f64,
    /// Largest single delay (>= base).
    #[serde(with = "humantime_serde")]
    pub cap: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            jitter: Jitter::Full,
            base: DEFAULT_RETRY_BASE,
            multiplier: DEFAULT_MULTIPLIER,
            cap: DEFAULT_BACKOFF_CAP,
        }
    }
}

/// The action a rule assigns, as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    /// Back off and try again.
    Retry,
    /// Slow the bucket down, honour Retry-After, try again.
    Throttle,
    /// Wait for a call slot, try again.
    WaitSlot,
    /// Give up on this item.
    Fatal,
    /// Stop every request of a scope.
    Halt,
}

/// The scope a `halt` rule stops, as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    /// Every request of the account.
    Account,
    /// Every request naming the agent of the failed request.
    Agent,
    /// Every request using the sender (from_number or Twilio account) of the failed request.
    Sender,
}

/// `[types.<type>]` / `[codes.<code>]`: what to do with one error type or code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    /// The action; absent keeps the default for this type or code.
    pub action: Option<ActionName>,
    /// The halt scope (only with `action = "halt"`).
    pub scope: Option<ScopeName>,
    /// At most this many attempts when the latest failure matched this rule (1..=100).
    pub max_attempts: Option<u32>,
}

/// `[routes."METHOD /path"]`: limits for one route pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteConfig {
    /// Attempts per logical request on this route.
    pub max_attempts: Option<u32>,
    /// Total deadline on this route.
    #[serde(with = "humantime_serde")]
    pub deadline: Option<Duration>,
    /// Timeout of one attempt on this route.
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Option<Duration>,
}

/// `[twilio]`: what an `outbound_failed` does, by `details.twilio_error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    /// Twilio codes that mean the number itself is bad: give up on the item.
    pub fatal: Vec<u32>,
    /// Twilio codes that mean the recipient opted out: give up and mark opted-out.
    pub opted_out: Vec<u32>,
    /// Twilio throttling codes: throttle (slow the account down, like a 429).
    pub throttle: Vec<u32>,
    /// Twilio server-side codes: retry.
    pub retry: Vec<u32>,
    /// Twilio codes that mean our Twilio credentials are rejected: halt the sender.
    pub halt_sender: Vec<u32>,
    /// What any other (or a missing) Twilio code does.
    pub default: ActionName,
}

/// Twilio codes for a bad destination; source: Twilio error dictionary — 21211 invalid 'To'
/// number, 21214 'To' number cannot be reached, 21215 geo permissions do not allow the
/// number, 21216 account not allowed to call the number, 21217 number does not appear valid.
pub const TWILIO_FATAL_CODES: [u32; 5] = [21211, 21214, 21215, 21216, 21217];
/// Twilio 21610: the recipient replied STOP (unsubscribed).
pub const TWILIO_OPTED_OUT_CODES: [u32; 1] = [21610];
/// Twilio 20429 too many requests: a rate limit, so the account slows down (throttle).
pub const TWILIO_THROTTLE_CODES: [u32; 1] = [20429];
/// Twilio 20500 internal error, 20503 service unavailable.
pub const TWILIO_RETRY_CODES: [u32; 2] = [20500, 20503];
/// Twilio 20003: authentication failed (permission denied).
pub const TWILIO_HALT_CODES: [u32; 1] = [20003];

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            fatal: TWILIO_FATAL_CODES.to_vec(),
            opted_out: TWILIO_OPTED_OUT_CODES.to_vec(),
            throttle: TWILIO_THROTTLE_CODES.to_vec(),
            retry: TWILIO_RETRY_CODES.to_vec(),
            halt_sender: TWILIO_HALT_CODES.to_vec(),
            default: ActionName::Fatal,
        }
    }
}

/// `[polling]`: how `wait_until_done` polls a call's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollingConfig {
    /// First wait before polling a new call.
    #[serde(with = "humantime_serde")]
    pub initial: Duration,
    /// Longest wait between two polls.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// Growth of the wait per poll (>= 1).
    pub multiplier: f64,
    /// Longest `wait_until_done` polls one call, counted from the call's creation, before it
    /// gives up with a timeout (a call that never reaches a terminal status must not be
    /// polled forever; calling `wait_until_done` again does not restart the count).
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
}

impl Default for PollingConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
            multiplier: 1.5,
            max_wait: Duration::from_secs(60 * 60),
        }
    }
}

/// Per-type rules keyed by type name.
pub type TypeRules = BTreeMap<String, RuleConfig>;
/// Per-code rules keyed by code name.
pub type CodeRules = BTreeMap<String, RuleConfig>;
/// Per-route limits keyed by `"METHOD /path"`.
pub type RouteRules = BTreeMap<String, RouteConfig>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    /// Hostile-input finding (issue 15, tests/fuzz_config.rs): a `[backoff.throttle]` table
    /// with only `cap` (or any one key) took the retry schedule's `base` of 100 ms instead of
    /// the documented 1 s, so throttles backed off ten times faster than configured.
    #[test]
    fn a_partial_throttle_table_keeps_the_throttle_base() {
        let c = Config::from_toml_str("[backoff.throttle]\ncap = \"30s\"").unwrap();
        assert_eq!(c.backoff.throttle.base, DEFAULT_THROTTLE_BASE);
        assert_eq!(c.backoff.throttle.cap, Duration::from_secs(30));
        assert_eq!(c.backoff.throttle.multiplier, DEFAULT_MULTIPLIER);
        let e = Config::from_toml_str("[backoff.throttle]\ncap = \"500ms\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("backoff.throttle.cap") && e.contains("base"),
            "{e}"
        );
        let e = Config::from_toml_str("[backoff.throttle]\nbase = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("backoff.throttle.base"), "{e}");
        let e = Config::from_toml_str("[backoff.throttle]\nbse = \"1s\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("backoff.throttle.bse") && e.contains("multiplier"),
            "{e}"
        );
        assert_eq!(
            Config::from_toml_str("[backoff.throttle]").unwrap().backoff,
            BackoffConfig::default()
        );
    }
}
