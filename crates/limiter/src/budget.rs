//! The retry budget: retries may add at most `ratio` of the request rate.
//!
//! Why a budget and not only a maximum number of attempts: see
//! [`redial_policy::RetryBudget`]. This is Finagle's `RetryBudget` as tower's
//! `tower::retry::budget::TpsBudget` implements it, written again because `TpsBudget` reads
//! `std::time::Instant` directly and so cannot run on tokio's paused clock; this one reads
//! [`crate::clock`].
//!
//! Accounting: over a sliding `window` (in ten slots), the retries withdrawn
//! (in cost units) may not exceed `ratio` x the requests deposited plus a reserve of
//! `min_per_second` x `window` units, so a quiet client can still retry.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics::Counter;
use redial_policy::RetryBudget;
use redial_policy::config::BudgetConfig;
use tokio::time::Instant;

use crate::clock;
use crate::metrics as m;

/// Slots of the sliding window; it slides by `window / WINDOW_SLOTS`.
const WINDOW_SLOTS: usize = 10;

/// A Finagle-style retry budget on tokio's clock.
///
/// ```
/// use redial_limiter::Budget;
/// use redial_policy::{RetryBudget, config::BudgetConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let budget = Budget::new(&BudgetConfig { ratio: 0.5, min_per_second: 0, ..Default::default() });
/// budget.deposit();
/// budget.deposit();
/// assert!(budget.try_withdraw(1.0)); // 2 requests x 0.5
/// assert!(!budget.try_withdraw(1.0));
/// # });
/// ```
pub struct Budget {
    inner: Mutex<Inner>,
    refusals: Counter,
}

struct Inner {
    config: BudgetConfig,
    epoch: Instant,
    slots: [Slot; WINDOW_SLOTS],
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    index: u64,
    deposits: u64,
    withdrawn: f64,
}

impl Inner {
    fn index(&self, now: Instant) -> u64 {
        let width = (self.config.window / WINDOW_SLOTS as u32).max(Duration::from_millis(1));
        // Starts at 1 so that a zeroed slot never counts as current.
        1 + crate::clock::slot_index(now.saturating_duration_since(self.epoch), width)
    }

    fn slot(&mut self, index: u64) -> &mut Slot {
        let slot = &mut self.slots[(index % WINDOW_SLOTS as u64) as usize];
        if slot.index != index {
            *slot = Slot {
                index,
                ..Slot::default()
            };
        }
        slot
    }

    fn available(&self, index: u64) -> f64 {
        let (deposits, withdrawn) = self
            .slots
            .iter()
            .filter(|s| s.index <= index && s.index + (WINDOW_SLOTS as u64) > index)
            .fold((0u64, 0.0), |(d, w), s| (d + s.deposits, w + s.withdrawn));
        let reserve = f64::from(self.config.min_per_second) * self.config.window.as_secs_f64();
        self.config.ratio * deposits as f64 + reserve - withdrawn
    }
}

impl Budget {
    /// A budget with nothing deposited (only the `min_per_second` reserve available).
    pub fn new(config: &BudgetConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                config: config.clone(),
                epoch: clock::now(),
                slots: [Slot::default(); WINDOW_SLOTS],
            }),
            refusals: metrics::counter!(m::BUDGET_REFUSALS),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one original (non-retry) request.
    pub fn deposit(&self) {
        let now = clock::now();
        let mut inner = self.lock();
        let index = inner.index(now);
        inner.slot(index).deposits += 1;
    }

    /// Units a retry could withdraw now.
    pub fn available(&self) -> f64 {
        let now = clock::now();
        let inner = self.lock();
        inner.available(inner.index(now))
    }

    /// Applies a new `[budget]` config; the window restarts when its length changed.
    pub fn reconfigure(&self, config: &BudgetConfig) {
        let mut inner = self.lock();
        if inner.config.window != config.window {
            inner.slots = [Slot::default(); WINDOW_SLOTS];
        }
        inner.config = config.clone();
    }
}

impl RetryBudget for Budget {
    /// Takes `cost` units for one retry; `false` (and a refusal counted) when fewer are
    /// available. Always `true` when the budget is disabled.
    fn try_withdraw(&self, cost: f64) -> bool {
        let now = clock::now();
        let mut inner = self.lock();
        if !inner.config.enabled {
            return true;
        }
        let index = inner.index(now);
        if inner.available(index) >= cost {
            inner.slot(index).withdrawn += cost;
            true
        } else {
            drop(inner);
            self.refusals.increment(1);
            false
        }
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Budget")
            .field("config", &inner.config)
            .finish_non_exhaustive()
    }
}
