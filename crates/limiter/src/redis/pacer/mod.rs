//! [`RedisPacer`]: the account's request rate shared by a fleet of processes.
//!
//! One Lua script per acquire (`lua/acquire.lua`): it reads Redis server time (`TIME`), and
//! takes one GCRA cell from the request's own bucket *and* the account bucket, or none and
//! answers how long to wait (the longest of the two, a Retry-After pause, or the probe that
//! went first after a pause). The process sleeps for the answer and asks again: no busy loop.
//! Both buckets are taken atomically, so unlike the in-process pacer a dropped waiter never
//! spends a cell of one bucket while waiting for the other.
//!
//! The adaptive rate (CUBIC state) and pauses live in the bucket's Redis hash: a throttle
//! reported by one process lowers and pauses the bucket for every process. Throttles and
//! successes are sent by a background task, in order, so [`Pacer::on_throttle`] and
//! [`Pacer::on_success`] stay synchronous and cheap; a success is sent only when this process
//! holds the probe token or the rate is recovering (then at most every 100 ms per bucket).
//!
//! Local waiters of one route queue first come first served (the crate's FIFO helpers): only
//! the head asks Redis while others wait, so a backlog costs one round trip per cell. A request
//! that finds nobody queued asks Redis at once, concurrently with others doing the same. Reads
//! and writes queue apart: while Redis is away writes are held (policy `wait`) and reads go
//! on with an in-process pacer, which they must not wait behind held writes to reach.

mod reports;
mod table;

use std::sync::Arc;
use std::time::Duration;

use ::redis::ScriptInvocation;
use arc_swap::ArcSwap;
use futures::future::BoxFuture;
use redial_policy::Method;
use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use self::reports::Report;
use self::table::{Route, Table};
use super::config::{FleetError, OnRedisError};
use super::fleet::FleetShared;
use super::metrics::{OpMetrics, REDIS_FALLBACKS};
use super::scripts;
use crate::fifo::Ticket;
use crate::{BucketSnapshot, InProcessPacer, Pacer, clock};

/// Longest single sleep of a waiter before it asks Redis again, seconds (assumed): bounds how
/// late a process notices a pause lifted by hand or lost in a Redis restart.
const MAX_SLEEP: Duration = Duration::from_secs(10);

/// Paces the requests of a whole fleet with GCRA buckets in Redis.
///
/// Built by [`super::RedisFleet::pacer`]. Buckets, routes and the account bucket follow the
/// same `[pacing]` config as [`InProcessPacer`]; every process of the fleet should use the same
/// config (each passes its own ceilings to the scripts).
#[derive(Debug)]
pub struct RedisPacer {
    core: Arc<Core>,
}

#[derive(Debug)]
struct Core {
    fleet: Arc<FleetShared>,
    table: ArcSwap<Table>,
    /// The in-process pacer used while Redis is away: for every request under
    /// `on_redis_error = local` (at `1/share` of the limits), for reads only under `wait`.
    local: InProcessPacer,
    /// Whether every request falls back to `local` (policy `local`), or only reads.
    local_for_all: bool,
    reports: mpsc::UnboundedSender<Report>,
    acquire_ops: OpMetrics,
    fallbacks: metrics::Counter,
}

/// What a waiter does next.
enum Step {
    Done,
    WaitUntil(Instant),
}

/// The config of the local pacer used while Redis is away: `1/share` of the limits under
/// `local`; the full limits under `wait`, where it paces only this process's status reads.
fn local_config(config: &PacingConfig, policy: OnRedisError) -> PacingConfig {
    match policy {
        OnRedisError::Local { share } => scaled(config, share),
        _ => config.clone(),
    }
}

/// The `[pacing]` config at `1/share` of its rates and bursts (at least 1 cell of burst).
fn scaled(config: &PacingConfig, share: u32) -> PacingConfig {
    let share = share.max(1);
    PacingConfig {
        buckets: config
            .buckets
            .iter()
            .map(|b| BucketConfig {
                rate: b.rate / f64::from(share),
                burst: (b.burst / share).max(1),
                ..b.clone()
            })
            .collect(),
        adaptive: config.adaptive.clone(),
        max_pause: config.max_pause,
        in_flight: config.in_flight.clone(),
    }
}

fn adaptive_flag(adaptive: &AdaptiveConfig) -> &'static str {
    if adaptive.enabled { "1" } else { "0" }
}

