//! [`InProcessSlotGate`]: the call slots of one process.

use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::BoxFuture;
use metrics::{Counter, Gauge, Histogram};
use redial_policy::config::SlotsConfig;
use tokio::sync::Notify;

use super::{CallSlot, SlotGate, SlotLease};
use crate::clock;
use crate::fifo::{Queued, Ticket, WaitQueue};
use crate::metrics as m;

/// A FIFO gate of call slots with an AIMD limit, in one process.
///
/// ```
/// use redial_limiter::{InProcessSlotGate, SlotGate};
/// use redial_policy::config::SlotsConfig;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let gate = InProcessSlotGate::new(&SlotsConfig { max_concurrent_calls: 2, increase_after: 5, ..Default::default() });
/// let slot = gate.acquire().await;
/// assert_eq!(gate.held(), 1);
/// drop(slot);
/// assert_eq!(gate.held(), 0);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct InProcessSlotGate {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    notify: Notify,
    metrics: SlotMetrics,
}

#[derive(Debug)]
struct State {
    limit: u32,
    max: u32,
    held: u32,
    increase_after: u32,
    created_since_change: u32,
    queue: WaitQueue,
}

struct SlotMetrics {
    held: Gauge,
    limit: Gauge,
    wait: Histogram,
    shrinks: Counter,
}

impl std::fmt::Debug for SlotMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotMetrics")
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, st: &State) {
        self.metrics.held.set(f64::from(st.held));
        self.metrics.limit.set(f64::from(st.limit));
    }
}

/// The in-process lease behind a [`CallSlot`].
#[derive(Debug)]
struct Lease(Arc<Shared>);

impl SlotLease for Lease {
    fn release(&self) {
        let mut st = self.0.lock();
        st.held = st.held.saturating_sub(1);
        self.0.publish(&st);
        drop(st);
        self.0.notify.notify_waiters();
    }
}

impl InProcessSlotGate {
    /// A gate of `config.max_concurrent_calls` slots (at least 1).
    pub fn new(config: &SlotsConfig) -> Self {
        let max = config.max_concurrent_calls.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                limit: max,
                max,
                held: 0,
                increase_after: config.increase_after.max(1),
                created_since_change: 0,
                queue: WaitQueue::default(),
            }),
            notify: Notify::new(),
            metrics: SlotMetrics {
                held: metrics::gauge!(m::SLOTS_HELD),
                limit: metrics::gauge!(m::SLOTS_LIMIT),
                wait: metrics::histogram!(m::SLOTS_WAIT),
                shrinks: metrics::counter!(m::SLOTS_SHRINKS),
            },
        });
        shared.publish(&shared.lock());
        Self { shared }
    }

    async fn acquire_slot(&self) -> CallSlot {
        let shared = &self.shared;
        let start = clock::now();
        let id = {
            let mut st = shared.lock();
            if st.queue.is_empty() && st.held < st.limit {
                st.held += 1;
                shared.publish(&st);
                drop(st);
                shared.metrics.wait.record(0.0);
                return CallSlot::new(Lease(Arc::clone(shared)));
            }
            st.queue.join()
        };
        let mut ticket = Ticket::new(shared.as_ref(), id);
        loop {
            let mut notified = pin!(shared.notify.notified());
            notified.as_mut().enable();
            {
                let mut st = shared.lock();
                if st.queue.is_head(id) && st.held < st.limit {
                    st.queue.serve_head();
                    st.held += 1;
                    shared.publish(&st);
                    // Taking the slot and building its guard happen in this one poll, so a
                    // dropped waiter never holds a slot it did not return.
                    ticket.served();
                    break;
                }
            }
            notified.await;
        }
        shared.notify.notify_waiters();
        shared
            .metrics
            .wait
            .record(clock::now().saturating_duration_since(start).as_secs_f64());
        CallSlot::new(Lease(Arc::clone(shared)))
    }
}

impl SlotGate for InProcessSlotGate {
    fn acquire(&self) -> BoxFuture<'_, CallSlot> {
        Box::pin(self.acquire_slot())
    }

    fn on_limit_hit(&self) {
        let mut st = self.shared.lock();
        let limit = st.held.max(1);
        if limit < st.limit {
            tracing::info!(
                from = st.limit,
                to = limit,
                "call-slot limit lowered after concurrent_call_limit"
            );
            st.limit = limit;
            self.shared.metrics.shrinks.increment(1);
        }
        st.created_since_change = 0;
        self.shared.publish(&st);
    }

    fn on_created(&self) {
        let mut st = self.shared.lock();
        if st.limit >= st.max {
            return;
        }
        st.created_since_change += 1;
        if st.created_since_change >= st.increase_after {
            st.limit += 1;
            st.created_since_change = 0;
            self.shared.publish(&st);
            drop(st);
            self.shared.notify.notify_waiters();
        }
    }

    fn limit(&self) -> u32 {
        self.shared.lock().limit
    }

    fn held(&self) -> u32 {
        self.shared.lock().held
    }

    fn reconfigure(&self, config: &SlotsConfig) {
        let mut st = self.shared.lock();
        let max = config.max_concurrent_calls.max(1);
        // A limit at the old maximum follows the new one; a lowered limit stays lowered.
        st.limit = if st.limit >= st.max {
            max
        } else {
            st.limit.min(max)
        };
        st.max = max;
        st.increase_after = config.increase_after.max(1);
        self.shared.publish(&st);
        drop(st);
        self.shared.notify.notify_waiters();
    }
}

impl Queued for Shared {
    fn leave(&self, id: u64) -> bool {
        self.lock().queue.leave(id)
    }

    fn wake_all(&self) {
        self.notify.notify_waiters();
    }
}
