//! The first-come-first-served queue of waiters, shared by the pacer's buckets and the slot
//! gate: only the head of the queue may take a cell or a slot, and a waiter that is dropped
//! leaves the queue and lets the next one move up (cancellation safety).

use std::collections::VecDeque;

/// Waiters in arrival order, by ticket id. Lives inside its owner's lock.
#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    queue: VecDeque<u64>,
    next_id: u64,
}

impl WaitQueue {
    /// Whether nobody waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// How many wait.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Joins the end of the queue; returns the new waiter's id.
    pub(crate) fn join(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back(id);
        id
    }

    /// Whether `id` is at the head.
    pub(crate) fn is_head(&self, id: u64) -> bool {
        self.queue.front() == Some(&id)
    }

    /// Removes the head (it was served).
    pub(crate) fn serve_head(&mut self) {
        self.queue.pop_front();
    }

    /// Removes `id` wherever it is; returns whether it was the head.
    pub(crate) fn leave(&mut self, id: u64) -> bool {
        let was_head = self.is_head(id);
        self.queue.retain(|&i| i != id);
        was_head
    }
}

/// The owner of a [`WaitQueue`] (behind its own lock) and of the notifier its waiters wait on.
pub(crate) trait Queued {
    /// Removes `id` from the queue; returns whether it was the head.
    fn leave(&self, id: u64) -> bool;
    /// Wakes every waiter (the head may have changed).
    fn wake_all(&self);
}

/// A place in a queue. Dropped before being served (the waiter was cancelled), it leaves the
/// queue, taking nothing, and wakes the next waiter if it was the head.
pub(crate) struct Ticket<'a, Q: Queued> {
    owner: &'a Q,
    id: u64,
    served: bool,
}

impl<'a, Q: Queued> Ticket<'a, Q> {
    /// The ticket of waiter `id` of `owner`'s queue.
    pub(crate) fn new(owner: &'a Q, id: u64) -> Self {
        Self {
            owner,
            id,
            served: false,
        }
    }

    /// Marks the waiter served (it already left the queue as its head).
    pub(crate) fn served(&mut self) {
        self.served = true;
    }
}

impl<Q: Queued> Drop for Ticket<'_, Q> {
    fn drop(&mut self) {
        if !self.served && self.owner.leave(self.id) {
            self.owner.wake_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_serve_leave() {
        let mut q = WaitQueue::default();
        let (a, b, c) = (q.join(), q.join(), q.join());
        assert!(q.is_head(a) && !q.is_head(b));
        assert!(!q.leave(b), "b was not the head");
        q.serve_head();
        assert!(q.is_head(c) && q.len() == 1);
        assert!(q.leave(c));
        assert!(q.is_empty());
    }
}
