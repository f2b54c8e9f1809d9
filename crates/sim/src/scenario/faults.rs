//! `[faults]`: random and scheduled failures.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default length of a `hang`: far longer than any sane client timeout.
const DEFAULT_HANG: Duration = Duration::from_secs(3600);

/// Default wait a `rate_limited` fault asks for (its `Retry-After`): a second, the shortest
/// whole-second wait (assumed; like the account limiter's shortest answer).
const DEFAULT_RATE_LIMITED_WAIT: Duration = Duration::from_secs(1);

/// Default Twilio errors drawn for the `outbound_failed` fault (rate limit, internal, unavailable).
const DEFAULT_TWILIO_ERRORS: [u32; 3] = [20429, 20500, 20503];

/// Fault injection settings. Rates are probabilities in `0..=1` per eligible request, drawn
/// from the scenario's seeded RNG; they are tried in a fixed order and their sum should not
/// exceed 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// 500 `server_error` JSON.
    pub server_error: f64,
    /// 502 `provider_error` JSON.
    pub provider_error: f64,
    /// 502 `provider_error`/`outbound_failed` on `POST /v1/calls` only; nothing is created.
    pub outbound_failed: f64,
    /// Twilio error codes `outbound_failed` draws `details.twilio_error` from.
    pub twilio_errors: Vec<u32>,
    /// A proxy's 502 with a `text/html` page.
    pub html_502: f64,
    /// Headers and part of a JSON 500 body, then the connection is aborted.
    pub truncated: f64,
    /// A 500 with a `text/plain` body.
    pub non_json: f64,
    /// Connection reset before the server acted: nothing is created.
    pub reset_before: f64,
    /// The server acts (a call is created and counted), then the connection is reset.
    pub reset_after: f64,
    /// The handler sleeps `hang_duration`, then answers 504.
    pub hang: f64,
    /// The server acts (a call, message or number is created and counted, and stored for
    /// idempotency), then answers a JSON 500 `server_error` instead of its success.
    pub server_error_after: f64,
    /// 429 `rate_limit_exceeded` asking for `rate_limited_wait` (nothing acted): its
    /// `Retry-After` follows `limits.retry_after` (seconds, an HTTP date, or no header).
    pub rate_limited: f64,
    /// The wait a `rate_limited` fault asks for.
    #[serde(with = "humantime_serde")]
    pub rate_limited_wait: Duration,
    /// How long a `hang` lasts.
    #[serde(with = "humantime_serde")]
    pub hang_duration: Duration,
    /// Fixed latency added to every eligible request.
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// Extra latency drawn uniformly from `0..latency_jitter`.
    #[serde(with = "humantime_serde")]
    pub latency_jitter: Duration,
    /// Routes random faults and latency apply to, as `"METHOD /pattern"` (e.g.
    /// `"POST /v1/calls"`, `"GET /v1/calls/{id}"`, or a prefix ending in `*` like `"GET *"`).
    /// Empty means every `/v1` route. `/__sim/*` never gets faults.
    pub routes: Vec<String>,
    /// Time windows with their own fault.
    pub scheduled: Vec<ScheduledFault>,
    /// Faults on the first requests of some routes: the first `count` requests on `routes`
    /// (since start, the last reset or the last [`crate::SimHandle::set_faults`]) get `kind`,
    /// later ones behave. Tried before `scheduled` windows and random rates.
    pub first: Vec<FirstFault>,
    /// Gateway-outage windows: a load balancer in front of the API answers with an HTML
    /// error page, sometimes after the API acted.
    pub outages: Vec<Outage>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            server_error: 0.0,
            provider_error: 0.0,
            outbound_failed: 0.0,
            twilio_errors: DEFAULT_TWILIO_ERRORS.to_vec(),
            html_502: 0.0,
            truncated: 0.0,
            non_json: 0.0,
            reset_before: 0.0,
            reset_after: 0.0,
            hang: 0.0,
            server_error_after: 0.0,
            rate_limited: 0.0,
            rate_limited_wait: DEFAULT_RATE_LIMITED_WAIT,
            hang_duration: DEFAULT_HANG,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            routes: Vec::new(),
            scheduled: Vec::new(),
            first: Vec::new(),
            outages: Vec::new(),
        }
    }
}

/// A fault that applies during `[start, end)` after the simulator started (or was reset).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// Window start, relative to start or last reset.
    #[serde(with = "humantime_serde")]
    pub start: Duration,
    /// Window end (exclusive).
    #[serde(with = "humantime_serde")]
    pub end: Duration,
    /// What happens to an affected request.
    pub kind: FaultKind,
    /// Share of eligible requests affected in the window.
    #[serde(default = "one")]
    pub rate: f64,
    /// Routes affected, as in [`FaultConfig::routes`]; empty means every `/v1` route.
    #[serde(default)]
    pub routes: Vec<String>,
}

