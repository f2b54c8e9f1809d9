//! [`RedisSlotGate`]: the account's live calls shared by a fleet, as leases in Redis.
//!
//! A slot is a member of one sorted set scored by its expiry on Redis server time. One script
//! (`lua/slot_acquire.lua`) drops expired members, compares the count with the fleet's limit
//! and adds the new lease. A background task per gate renews every lease this process holds
//! every third of the lease (re-adding any a Redis restart lost) and sends releases and limit
//! changes in order, so a release reaches Redis before the limit hit that follows it. A killed
//! process stops renewing: its slots come back within one lease.
//!
//! Waiting: the head of the local FIFO asks Redis, and when the fleet is full sleeps with
//! exponential backoff (50 ms to 1 s, never past the earliest lease expiry), or until a slot of
//! this process is released, whichever is first. Polling costs each waiting process about one
//! round trip a second; pub/sub was not used because a lost notification (a killed process,
//! a reconnect) would have to be covered by polling anyway.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use metrics::{Counter, Gauge, Histogram};
use redial_policy::config::SlotsConfig;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

mod worker;

use crate::fifo::{Queued, Ticket, WaitQueue};
use crate::metrics as m;
use crate::redis::config::{FleetError, OnRedisError};
use crate::redis::fleet::FleetShared;
use crate::redis::metrics::{OpMetrics, REDIS_FALLBACKS, REDIS_FLEET_SLOTS};
use crate::redis::scripts;
use crate::{CallSlot, InProcessSlotGate, SlotGate, SlotLease, clock};

/// First poll interval of a waiter while the fleet is full, milliseconds (assumed).
const POLL_MIN: Duration = Duration::from_millis(50);
/// Longest poll interval of a waiter while the fleet is full, seconds (assumed: calls last
/// minutes, so a second of lag on a freed slot costs little).
const POLL_MAX: Duration = Duration::from_secs(1);

/// A FIFO gate of call slots for a whole fleet, with an AIMD limit stored in Redis.
///
/// Built by [`crate::redis::RedisFleet::slot_gate`]. Leases are renewed while any slot of the gate
/// lives, even after the gate is dropped. [`SlotGate::held`] counts this process's slots;
/// [`RedisSlotGate::fleet_held`] asks Redis for the fleet's.
#[derive(Debug)]
pub struct RedisSlotGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fleet: Arc<FleetShared>,
    leases_key: String,
    limit_key: String,
    config: Mutex<SlotsConfig>,
    /// Members held by this process.
    held: Arc<Mutex<HashSet<String>>>,
    limit: AtomicU32,
    next_id: AtomicU64,
    queue: Mutex<WaitQueue>,
    notify: Notify,
    ops: mpsc::UnboundedSender<Op>,
    local: Option<InProcessSlotGate>,
    metrics: GateMetrics,
}

struct GateMetrics {
    held: Gauge,
    limit: Gauge,
    wait: Histogram,
    shrinks: Counter,
    fleet_held: Gauge,
    fallbacks: Counter,
    acquire: OpMetrics,
}

impl std::fmt::Debug for GateMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GateMetrics")
    }
}

/// Work for the background task, in order.
#[derive(Debug)]
enum Op {
    Release(String),
    LimitHit,
    Created,
    Flush(oneshot::Sender<()>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn scaled(config: &SlotsConfig, share: u32) -> SlotsConfig {
    SlotsConfig {
        max_concurrent_calls: (config.max_concurrent_calls / share.max(1)).max(1),
        ..config.clone()
    }
}

/// The Redis lease behind a [`CallSlot`].
#[derive(Debug)]
struct Lease {
    inner: Arc<Inner>,
    member: String,
}

impl SlotLease for Lease {
    fn release(&self) {
        let inner = &self.inner;
        let mut held = lock(&inner.held);
        held.remove(&self.member);
        inner.metrics.held.set(held.len() as f64);
        drop(held);
        // The task removes the lease and wakes local waiters; if Redis is away the lease
        // expires by itself (it is no longer renewed).
        let _ = inner.ops.send(Op::Release(self.member.clone()));
    }
}

/// A lease being taken: dropped before [`Pending::taken`], it removes the member from Redis in
/// case the script added it (the future was dropped while the script was in flight).
struct Pending<'a> {
    inner: &'a Inner,
    member: Option<String>,
}

impl Pending<'_> {
    fn taken(mut self) -> String {
        self.member.take().unwrap_or_default()
    }

