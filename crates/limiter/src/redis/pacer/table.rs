//! The buckets of a [`super::RedisPacer`] as this process sees them: routes, Redis keys, the
//! last rate Redis answered, and a FIFO lane of local waiters per route.

use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use redial_policy::config::{ACCOUNT_BUCKET, AdaptiveConfig, PacingConfig};
use redial_policy::{Method, RoutePattern};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock;
use crate::fifo::{Queued, WaitQueue};
use crate::metrics as m;
use crate::redis::keys::Keys;

/// Least time between two recovery reports of one bucket from this process, milliseconds
/// (assumed): the cubic curve is a function of time, so reporting every success would only
/// add round trips.
const RECOVERY_REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// `Live::report` bit: this process holds the bucket's probe token.
const REPORT_PROBE: u8 = 1;
/// `Live::report` bit: the bucket's adaptive rate is recovering.
const REPORT_RECOVERY: u8 = 2;

/// One configured bucket.
pub(super) struct Bucket {
    pub(super) name: String,
    routes: Vec<RoutePattern>,
    pub(super) ceiling: f64,
    pub(super) burst: u32,
    pub(super) key: String,
    pub(super) probe_key: String,
    pub(super) live: Arc<Live>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("ceiling", &self.ceiling)
            .field("burst", &self.burst)
            .field("rate", &self.live.rate())
            .finish_non_exhaustive()
    }
}

/// What this process last learned about a bucket; kept across reconfigurations.
pub(super) struct Live {
    rate: AtomicU64,
    paused_until: Mutex<Option<Instant>>,
    report: AtomicU8,
    last_recovery_report: Mutex<Option<Instant>>,
    pub(super) metrics: BucketMetrics,
}

pub(super) struct BucketMetrics {
    rate: Gauge,
    ceiling: Gauge,
    pub(super) wait: Histogram,
    pub(super) pause: Histogram,
    pub(super) throttles: Counter,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    fn new(name: &str, ceiling: f64) -> Self {
        let label = name.to_owned();
        let metrics = BucketMetrics {
            rate: metrics::gauge!(m::PACER_RATE, "bucket" => label.clone()),
            ceiling: metrics::gauge!(m::PACER_CEILING, "bucket" => label.clone()),
            wait: metrics::histogram!(m::PACER_WAIT, "bucket" => label.clone()),
            pause: metrics::histogram!(m::PACER_PAUSE, "bucket" => label.clone()),
            throttles: metrics::counter!(m::PACER_THROTTLES, "bucket" => label),
        };
        metrics.rate.set(ceiling);
        metrics.ceiling.set(ceiling);
        Self {
            rate: AtomicU64::new(ceiling.to_bits()),
            paused_until: Mutex::new(None),
            report: AtomicU8::new(0),
            last_recovery_report: Mutex::new(None),
            metrics,
        }
    }

    pub(super) fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::Relaxed))
    }

    /// Records the rate Redis answered, in milli-requests per second.
    pub(super) fn set_rate_milli(&self, milli: i64) {
        let rate = milli as f64 / 1000.0;
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
        self.metrics.rate.set(rate);
    }

    /// Until when this process knows the bucket is paused (its own throttles).
    pub(super) fn paused_until(&self) -> Option<Instant> {
        lock(&self.paused_until).filter(|&p| p > clock::now())
    }

    pub(super) fn pause_at_least(&self, until: Instant) {
        let mut p = lock(&self.paused_until);
        if p.is_none_or(|p| p < until) {
            *p = Some(until);
        }
    }

    /// Redis said whether this bucket wants success reports: `probe` (this request took the
    /// probe token; kept until reported) and `recovering` (its adaptive rate climbs back).
    pub(super) fn set_report(&self, probe: bool, recovering: bool) {
        if probe {
            self.report.fetch_or(REPORT_PROBE, Ordering::Relaxed);
        }
        self.set_recovering(recovering);
    }

    pub(super) fn set_recovering(&self, recovering: bool) {
        if recovering {
            self.report.fetch_or(REPORT_RECOVERY, Ordering::Relaxed);
        } else {
            self.report.fetch_and(!REPORT_RECOVERY, Ordering::Relaxed);
        }
    }

    /// Whether a success should be reported now: always once after taking the probe, and at
    /// most every [`RECOVERY_REPORT_INTERVAL`] while recovering.
    pub(super) fn take_report(&self, now: Instant) -> bool {
        let bits = self.report.load(Ordering::Relaxed);
        if bits == 0 {
            return false;
        }
        if bits & REPORT_PROBE != 0 {
            self.report.fetch_and(!REPORT_PROBE, Ordering::Relaxed);
            *lock(&self.last_recovery_report) = Some(now);
            return true;
        }
        let mut last = lock(&self.last_recovery_report);
        if last.is_none_or(|l| now >= l + RECOVERY_REPORT_INTERVAL) {
            *last = Some(now);
            return true;
        }
        false
    }
}