impl RedisPacer {
    pub(crate) fn new(fleet: Arc<FleetShared>, config: &PacingConfig) -> Result<Self, FleetError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let local_for_all = matches!(fleet.config.on_redis_error, OnRedisError::Local { .. });
        let local = InProcessPacer::new(&local_config(config, fleet.config.on_redis_error));
        let (tx, rx) = mpsc::unbounded_channel();
        handle.spawn(reports::run(Arc::clone(&fleet), rx));
        let table = Table::build(config, &fleet.keys, None);
        Ok(Self {
            core: Arc::new(Core {
                table: ArcSwap::from_pointee(table),
                local,
                local_for_all,
                reports: tx,
                acquire_ops: OpMetrics::new("acquire"),
                fallbacks: metrics::counter!(REDIS_FALLBACKS, "part" => "pacer"),
                fleet,
            }),
        })
    }
}

impl RedisPacer {
    /// Waits until every throttle and success reported so far has been sent to Redis (or
    /// failed): for an orderly shutdown, and for tests.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.core.reports.send(Report::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl Core {
    async fn acquire(&self, method: Method, path: &str) {
        let table = self.table.load_full();
        let route = table.route(method, path);
        if route.buckets.is_empty() {
            return;
        }
        let start = clock::now();
        if self.fleet.health.is_down() && self.falls_back(method) {
            // Redis is away: no use queueing behind requests that wait for it.
            self.fallbacks.increment(1);
            self.local.acquire(method, path).await;
            return self.record_wait(&route, start);
        }
        let mut not_before = None;
        if route.lane.is_empty() {
            match self.attempt(&table, &route, method, path).await {
                Step::Done => return self.record_wait(&route, start),
                Step::WaitUntil(at) => not_before = Some(at),
            }
        }
        let id = route.lane.join();
        let mut ticket = Ticket::new(route.lane.as_ref(), id);
        loop {
            route.lane.until_head(id).await;
            if let Some(at) = not_before.take() {
                tokio::time::sleep_until(at).await;
            }
            match self.attempt(&table, &route, method, path).await {
                Step::Done => {
                    route.lane.serve_head();
                    ticket.served();
                    break;
                }
                Step::WaitUntil(at) => not_before = Some(at),
            }
        }
        route.lane.notify.notify_waiters();
        self.record_wait(&route, start);
    }

    fn record_wait(&self, route: &Route, start: Instant) {
        let waited = clock::now().saturating_duration_since(start).as_secs_f64();
        for b in &route.buckets {
            b.live.metrics.wait.record(waited);
        }
    }

    /// One try: Redis's answer, or the policy's while Redis is away.
    async fn attempt(&self, table: &Table, route: &Route, method: Method, path: &str) -> Step {
        let fleet = &self.fleet;
        if let Some(until) = fleet.health.blocked_until() {
            return self.while_down(until, method, path).await;
        }
        let now = clock::now();
        if let Some(paused) = route.paused_until() {
            return Step::WaitUntil(paused.min(now + MAX_SLEEP));
        }
        let mut inv = scripts::ACQUIRE.prepare_invoke();
        self.acquire_args(&mut inv, table, route);
        match fleet
            .run::<Vec<i64>>("acquire", &self.acquire_ops, &inv)
            .await
        {
            Ok(reply) => self.on_reply(route, &reply).await,
            Err(failed) => self.while_down(failed.retry_at, method, path).await,
        }
    }

    /// Redis is away: go on with the local pacer (every request under `local`; reads under
    /// `wait`, since polling live calls is how their slots come back), or hold until `until`.
    async fn while_down(&self, until: Instant, method: Method, path: &str) -> Step {
        if self.falls_back(method) {
            self.fallbacks.increment(1);
            self.local.acquire(method, path).await;
            Step::Done
        } else {
            Step::WaitUntil(until)
        }
    }

    /// Whether `method` goes on with the local pacer while Redis is away.
    fn falls_back(&self, method: Method) -> bool {
        self.local_for_all || method == Method::Get
    }

