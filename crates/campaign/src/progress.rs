//! [`Progress`]: live counters of a running campaign, for progress displays and dashboards.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Counters the engine updates as a campaign runs; read them from any task while it runs
/// (`Campaign::progress`). Relaxed atomics: each is exact, a set of them is not a snapshot.
#[derive(Debug, Default)]
pub struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    retries: AtomicU64,
    live: AtomicU32,
    max_live: AtomicU32,
}

impl Progress {
    /// Records the source's size hint.
    pub(crate) fn set_total(&self, total: Option<u64>) {
        self.total.store(total.unwrap_or(0), Ordering::Relaxed);
    }

    /// Records a finished contact and the create attempts beyond its first.
    pub(crate) fn contact_done(&self, attempts: u32) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.retries
            .fetch_add(u64::from(attempts.saturating_sub(1)), Ordering::Relaxed);
    }

    /// Records a sample of the calls live now (call slots held).
    pub fn saw_live(&self, n: u32) {
        self.live.store(n, Ordering::Relaxed);
        self.max_live.fetch_max(n, Ordering::Relaxed);
    }

    /// Records in the source, when it said (0 when unknown).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Contacts with their outcome written.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Create attempts beyond each contact's first, so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Calls live at the last sample.
    pub fn live(&self) -> u32 {
        self.live.load(Ordering::Relaxed)
    }

    /// The most calls seen live at once.
    pub fn max_live(&self) -> u32 {
        self.max_live.load(Ordering::Relaxed)
    }
}
