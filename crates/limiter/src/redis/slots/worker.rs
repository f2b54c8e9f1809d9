//! The background task of a [`super::RedisSlotGate`]: renews this process's leases every
//! third of the lease, and runs releases and limit changes in the order they were reported.
//! It ends once the gate and every slot it handed out are dropped and the work queued before
//! is done.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::mpsc;

use super::{Inner, Op, lock, millis};
use crate::clock;
use crate::redis::fleet::FleetShared;
use crate::redis::metrics::OpMetrics;
use crate::redis::scripts;

struct Worker {
    inner: Weak<Inner>,
    fleet: Arc<FleetShared>,
    held: Arc<Mutex<HashSet<String>>>,
    leases_key: String,
    limit_key: String,
    release_ops: OpMetrics,
    renew_ops: OpMetrics,
    limit_ops: OpMetrics,
}

pub(super) async fn run(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Op>) {
    let Some(first) = inner.upgrade() else { return };
    let worker = Worker {
        fleet: Arc::clone(&first.fleet),
        held: Arc::clone(&first.held),
        leases_key: first.leases_key.clone(),
        limit_key: first.limit_key.clone(),
        release_ops: OpMetrics::new("slot_release"),
        renew_ops: OpMetrics::new("slot_renew"),
        limit_ops: OpMetrics::new("slot_limit"),
        inner,
    };
    drop(first);
    let mut renew = tokio::time::interval(worker.fleet.config.lease / 3);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            op = rx.recv() => match op {
                Some(op) => worker.handle(op).await,
                None => return,
            },
            _ = renew.tick() => worker.renew().await,
        }
    }
}

impl Worker {
    async fn handle(&self, op: Op) {
        match op {
            Op::Flush(done) => {
                let _ = done.send(());
            }
            Op::Release(member) => self.release(&member).await,
            Op::LimitHit => self.limit("hit").await,
            Op::Created => self.limit("created").await,
        }
    }

    /// Removes one lease and wakes local waiters. On failure the lease expires by itself: it
    /// is no longer renewed.
    async fn release(&self, member: &str) {
        let fleet = &self.fleet;
        let mut conn = fleet.conn.clone();
        let start = clock::now();
        let removed: Result<i64, _> = ::redis::cmd("ZREM")
            .arg(&self.leases_key)
            .arg(member)
            .query_async(&mut conn)
            .await;
        match removed {
            Ok(_) => {
                let took = clock::now().saturating_duration_since(start);
                self.release_ops.round_trip(took.as_secs_f64());
                fleet.health.on_ok();
            }
            Err(e) => {
                fleet.health.on_error("slot_release", &self.release_ops, &e);
            }
        }
        if let Some(inner) = self.inner.upgrade() {
            inner.notify.notify_waiters();
        }
    }

    /// The fleet's AIMD limit after a `concurrent_call_limit` (`hit`) or a create.
    async fn limit(&self, event: &str) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let (max, increase_after) = {
            let c = lock(&inner.config);
            (c.max_concurrent_calls.max(1), c.increase_after.max(1))
        };
        let mut inv = scripts::SLOT_LIMIT.prepare_invoke();
        inv.key(&self.leases_key)
            .key(&self.limit_key)
            .arg(event)
            .arg(max)
            .arg(increase_after);
        let Ok((limit, lowered)) = self
            .fleet
            .run::<(u32, i64)>("slot_limit", &self.limit_ops, &inv)
            .await
        else {
            return;
        };
        let before = inner.limit.swap(limit, Ordering::Relaxed);
        inner.metrics.limit.set(f64::from(limit));
        if lowered == 1 {
            inner.metrics.shrinks.increment(1);
            tracing::info!(
                from = before,
                to = limit,
                "fleet call-slot limit lowered after concurrent_call_limit"
            );
        }
        if limit > before {
            inner.notify.notify_waiters();
        }
    }

    /// Renews every lease this process holds (re-adding any a Redis restart lost).
    async fn renew(&self) {
        let members: Vec<String> = lock(&self.held).iter().cloned().collect();
        if members.is_empty() {
            return;
        }
        let mut inv = scripts::SLOT_RENEW.prepare_invoke();
        inv.key(&self.leases_key)
            .arg(millis(self.fleet.config.lease))
            .arg(members);
        if let Ok(n) = self
            .fleet
            .run::<u32>("slot_renew", &self.renew_ops, &inv)
            .await
            && let Some(inner) = self.inner.upgrade()
        {
            inner.metrics.fleet_held.set(f64::from(n));
        }
    }
}
