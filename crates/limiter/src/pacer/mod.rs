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

use std::time::Duration;

use futures::future::BoxFuture;
use redial_policy::Method;
use redial_policy::config::PacingConfig;
use tokio::time::Instant;

pub use in_process::InProcessPacer;

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

    /// The server answered `rate_limit_exceeded` for `method path`: lower the rate of the
    /// buckets that paced it (adaptive), and pause them until `retry_after` from now when the
    /// server sent one. A pause is never shortened by a later, shorter Retry-After.
    fn on_throttle(&self, method: Method, path: &str, retry_after: Option<Duration>);

    /// A request `method path` succeeded: lets an adaptive rate climb back.
    fn on_success(&self, method: Method, path: &str);

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
    /// Until when a Retry-After pauses the bucket, if it is paused.
    pub paused_until: Option<Instant>,
    /// Requests waiting for this bucket.
    pub waiters: usize,
}