    fn not_taken(mut self) {
        self.member = None;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(member) = self.member.take() {
            let _ = self.inner.ops.send(Op::Release(member));
        }
    }
}

/// What the head waiter does next.
enum Step {
    Got(CallSlot),
    /// The fleet is full: poll again after at most this long.
    Full(Duration),
    /// Redis is away and the policy is to wait.
    Down(Instant),
}

impl RedisSlotGate {
    pub(crate) fn new(fleet: Arc<FleetShared>, config: &SlotsConfig) -> Result<Self, FleetError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let max = config.max_concurrent_calls.max(1);
        let local = match fleet.config.on_redis_error {
            OnRedisError::Local { share } => Some(InProcessSlotGate::new(&scaled(config, share))),
            OnRedisError::Wait => None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            leases_key: fleet.keys.slots(),
            limit_key: fleet.keys.slots_limit(),
            config: Mutex::new(config.clone()),
            held: Arc::default(),
            limit: AtomicU32::new(max),
            next_id: AtomicU64::new(0),
            queue: Mutex::default(),
            notify: Notify::new(),
            ops: tx,
            local,
            metrics: GateMetrics {
                held: metrics::gauge!(m::SLOTS_HELD),
                limit: metrics::gauge!(m::SLOTS_LIMIT),
                wait: metrics::histogram!(m::SLOTS_WAIT),
                shrinks: metrics::counter!(m::SLOTS_SHRINKS),
                fleet_held: metrics::gauge!(REDIS_FLEET_SLOTS),
                fallbacks: metrics::counter!(REDIS_FALLBACKS, "part" => "slots"),
                acquire: OpMetrics::new("slot_acquire"),
            },
            fleet,
        });
        inner.metrics.held.set(0.0);
        inner.metrics.limit.set(f64::from(max));
        handle.spawn(worker::run(Arc::downgrade(&inner), rx));
        Ok(Self { inner })
    }

    /// Leases held by the whole fleet now (one round trip; expired leases are not counted).
    ///
    /// # Errors
    ///
    /// [`FleetError::Redis`] when Redis does not answer.
    pub async fn fleet_held(&self) -> Result<u32, FleetError> {
        let inner = &self.inner;
        let mut inv = scripts::SLOT_RENEW.prepare_invoke();
        inv.key(&inner.leases_key)
            .arg(millis(inner.fleet.config.lease));
        let held: u32 = inner
            .fleet
            .run("slot_renew", &inner.metrics.acquire, &inv)
            .await
            .map_err(|f| FleetError::Redis(f.error))?;
        inner.metrics.fleet_held.set(f64::from(held));
        Ok(held)
    }

    /// Waits until every release and limit change reported so far has been sent to Redis (or
    /// failed): for an orderly shutdown, and for tests.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.ops.send(Op::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    async fn acquire_slot(&self) -> CallSlot {
        let inner = &self.inner;
        let start = clock::now();
        let id = lock(&inner.queue).join();
        let mut ticket = Ticket::new(inner.as_ref(), id);
        let mut poll = POLL_MIN;
        let slot = loop {
            inner.until_head(id).await;
            // Registered before asking, so a local release during the round trip wakes us.
            let mut released = pin!(inner.notify.notified());
            released.as_mut().enable();
            match inner.attempt().await {
                Step::Got(slot) => {
                    lock(&inner.queue).serve_head();
                    ticket.served();
                    break slot;
                }
                Step::Full(hint) => {
                    let _ = tokio::time::timeout(poll.min(hint), released).await;
                    poll = (poll * 2).min(POLL_MAX);
                }
                Step::Down(until) => tokio::time::sleep_until(until).await,
            }
        };
        inner.notify.notify_waiters();
        inner
            .metrics
            .wait
            .record(clock::now().saturating_duration_since(start).as_secs_f64());
        slot
    }
}

