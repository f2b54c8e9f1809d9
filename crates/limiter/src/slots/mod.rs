//! Call slots: how many calls may be live at once.
//!
//! Why a gate and not only the request rate: the API limits live calls
//! (`concurrent_call_limit`), and a call lives for minutes after the request that created it.
//! A create takes a [`CallSlot`] that the caller keeps for the life of the call; the gate's
//! limit shrinks to what is live when the server says the limit was hit, and climbs back by
//! one after a run of successful creates (AIMD).
//!
//! [`SlotGate`] is the seam: [`InProcessSlotGate`] here, Redis leases for fleets later.

mod in_process;

use std::fmt;

use futures::future::BoxFuture;
use redial_policy::config::SlotsConfig;

pub use in_process::InProcessSlotGate;

/// A gate of concurrent-call permits.
pub trait SlotGate: Send + Sync + fmt::Debug {
    /// Waits for a free slot, first come first served. Cancellation-safe: a dropped waiter
    /// holds no slot.
    fn acquire(&self) -> BoxFuture<'_, CallSlot>;
    /// The server answered `concurrent_call_limit`: lower the limit to the slots held now
    /// (at least 1). Release the slot of the rejected create before calling this, so the
    /// new limit is the number of live calls.
    fn on_limit_hit(&self);
    /// A call was created: after `increase_after` of these the limit climbs by one, up to
    /// the configured maximum.
    fn on_created(&self);
    /// The current limit.
    fn limit(&self) -> u32;
    /// Slots held now.
    fn held(&self) -> u32;
    /// Applies a new `[slots]` config, keeping held slots and waiters.
    fn reconfigure(&self, config: &SlotsConfig);
}

/// What a backend does when a [`CallSlot`] is released (implemented by each [`SlotGate`]).
pub trait SlotLease: Send + Sync + fmt::Debug {
    /// Frees the slot; called exactly once, by [`CallSlot::release`] or its drop.
    fn release(&self);
}

/// One held call slot: keep it for the life of the call; dropping it frees the slot.
#[derive(Debug)]
#[must_use = "dropping a CallSlot frees the slot at once"]
pub struct CallSlot {
    lease: Option<Box<dyn SlotLease>>,
}

impl CallSlot {
    /// Wraps a backend's lease; for [`SlotGate`] implementations.
    pub fn new(lease: impl SlotLease + 'static) -> Self {
        Self {
            lease: Some(Box::new(lease)),
        }
    }

    /// Frees the slot now (the same as dropping it, but says so).
    pub fn release(mut self) {
        self.free();
    }

    fn free(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.free();
    }
}