/// Local waiters of one route, first come first served.
#[derive(Debug, Default)]
pub(super) struct Lane {
    queue: Mutex<WaitQueue>,
    pub(super) notify: Notify,
}

impl Lane {
    pub(super) fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.queue).len()
    }

    pub(super) fn join(&self) -> u64 {
        lock(&self.queue).join()
    }

    pub(super) fn serve_head(&self) {
        lock(&self.queue).serve_head();
    }

    /// Waits until `id` heads the lane.
    pub(super) async fn until_head(&self, id: u64) {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            if lock(&self.queue).is_head(id) {
                return;
            }
            notified.await;
        }
    }
}

impl Queued for Lane {
    fn leave(&self, id: u64) -> bool {
        lock(&self.queue).leave(id)
    }

    fn wake_all(&self) {
        self.notify.notify_waiters();
    }
}

/// The buckets in match order, which is the account bucket, and one lane per route.
#[derive(Debug)]
pub(super) struct Table {
    pub(super) buckets: Vec<Arc<Bucket>>,
    account: Option<usize>,
    /// Lanes `2i` (writes) and `2i + 1` (reads, `GET`) for requests whose own bucket is `i`;
    /// the last two for the account bucket alone. Reads queue apart from writes so that,
    /// while Redis is away and writes are held, status polls are not stuck behind them.
    lanes: Vec<(String, Arc<Lane>)>,
    pub(super) adaptive: AdaptiveConfig,
}

/// The buckets that pace one request (own first, then account) and its lane.
#[derive(Debug)]
pub(super) struct Route {
    pub(super) buckets: Vec<Arc<Bucket>>,
    pub(super) lane: Arc<Lane>,
}

/// Name of the lane of requests paced by the account bucket alone.
const ACCOUNT_ONLY_LANE: &str = "";
/// Suffix of a read lane's name.
const READ_LANE_SUFFIX: &str = "#read";

impl Table {
    pub(super) fn build(config: &PacingConfig, keys: &Keys, previous: Option<&Table>) -> Self {
        let buckets: Vec<_> = config
            .buckets
            .iter()
            .map(|b| {
                let routes = crate::pacer::bucket_routes(b);
                let live = previous
                    .and_then(|t| t.buckets.iter().find(|x| x.name == b.name))
                    .map(|x| {
                        x.live.metrics.ceiling.set(b.rate);
                        Arc::clone(&x.live)
                    })
                    .unwrap_or_else(|| Arc::new(Live::new(&b.name, b.rate)));
                Arc::new(Bucket {
                    name: b.name.clone(),
                    routes,
                    ceiling: b.rate,
                    burst: b.burst.max(1),
                    key: keys.bucket(&b.name),
                    probe_key: keys.probe(&b.name),
                    live,
                })
            })
            .collect();
        let account = buckets
            .iter()
            .position(|b| b.name == ACCOUNT_BUCKET)
            .or_else(|| buckets.len().checked_sub(1));
        let lane_of = |name: &str| {
            previous
                .and_then(|t| t.lanes.iter().find(|(n, _)| n == name))
                .map_or_else(Arc::default, |(_, l)| Arc::clone(l))
        };
        let lanes = buckets
            .iter()
            .map(|b| b.name.as_str())
            .chain([ACCOUNT_ONLY_LANE])
            .flat_map(|name| [name.to_owned(), format!("{name}{READ_LANE_SUFFIX}")])
            .map(|name| {
                let lane = lane_of(&name);
                (name, lane)
            })
            .collect();
        Self {
            buckets,
            account,
            lanes,
            adaptive: config.adaptive.clone(),
        }
    }

    pub(super) fn route(&self, method: Method, path: &str) -> Route {
        let own = self.buckets.iter().enumerate().position(|(i, b)| {
            Some(i) != self.account && b.routes.iter().any(|r| r.matches(method, path))
        });
        let mut buckets = Vec::with_capacity(2);
        buckets.extend(own.map(|i| Arc::clone(&self.buckets[i])));
        buckets.extend(self.account.map(|i| Arc::clone(&self.buckets[i])));
        let base = own.unwrap_or(self.buckets.len());
        let lane = Arc::clone(&self.lanes[2 * base + usize::from(method == Method::Get)].1);
        Route { buckets, lane }
    }

    /// Local waiters of bucket `i`: its own lane, or every lane for the account bucket.
    pub(super) fn waiters(&self, i: usize) -> usize {
        if Some(i) == self.account {
            self.lanes.iter().map(|(_, l)| l.len()).sum()
        } else {
            self.lanes[2 * i].1.len() + self.lanes[2 * i + 1].1.len()
        }
    }
}

impl Route {
    /// Until when this process knows one of the route's buckets is paused.
    pub(super) fn paused_until(&self) -> Option<Instant> {
        self.buckets
            .iter()
            .filter_map(|b| b.live.paused_until())
            .max()
    }
}
