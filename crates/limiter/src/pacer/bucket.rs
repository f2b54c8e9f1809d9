//! One pacing bucket: a governor GCRA limiter, a FIFO of waiters and the CUBIC state of its
//! adaptive rate. (Retry-After pauses are account-wide: `pause.rs`.)
//!
//! governor decides (`check`, on our tokio clock); we do the waiting. governor's own
//! `until_ready` is a check-then-sleep loop on `futures-timer`: waiters race each other (no
//! FIFO), and tokio's paused clock does not drive its timer. Here only the head of the queue
//! asks governor, sleeps on a tokio timer until the instant governor names, and wakes the
//! next waiter when served.
//!
//! governor's limiter has a fixed rate. A rate change (throttle, recovery, config reload)
//! builds a new limiter at the new rate and drains its burst, so a throttle never hands out a
//! fresh burst; recovery swaps only when the rate moved by [`RATE_SWAP_THRESHOLD`] or more.

use std::fmt;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use metrics::{Counter, Gauge, Histogram};
use redial_policy::config::{AdaptiveConfig, BucketConfig};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::BucketSnapshot;
use crate::clock::{self, TokioClock, TokioInstant};
use crate::cubic::CubicState;
use crate::fifo::{Queued, Ticket, WaitQueue};
use crate::metrics as m;

/// A governor direct rate limiter on our tokio clock.
type Gcra = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>;

/// Relative change of the adaptive rate, during recovery, below which the bucket keeps its
/// current limiter (a swap drains the burst, so swapping on every success would cost pace).
const RATE_SWAP_THRESHOLD: f64 = 0.05;

/// One pacing bucket.
pub(super) struct Bucket {
    name: String,
    epoch: Instant,
    state: Mutex<State>,
    /// Woken whenever the head of the queue may have changed or the state changed.
    notify: Notify,
    metrics: BucketMetrics,
    /// A throttle lowered the rate and it is climbing back: only then does a success need the
    /// lock (the hot path of an unthrottled bucket takes none on success).
    recovering: AtomicBool,
}

struct State {
    gcra: Gcra,
    rate: f64,
    ceiling: f64,
    burst: NonZeroU32,
    adaptive: AdaptiveConfig,
    cubic: CubicState,
    queue: WaitQueue,
}

struct BucketMetrics {
    rate: Gauge,
    ceiling: Gauge,
    wait: Histogram,
    pause: Histogram,
    throttles: Counter,
}

fn gcra(rate: f64, burst: NonZeroU32, drained: bool) -> Gcra {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    let limiter = RateLimiter::direct_with_clock(quota, TokioClock);
    if drained {
        // Burst fits the quota, so this consumes exactly the burst.
        let _ = limiter.check_n(burst);
    }
    limiter
}

impl State {
    /// Takes one cell if governor allows it; otherwise says when to ask again.
    fn try_take(&mut self, now: Instant, epoch: Instant) -> Result<(), Instant> {
        match self.gcra.check() {
            Ok(()) => {
                if self.adaptive.enabled {
                    self.cubic
                        .record_send(secs(now, epoch), self.adaptive.smooth);
                }
                Ok(())
            }
            Err(not_until) => Err(not_until.earliest_possible().into_inner()),
        }
    }

    fn set_rate(&mut self, rate: f64, metrics: &BucketMetrics) {
        self.rate = rate;
        self.gcra = gcra(rate, self.burst, true);
        metrics.rate.set(rate);
    }
}

fn secs(now: Instant, epoch: Instant) -> f64 {
    now.saturating_duration_since(epoch).as_secs_f64()
}

fn burst_of(config: &BucketConfig) -> NonZeroU32 {
    NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN)
}

