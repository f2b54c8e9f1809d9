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
                let routes = b
                    .routes
                    .iter()
                    .filter_map(|r| match RoutePattern::parse(r) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            // Config validation rejects these; a hand-built config may not.
                            tracing::warn!(bucket = %b.name, route = %r, error = %e, "ignoring malformed bucket route");
                            None
                        }
                    })
                    .collect();
                let existing = previous.and_then(|t| t.buckets.iter().find(|(_, x)| x.name() == b.name));
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
        }
    }

    fn each(&self, method: Method, path: &str, f: impl Fn(&Bucket)) {
        let table = self.table.load();
        let (own, account) = table.route(method, path);
        own.into_iter().chain(account).for_each(|b| f(b));
    }
}

impl Pacer for InProcessPacer {
    /// Waits on the route's own bucket first, then on the account bucket. Dropping the future
    /// while it waits on the account bucket leaves the route bucket's cell spent (governor
    /// cannot give a cell back); it takes nothing from the account bucket.
    fn acquire<'a>(&'a self, method: Method, path: &'a str) -> BoxFuture<'a, ()> {
        // Fast path without allocating: nobody queued and both buckets allow the request.
        let table = self.table.load();
        let (own, account) = table.route(method, path);
        let own = own.filter(|b| !b.try_acquire_now()).cloned();
        let account = match &own {
            None => account.filter(|b| !b.try_acquire_now()).cloned(),
            Some(_) => account.cloned(),
        };
        if own.is_none() && account.is_none() {
            return Box::pin(Ready);
        }
        drop(table);
        Box::pin(async move {
            if let Some(b) = own {
                b.acquire().await;
            }
            if let Some(b) = account {
                b.acquire().await;
            }
        })
    }

    fn on_throttle(&self, method: Method, path: &str, retry_after: Option<Duration>) {
        self.each(method, path, |b| b.on_throttle(retry_after));
    }

    fn on_success(&self, method: Method, path: &str) {
        self.each(method, path, Bucket::on_success);
    }

    fn reconfigure(&self, config: &PacingConfig) {
        let current = self.table.load();
        self.table
            .store(Arc::new(Table::build(config, Some(&current))));
    }

    fn snapshot(&self) -> Vec<BucketSnapshot> {
        self.table
            .load()
            .buckets
            .iter()
            .map(|(_, b)| b.snapshot())
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