/// A fault on the first `count` requests of `routes`, then none: "the first two creates get a
/// 500, then the server behaves", whatever the time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FirstFault {
    /// What happens to an affected request (`outbound_failed` only hits `POST /v1/calls`).
    pub kind: FaultKind,
    /// How many requests are affected (at least 1).
    pub count: u64,
    /// Routes affected, as in [`FaultConfig::routes`]; empty means every `/v1` route.
    #[serde(default)]
    pub routes: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// Status of an outage page unless configured: 502 Bad Gateway.
const DEFAULT_OUTAGE_STATUS: u16 = 502;

fn bad_gateway() -> u16 {
    DEFAULT_OUTAGE_STATUS
}

/// A gateway outage during `[start, end)` after the simulator started (or was reset).
///
/// An affected request is answered by the gateway with an HTML page (`text/html`, not the
/// API's JSON envelope) with status `status`. For a share `acted` of the affected `POST` and
/// `DELETE` requests the API behind the gateway received and executed the request first (a
/// call **was** placed, with its metadata, and is live); only its answer was lost. The other
/// affected requests never reached the API: before authentication, rate limits and quota,
/// nothing acted. Outage windows are decided before anything else; a request outside every
/// window goes on to the other faults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// Window start, relative to start or last reset.
    #[serde(with = "humantime_serde")]
    pub start: Duration,
    /// Window end (exclusive).
    #[serde(with = "humantime_serde")]
    pub end: Duration,
    /// Share of eligible requests that get the page (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// Share of the affected requests that acted before the page was sent (default 0);
    /// only `POST` and `DELETE` requests can act.
    #[serde(default)]
    pub acted: f64,
    /// HTTP status of the page: 502, 503 or 504 (default 502).
    #[serde(default = "bad_gateway")]
    pub status: u16,
    /// Routes affected, as in [`FaultConfig::routes`]; empty means every `/v1` route.
    #[serde(default)]
    pub routes: Vec<String>,
}

/// The kinds of injected failure.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// 500 `server_error`.
    ServerError,
    /// 502 `provider_error`.
    ProviderError,
    /// 502 `outbound_failed` (calls only).
    OutboundFailed,
    /// 502 HTML page.
    Html502,
    /// Truncated JSON body.
    Truncated,
    /// Plain-text 500.
    NonJson,
    /// Reset before acting.
    ResetBefore,
    /// Reset after acting.
    ResetAfter,
    /// Sleep `hang_duration`, then 504.
    Hang,
    /// Act, then answer 500 `server_error`.
    ServerErrorAfter,
    /// 429 `rate_limit_exceeded` asking for `rate_limited_wait`.
    RateLimited,
}

impl FaultKind {
    /// Every kind, in the order random rates are tried.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::ServerError,
        FaultKind::ProviderError,
        FaultKind::OutboundFailed,
        FaultKind::Html502,
        FaultKind::Truncated,
        FaultKind::NonJson,
        FaultKind::ResetBefore,
        FaultKind::ResetAfter,
        FaultKind::Hang,
        FaultKind::ServerErrorAfter,
        FaultKind::RateLimited,
    ];

    /// The snake_case name used in TOML and in stats.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::ServerError => "server_error",
            FaultKind::ProviderError => "provider_error",
            FaultKind::OutboundFailed => "outbound_failed",
            FaultKind::Html502 => "html_502",
            FaultKind::Truncated => "truncated",
            FaultKind::NonJson => "non_json",
            FaultKind::ResetBefore => "reset_before",
            FaultKind::ResetAfter => "reset_after",
            FaultKind::Hang => "hang",
            FaultKind::ServerErrorAfter => "server_error_after",
            FaultKind::RateLimited => "rate_limited",
        }
    }
}

impl FaultConfig {
    /// The configured random rate of one kind.
    pub fn rate(&self, kind: FaultKind) -> f64 {
        match kind {
            FaultKind::ServerError => self.server_error,
            FaultKind::ProviderError => self.provider_error,
            FaultKind::OutboundFailed => self.outbound_failed,
            FaultKind::Html502 => self.html_502,
            FaultKind::Truncated => self.truncated,
            FaultKind::NonJson => self.non_json,
            FaultKind::ResetBefore => self.reset_before,
            FaultKind::ResetAfter => self.reset_after,
            FaultKind::Hang => self.hang,
            FaultKind::ServerErrorAfter => self.server_error_after,
            FaultKind::RateLimited => self.rate_limited,
        }
    }
}
