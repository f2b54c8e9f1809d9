//! When each call this client created (or first polled) was born, so that `polling.max_wait`
//! is an absolute bound from the call's creation: calling `wait_until_done` again (a dialer
//! resuming its polls after a transient failure) does not restart it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

use crate::clock;

/// Most calls remembered; the oldest is forgotten first. A call is forgotten as soon as it is
/// seen terminal, so this holds the live (or abandoned) calls only.
const MAX_CALLS: usize = 64 * 1024;

/// Birth instants of calls, by id.
#[derive(Debug, Default)]
pub(crate) struct Births {
    calls: Mutex<(HashMap<String, Instant>, VecDeque<String>)>,
}

impl Births {
    /// Records `id` as born now, unless it is known; returns its birth.
    pub(crate) fn record(&self, id: &str) -> Instant {
        self.record_at(id, clock::now())
    }

    /// Records `id` as born at `at`, or earlier if already known; returns its birth.
    pub(crate) fn record_at(&self, id: &str, at: Instant) -> Instant {
        let mut guard = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, order) = &mut *guard;
        if let Some(born) = map.get_mut(id) {
            *born = (*born).min(at);
            return *born;
        }
        map.insert(id.to_owned(), at);
        order.push_back(id.to_owned());
        if order.len() > MAX_CALLS
            && let Some(old) = order.pop_front()
        {
            map.remove(&old);
        }
        at
    }

    /// The call ended: forget it.
    pub(crate) fn forget(&self, id: &str) {
        let mut guard = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.0.remove(id).is_some() {
            guard.1.retain(|k| k != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_birth_is_never_moved_later() {
        let b = Births::default();
        let first = b.record("c1");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.record("c1"), first);
        assert_eq!(
            b.record_at("c1", first - Duration::from_secs(1)),
            first - Duration::from_secs(1)
        );
        b.forget("c1");
        assert_eq!(b.record("c1"), clock::now());
    }
}
