//! Request pacing: when may the next request go.
//!
//! Why pace at all, rather than send and retry on 429: every 429 costs a round trip, and a
//! fleet of retrying dialers answers a 429 storm with a retry storm. Pacing below the account
//! rate keeps the server from having to say no; the adaptive rate and Retry-After pauses react
//! when it says no anyway.
//!
//! [`Pacer`] is the seam: [`InProcessPacer`] paces one process; a Redis backend for fleets of
//! dialers implements the same trait. The transport holds an `Arc<dyn Pacer>`.

mod bucket;
mod in_process;
mod pause;

use std::time::Duration;

use futures::future::BoxFuture;
use redial_policy::Method;
use redial_policy::config::PacingConfig;
use tokio::time::Instant;

pub use in_process::InProcessPacer;

/// The route patterns of a bucket; a malformed one is logged and skipped (config validation
/// rejects them; a hand-built config may not). Shared by every pacer backend.
pub(crate) fn bucket_routes(
    bucket: &redial_policy::config::BucketConfig,
) -> Vec<redial_policy::RoutePattern> {
    bucket
        .routes
        .iter()
        .filter_map(|r| match redial_policy::RoutePattern::parse(r) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(bucket = %bucket.name, route = %r, error = %e, "ignoring malformed bucket route");
                None
            }
        })
        .collect()
}
pub use pause::PROBE_TIMEOUT;

/// Decides when a request may go, per method and path.
pub trait Pacer: Send + Sync + std::fmt::Debug {
    /// Waits until a request `method path` may be sent. Every request counts against the
    /// account bucket and against the first other bucket whose routes match.
    ///
    /// Cancellation-safe: dropping the future while it waits takes nothing from a bucket it
    /// is still waiting on. Waiters of a bucket are served first come, first served.
    /// When the request may go at once, an implementation may take the cells when `acquire`
    /// is called and return a future that is already complete (the in-process pacer does, to
    /// avoid an allocation on the hot path).
    fn acquire<'a>(&'a self, method: Method, path: &'a str) -> BoxFuture<'a, ()>;

    /// The server throttled `method path` (`rate_limit_exceeded`, Twilio 20429): lower the
    /// rate of the buckets that paced it (adaptive), and, when the server sent a Retry-After,
    /// pause the whole account (every bucket) until `retry_after` from now, for its full
    /// length. A pause is never shortened by a later, shorter Retry-After. Nothing is let
    /// through during a pause; at its end one request (the probe) goes first and the rest
    /// wait for its answer (any `on_*` report) or [`PROBE_TIMEOUT`], then go as the buckets
    /// allow.
    fn on_throttle(&self, method: Method, path: &str, retry_after: Option<Duration>);

    /// A request `method path` succeeded: lets an adaptive rate climb back; ends a probe.
    fn on_success(&self, method: Method, path: &str);

    /// A request `method path` got an answer that was neither a success nor a throttle (an
    /// error answer, or none at all): ends a post-pause probe. Default: nothing.
    fn on_answer(&self, method: Method, path: &str) {
        let _ = (method, path);
    }

    /// Until when the account is paused, if it is. Default: the latest pause of any bucket
    /// in [`Pacer::snapshot`].
    fn paused_until(&self) -> Option<Instant> {
        self.snapshot()
            .into_iter()
            .filter_map(|b| b.paused_until)
            .max()
    }

    /// Completes at the next change of the account pause (a pause starts or grows), so a
    /// waiter can decide whether to keep waiting. Registered when called. Default: never.
    fn pause_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(futures::future::pending())
    }

    /// Applies a new `[pacing]` config. Buckets keep their state (adaptive rate, pause,
    /// waiters) when their name stays; a rate above the new ceiling is lowered to it.
    fn reconfigure(&self, config: &PacingConfig);

    /// The state of every bucket, in config order.
    fn snapshot(&self) -> Vec<BucketSnapshot>;
}

/// The state of one bucket at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BucketSnapshot {
    /// Bucket name (the `bucket` metric label).
    pub name: String,
    /// Current rate, requests per second (below the ceiling after a throttle).
    pub rate: f64,
    /// Configured ceiling, requests per second.
    pub ceiling: f64,
    /// Configured burst.
    pub burst: u32,
    /// Until when a Retry-After pauses the bucket (every bucket: pauses are account-wide), if
    /// it is paused.
    pub paused_until: Option<Instant>,
    /// Requests waiting for this bucket.
    pub waiters: usize,
}