impl Inner {
    async fn until_head(&self, id: u64) {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            if lock(&self.queue).is_head(id) {
                return;
            }
            notified.await;
        }
    }

    fn max(&self) -> u32 {
        lock(&self.config).max_concurrent_calls.max(1)
    }

    async fn attempt(self: &Arc<Self>) -> Step {
        let fleet = &self.fleet;
        if let Some(until) = fleet.health.blocked_until() {
            return self.while_down(until).await;
        }
        let member = format!(
            "{}:{}",
            fleet.process_id,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let pending = Pending {
            inner: self,
            member: Some(member.clone()),
        };
        let mut inv = scripts::SLOT_ACQUIRE.prepare_invoke();
        inv.key(&self.leases_key)
            .key(&self.limit_key)
            .arg(&member)
            .arg(millis(fleet.config.lease))
            .arg(self.max());
        match fleet
            .run::<(i64, u32, u32, i64)>("slot_acquire", &self.metrics.acquire, &inv)
            .await
        {
            Ok((taken, fleet_held, limit, next_free_ms)) => {
                self.limit.store(limit, Ordering::Relaxed);
                self.metrics.limit.set(f64::from(limit));
                self.metrics.fleet_held.set(f64::from(fleet_held));
                if taken == 1 {
                    let member = pending.taken();
                    let mut held = lock(&self.held);
                    held.insert(member.clone());
                    self.metrics.held.set(held.len() as f64);
                    drop(held);
                    Step::Got(CallSlot::new(Lease {
                        inner: Arc::clone(self),
                        member,
                    }))
                } else {
                    pending.not_taken();
                    let hint = u64::try_from(next_free_ms).unwrap_or(0).max(1);
                    Step::Full(Duration::from_millis(hint))
                }
            }
            // `pending` drops here and removes the member, in case the script ran.
            Err(failed) => self.while_down(failed.retry_at).await,
        }
    }

    async fn while_down(&self, until: Instant) -> Step {
        match &self.local {
            Some(local) => {
                self.metrics.fallbacks.increment(1);
                Step::Got(local.acquire().await)
            }
            None => Step::Down(until),
        }
    }
}

impl Queued for Inner {
    fn leave(&self, id: u64) -> bool {
        lock(&self.queue).leave(id)
    }

    fn wake_all(&self) {
        self.notify.notify_waiters();
    }
}

impl SlotGate for RedisSlotGate {
    fn acquire(&self) -> BoxFuture<'_, CallSlot> {
        Box::pin(self.acquire_slot())
    }

    fn on_limit_hit(&self) {
        let _ = self.inner.ops.send(Op::LimitHit);
        if let Some(local) = self
            .inner
            .local
            .as_ref()
            .filter(|_| self.inner.fleet.health.is_down())
        {
            local.on_limit_hit();
        }
    }

    fn on_created(&self) {
        let _ = self.inner.ops.send(Op::Created);
        if let Some(local) = self
            .inner
            .local
            .as_ref()
            .filter(|_| self.inner.fleet.health.is_down())
        {
            local.on_created();
        }
    }

    /// The fleet's limit, as of the last answer from Redis.
    fn limit(&self) -> u32 {
        self.inner.limit.load(Ordering::Relaxed)
    }

    /// Slots held by this process (from Redis and, under `local`, from the fallback).
    fn held(&self) -> u32 {
        let redis = u32::try_from(lock(&self.inner.held).len()).unwrap_or(u32::MAX);
        redis + self.inner.local.as_ref().map_or(0, InProcessSlotGate::held)
    }

    fn reconfigure(&self, config: &SlotsConfig) {
        let inner = &self.inner;
        *lock(&inner.config) = config.clone();
        let max = config.max_concurrent_calls.max(1);
        let limit = inner.limit.load(Ordering::Relaxed).min(max);
        inner.limit.store(limit, Ordering::Relaxed);
        inner.metrics.limit.set(f64::from(limit));
        if let (Some(local), OnRedisError::Local { share }) =
            (&inner.local, inner.fleet.config.on_redis_error)
        {
            local.reconfigure(&scaled(config, share));
        }
        inner.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_share_keeps_at_least_one_slot() {
        let cfg = SlotsConfig {
            max_concurrent_calls: 10,
            increase_after: 5,
            max_wait: None,
        };
        assert_eq!(scaled(&cfg, 3).max_concurrent_calls, 3);
        assert_eq!(scaled(&cfg, 20).max_concurrent_calls, 1);
        assert_eq!(scaled(&cfg, 0).max_concurrent_calls, 10);
    }
}