impl Bucket {
    pub(super) fn new(config: &BucketConfig, adaptive: &AdaptiveConfig) -> Self {
        let label = config.name.clone();
        let metrics = BucketMetrics {
            rate: metrics::gauge!(m::PACER_RATE, "bucket" => label.clone()),
            ceiling: metrics::gauge!(m::PACER_CEILING, "bucket" => label.clone()),
            wait: metrics::histogram!(m::PACER_WAIT, "bucket" => label.clone()),
            pause: metrics::histogram!(m::PACER_PAUSE, "bucket" => label.clone()),
            throttles: metrics::counter!(m::PACER_THROTTLES, "bucket" => label),
        };
        metrics.rate.set(config.rate);
        metrics.ceiling.set(config.rate);
        let epoch = clock::now();
        let burst = burst_of(config);
        Self {
            name: config.name.clone(),
            epoch,
            state: Mutex::new(State {
                gcra: gcra(config.rate, burst, false),
                rate: config.rate,
                ceiling: config.rate,
                burst,
                adaptive: adaptive.clone(),
                cubic: CubicState::new(0.0),
                queue: WaitQueue::default(),
            }),
            notify: Notify::new(),
            metrics,
            recovering: AtomicBool::new(false),
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock; recover the state if a panic ever does.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one cell now if nobody is queued and the bucket allows it.
    pub(super) fn try_acquire_now(&self) -> bool {
        let now = clock::now();
        let mut st = self.lock();
        if st.queue.is_empty() && st.try_take(now, self.epoch).is_ok() {
            drop(st);
            self.metrics.wait.record(0.0);
            true
        } else {
            false
        }
    }

    /// Waits for one cell of this bucket, first come first served.
    pub(super) async fn acquire(&self) {
        let start = clock::now();
        let id = {
            let mut st = self.lock();
            if st.queue.is_empty() && st.try_take(start, self.epoch).is_ok() {
                drop(st);
                self.metrics.wait.record(0.0);
                return;
            }
            st.queue.join()
        };
        let mut ticket = Ticket::new(self, id);
        loop {
            let mut notified = pin!(self.notify.notified());
            // Register before looking at the state, so a change in between still wakes us.
            notified.as_mut().enable();
            let wake_at = {
                let mut st = self.lock();
                if st.queue.is_head(id) {
                    match st.try_take(clock::now(), self.epoch) {
                        Ok(()) => {
                            st.queue.serve_head();
                            ticket.served();
                            break;
                        }
                        Err(at) => Some(at),
                    }
                } else {
                    None
                }
            };
            match wake_at {
                Some(at) => {
                    let _ = tokio::time::timeout_at(at, notified).await;
                }
                None => notified.await,
            }
        }
        // The next waiter is now at the head.
        self.notify.notify_waiters();
        self.metrics
            .wait
            .record(clock::now().saturating_duration_since(start).as_secs_f64());
    }

    /// A throttle: lowers the adaptive rate (the account pause is the pacer's).
    pub(super) fn on_throttle(&self) {
        let now = clock::now();
        let mut st = self.lock();
        self.metrics.throttles.increment(1);
        if st.adaptive.enabled {
            let (rate, ceiling, adaptive) = (st.rate, st.ceiling, st.adaptive.clone());
            let new = st
                .cubic
                .throttle(secs(now, self.epoch), rate, &adaptive, ceiling);
            st.set_rate(new, &self.metrics);
            tracing::debug!(bucket = %self.name, from = rate, to = new, "pacer throttled");
            self.recovering.store(true, Ordering::Release);
        }
        drop(st);
        self.notify.notify_waiters();
    }

    /// Records how far an account pause was extended, under this bucket's label.
    pub(super) fn record_pause(&self, extended: Duration) {
        self.metrics.pause.record(extended.as_secs_f64());
    }

    /// Empties the bucket's burst (it refilled during a pause), keeping its rate: after a pause
    /// the waiters are released at the rate, not all at once.
    pub(super) fn drain(&self) {
        let mut st = self.lock();
        let rate = st.rate;
        st.gcra = gcra(rate, st.burst, true);
        drop(st);
        self.notify.notify_waiters();
    }

    pub(super) fn on_success(&self) {
        if !self.recovering.load(Ordering::Acquire) {
            return;
        }
        let mut st = self.lock();
        if !st.adaptive.enabled || !st.cubic.is_recovering() {
            self.recovering.store(false, Ordering::Release);
            return;
        }
        let now = secs(clock::now(), self.epoch);
        let (rate, ceiling, adaptive) = (st.rate, st.ceiling, st.adaptive.clone());
        let Some(new) = st.cubic.success(now, &adaptive, ceiling) else {
            return;
        };
        let reached_ceiling = new >= ceiling && rate < ceiling;
        if (new - rate).abs() >= rate * RATE_SWAP_THRESHOLD || reached_ceiling {
            st.set_rate(new, &self.metrics);
            drop(st);
            self.notify.notify_waiters();
        }
    }

    /// Applies a new config for this bucket's name, keeping queue and adaptive state.
    pub(super) fn reconfigure(&self, config: &BucketConfig, adaptive: &AdaptiveConfig) {
        let mut st = self.lock();
        let burst = burst_of(config);
        let ceiling = config.rate;
        if !adaptive.enabled {
            st.cubic = CubicState::new(secs(clock::now(), self.epoch));
        }
        st.adaptive = adaptive.clone();
        self.recovering.store(
            adaptive.enabled && st.cubic.is_recovering(),
            Ordering::Release,
        );
        let rate = if st.cubic.is_recovering() {
            st.rate.min(ceiling)
        } else {
            ceiling
        };
        #[allow(clippy::float_cmp)] // exact: unchanged config values compare equal
        let changed = rate != st.rate || burst != st.burst || ceiling != st.ceiling;
        if changed {
            st.ceiling = ceiling;
            st.burst = burst;
            st.set_rate(rate, &self.metrics);
            self.metrics.ceiling.set(ceiling);
            drop(st);
            self.notify.notify_waiters();
        }
    }

    /// The bucket's state; `paused_until` is the account pause, which holds every bucket.
    pub(super) fn snapshot(&self, paused_until: Option<Instant>) -> BucketSnapshot {
        let st = self.lock();
        BucketSnapshot {
            name: self.name.clone(),
            rate: st.rate,
            ceiling: st.ceiling,
            burst: st.burst.get(),
            paused_until,
            waiters: st.queue.len(),
        }
    }
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("rate", &st.rate)
            .field("ceiling", &st.ceiling)
            .field("burst", &st.burst)
            .field("waiters", &st.queue.len())
            .finish_non_exhaustive()
    }
}

impl Queued for Bucket {
    fn leave(&self, id: u64) -> bool {
        self.lock().queue.leave(id)
    }

    fn wake_all(&self) {
        self.notify.notify_waiters();
    }
}
