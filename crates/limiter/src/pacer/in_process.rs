//! [`InProcessPacer`]: the buckets of one process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::future::BoxFuture;
use redial_policy::config::{ACCOUNT_BUCKET, PacingConfig};
use redial_policy::{Method, RoutePattern};

use super::bucket::Bucket;
use super::pause::PauseGate;
use super::{BucketSnapshot, Pacer};

/// Paces requests of one process with GCRA buckets (governor) on tokio's clock.
///
/// ```
/// use redial_limiter::{InProcessPacer, Pacer};
/// use redial_policy::{Method, config::PacingConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let pacer = InProcessPacer::new(&PacingConfig::default());
/// pacer.acquire(Method::Post, "/v1/calls").await; // within the burst: no wait
/// assert_eq!(pacer.snapshot().len(), 1); // the account bucket alone, by default
/// # });
/// ```
#[derive(Debug)]
pub struct InProcessPacer {
    table: ArcSwap<Table>,
    /// The account pause and its probe: holds every bucket.
    gate: PauseGate,
}

/// The buckets in match order and which one is the account bucket.
#[derive(Debug)]
struct Table {
    buckets: Vec<(Vec<RoutePattern>, Arc<Bucket>)>,
    account: Option<usize>,
}

impl Table {
    fn build(config: &PacingConfig, previous: Option<&Table>) -> Self {
        let buckets: Vec<_> = config
            .buckets
            .iter()
            .map(|b| {
                let routes = crate::pacer::bucket_routes(b);
                let existing =
                    previous.and_then(|t| t.buckets.iter().find(|(_, x)| x.name() == b.name));
                let bucket = match existing {
                    Some((_, x)) => {
                        x.reconfigure(b, &config.adaptive);
                        Arc::clone(x)
                    }
                    None => Arc::new(Bucket::new(b, &config.adaptive)),
                };
                (routes, bucket)
            })
            .collect();
        let account = buckets
            .iter()
            .position(|(_, b)| b.name() == ACCOUNT_BUCKET)
            .or_else(|| buckets.len().checked_sub(1));
        Self { buckets, account }
    }

    /// The first matching non-account bucket and the account bucket.
    fn route(&self, method: Method, path: &str) -> (Option<&Arc<Bucket>>, Option<&Arc<Bucket>>) {
        let own = self
            .buckets
            .iter()
            .enumerate()
            .find(|(i, (routes, _))| {
                Some(*i) != self.account && routes.iter().any(|r| r.matches(method, path))
            })
            .map(|(_, (_, b))| b);
        let account = self.account.map(|i| &self.buckets[i].1);
        (own, account)
    }
}

impl InProcessPacer {
    /// Builds the buckets of `config`. Malformed route patterns (which config validation
    /// rejects) are skipped with a warning. With no buckets, nothing is paced.
    pub fn new(config: &PacingConfig) -> Self {
        Self {
            table: ArcSwap::from_pointee(Table::build(config, None)),
            gate: PauseGate::default(),
        }
    }

    fn each(&self, method: Method, path: &str, f: impl Fn(&Bucket)) {
        let table = self.table.load();
        let (own, account) = table.route(method, path);
        own.into_iter().chain(account).for_each(|b| f(b));
    }

    /// Every bucket refilled its burst during the pause: empty them, so the requests that
    /// waited go at the rate, not together.
    fn drain(&self) {
        self.table
            .load()
            .buckets
            .iter()
            .for_each(|(_, b)| b.drain());
    }

    /// An answer that ends a post-pause probe arrived.
    fn answered(&self) {
        if self.gate.answered() {
            self.drain();
        }
    }

    /// The slow path: pass the account pause (as its probe, or after the probe's answer), then
    /// take a cell of the route's bucket and one of the account bucket, taken at release time:
    /// if a pause began while this request waited for its cells, the cells predate the pause
    /// and are forfeited (they would have refilled during it anyway) and it goes round again,
    /// so no request released after a pause goes on a cell taken before it.
    async fn slow(&self, own: Option<Arc<Bucket>>, account: Option<Arc<Bucket>>, own_taken: bool) {
        // The fast path took the route's cell with the gate clear.
        let mut taken_under = own_taken.then(|| self.gate.epoch());
        loop {
            let epoch = match taken_under.take() {
                Some(epoch) => epoch,
                None => {
                    let pass = self.gate.pass().await;
                    if pass.released {
                        self.drain();
                    }
                    if let Some(b) = &own {
                        b.acquire().await;
                    }
                    pass.epoch
                }
            };
            if let Some(b) = &account {
                b.acquire().await;
            }
            if self.gate.epoch() == epoch {
                return;
            }
        }
    }
}

impl Pacer for InProcessPacer {
    /// Waits out an account pause (see [`Pacer::on_throttle`]), then on the route's own bucket,
    /// then on the account bucket. Dropping the future while it waits on the account bucket
    /// leaves the route bucket's cell spent (governor cannot give a cell back); it takes
    /// nothing from the account bucket.
    fn acquire<'a>(&'a self, method: Method, path: &'a str) -> BoxFuture<'a, ()> {
        let table = self.table.load();
        let (own, account) = table.route(method, path);
        if !self.gate.is_clear() {
            let (own, account) = (own.cloned(), account.cloned());
            drop(table);
            return Box::pin(self.slow(own, account, false));
        }
        // Fast path without allocating: no pause, nobody queued and both buckets allow it.
        let own_taken = own.is_none_or(|b| b.try_acquire_now());
        if own_taken && account.is_none_or(|b| b.try_acquire_now()) {
            return Box::pin(Ready);
        }
        let (own, account) = (own.cloned(), account.cloned());
        drop(table);
        Box::pin(self.slow(own, account, own_taken))
    }

    fn on_throttle(&self, method: Method, path: &str, retry_after: Option<Duration>) {
        self.each(method, path, Bucket::on_throttle);
        match retry_after {
            Some(d) => {
                let extended = self.gate.pause(d);
                if !extended.is_zero() {
                    tracing::info!(
                        retry_after_s = d.as_secs_f64(),
                        "account paused by Retry-After"
                    );
                    let table = self.table.load();
                    table
                        .buckets
                        .iter()
                        .for_each(|(_, b)| b.record_pause(extended));
                }
            }
            // A throttle without Retry-After is an answer: a probe's wait ends.
            None => self.answered(),
        }
    }

    fn on_success(&self, method: Method, path: &str) {
        self.answered();
        self.each(method, path, Bucket::on_success);
    }

    fn on_answer(&self, _method: Method, _path: &str) {
        self.answered();
    }

    fn paused_until(&self) -> Option<tokio::time::Instant> {
        self.gate.paused_until()
    }

    fn pause_changed(&self) -> BoxFuture<'_, ()> {
        self.gate.changed()
    }

    fn reconfigure(&self, config: &PacingConfig) {
        let current = self.table.load();
        self.table
            .store(Arc::new(Table::build(config, Some(&current))));
    }

    fn snapshot(&self) -> Vec<BucketSnapshot> {
        let paused_until = self.gate.paused_until();
        self.table
            .load()
            .buckets
            .iter()
            .map(|(_, b)| b.snapshot(paused_until))
            .collect()
    }
}

/// A future that is ready at once; zero-sized, so boxing it does not allocate.
struct Ready;

impl Future for Ready {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}