    fn acquire_args(&self, inv: &mut ScriptInvocation<'_>, table: &Table, route: &Route) {
        let cfg = &self.fleet.config;
        for b in &route.buckets {
            inv.key(&b.key);
        }
        for b in &route.buckets {
            inv.key(&b.probe_key);
        }
        inv.key(self.fleet.keys.halts_version())
            .arg(route.buckets.len())
            .arg(millis(cfg.probe_ttl))
            .arg(&self.fleet.process_id)
            .arg(millis(cfg.state_ttl))
            .arg(millis(cfg.probe_ttl / 10).max(1));
        for b in &route.buckets {
            inv.arg(b.ceiling)
                .arg(b.burst)
                .arg(adaptive_flag(&table.adaptive))
                .arg(table.adaptive.smooth);
        }
    }

    async fn on_reply(&self, route: &Route, reply: &[i64]) -> Step {
        let [allowed, wait_us, halts_version, flags, rates @ ..] = reply else {
            tracing::error!(
                ?reply,
                "unexpected reply from the acquire script; letting the request go"
            );
            return Step::Done;
        };
        for (i, (b, rate)) in route.buckets.iter().zip(rates).enumerate() {
            b.live.set_rate_milli(*rate);
            let recovering = flags >> (2 * i + 1) & 1 == 1;
            let probe = flags >> (2 * i + 2) & 1 == 1;
            b.live.set_report(probe, recovering);
        }
        self.fleet
            .halts
            .saw_version(&self.fleet, *halts_version)
            .await;
        if *allowed == 1 {
            Step::Done
        } else {
            let wait = Duration::from_micros(u64::try_from(*wait_us).unwrap_or(0).max(1));
            Step::WaitUntil(clock::now() + wait.min(MAX_SLEEP))
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Pacer for RedisPacer {
    /// Waits until the fleet's buckets let `method path` go. Cancellation: a waiter dropped
    /// while queued or asleep takes nothing; one dropped while its script is in flight may
    /// have taken its cells (they are spent, as a sent request's would be).
    fn acquire<'a>(&'a self, method: Method, path: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.core.acquire(method, path))
    }

    /// Pauses this process's waiters at once, and sends the throttle to Redis (in the
    /// background) so every process slows and pauses.
    fn on_throttle(&self, method: Method, path: &str, retry_after: Option<Duration>) {
        let core = &self.core;
        core.local.on_throttle(method, path, retry_after);
        let table = core.table.load();
        let route = table.route(method, path);
        let until = retry_after.map(|d| clock::now() + d);
        for b in &route.buckets {
            b.live.metrics.throttles.increment(1);
            if let Some(until) = until {
                b.live.pause_at_least(until);
            }
        }
        let _ = core.reports.send(Report::Throttle {
            buckets: route.buckets,
            retry_after,
            adaptive: table.adaptive.clone(),
        });
    }

    fn on_success(&self, method: Method, path: &str) {
        let core = &self.core;
        core.local.on_success(method, path);
        let table = core.table.load();
        let now = clock::now();
        let mut route = table.route(method, path);
        route.buckets.retain(|b| b.live.take_report(now));
        if !route.buckets.is_empty() {
            let _ = core.reports.send(Report::Success {
                buckets: route.buckets,
                adaptive: table.adaptive.clone(),
            });
        }
    }

    fn reconfigure(&self, config: &PacingConfig) {
        let core = &self.core;
        let current = core.table.load();
        core.table.store(Arc::new(Table::build(
            config,
            &core.fleet.keys,
            Some(&current),
        )));
        core.local
            .reconfigure(&local_config(config, core.fleet.config.on_redis_error));
    }

    /// Rates are the last Redis answered to this process; `paused_until` is what this
    /// process's own throttles set (a pause set by another process shows in waits, not here).
    fn snapshot(&self) -> Vec<BucketSnapshot> {
        let table = self.core.table.load();
        table
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| BucketSnapshot {
                name: b.name.clone(),
                rate: b.live.rate(),
                ceiling: b.ceiling,
                burst: b.burst,
                paused_until: b.live.paused_until(),
                waiters: table.waiters(i),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_share_divides_rates_and_bursts_but_keeps_one_cell() {
        let cfg = PacingConfig::default();
        let s = scaled(&cfg, 4);
        for (a, b) in cfg.buckets.iter().zip(&s.buckets) {
            assert!((b.rate - a.rate / 4.0).abs() < 1e-9);
            assert_eq!(b.burst, (a.burst / 4).max(1));
        }
        assert_eq!(scaled(&cfg, 0).buckets[0].rate, cfg.buckets[0].rate);
    }
}
