//! [`CancelHandle`]: stop a running campaign from outside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Stops a campaign: no new contact is dialled, a contact still waiting for a call slot or
/// the pacer is not sent (it ends `halted`, code `interrupted`, re-dialable), the calls
/// already placed are followed to their end, and `run` returns the summary. Cloning shares
/// the handle; cancelling twice is the same as once.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelHandle {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the campaign to stop.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Completes once a stop is asked for (at once if it already was).
    pub async fn cancelled(&self) {
        loop {
            // Registered before the flag is read, so a cancel in between is not missed.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waiters_wake_on_cancel_and_late_waiters_do_not_wait() {
        let handle = CancelHandle::new();
        let waiter = tokio::spawn({
            let h = handle.clone();
            async move { h.cancelled().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        handle.cancel();
        waiter.await.unwrap();
        handle.cancelled().await;
        assert!(handle.is_cancelled());
    }
}
