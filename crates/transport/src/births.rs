//! When each call this client created (or first polled) was born, so that `polling.max_wait`
//! is an absolute bound from the call's creation: calling `wait_until_done` again (a dialer
//! resuming its polls after a transient failure) does not restart it.
//!
//! A call is forgotten as soon as this client sees it terminal (a status read, a list read
//! or the end of `wait_until_done`), so the map holds the live calls only. Calls abandoned
//! while live are evicted oldest first once the map is full.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

use crate::clock;

/// Most calls remembered (assumed: far above any account's concurrent-call limit, and a
/// bound on memory, about 64 bytes a call). When full, the oldest eighth is forgotten.
const MAX_CALLS: usize = 64 * 1024;

/// Birth instants of calls, by id.
#[derive(Debug, Default)]
pub(crate) struct Births {
    calls: Mutex<HashMap<String, Instant>>,
}

impl Births {
    /// Records `id` as born now, unless it is known; returns its birth.
    pub(crate) fn record(&self, id: &str) -> Instant {
        self.record_at(id, clock::now())
    }

    /// Records `id` as born at `at`, or earlier if already known; returns its birth.
    pub(crate) fn record_at(&self, id: &str, at: Instant) -> Instant {
        let mut map = self.lock();
        if let Some(born) = map.get_mut(id) {
            *born = (*born).min(at);
            return *born;
        }
        if map.len() >= MAX_CALLS {
            evict_oldest(&mut map);
        }
        map.insert(id.to_owned(), at);
        at
    }

    /// The call ended (or was seen terminal): forget it.
    pub(crate) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Calls remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets the oldest eighth of `map` (at least one call): O(n) once per n/8 inserts.
fn evict_oldest(map: &mut HashMap<String, Instant>) {
    let mut births: Vec<Instant> = map.values().copied().collect();
    if births.is_empty() {
        return;
    }
    let nth = births.len() / 8;
    let (_, cutoff, _) = births.select_nth_unstable(nth);
    let cutoff = *cutoff;
    map.retain(|_, born| *born > cutoff);
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

    #[tokio::test(start_paused = true)]
    async fn a_full_map_forgets_its_oldest_calls_first() {
        let b = Births::default();
        let start = clock::now();
        for i in 0..MAX_CALLS {
            b.record_at(&format!("c{i}"), start + Duration::from_millis(i as u64));
        }
        assert_eq!(b.len(), MAX_CALLS);
        let newest = start + Duration::from_secs(3600);
        b.record_at("new", newest);
        assert!(b.len() < MAX_CALLS, "room was made");
        assert!(b.len() > MAX_CALLS / 2, "only the oldest part went");
        // The newest calls keep their births; the oldest was forgotten (recorded afresh).
        let last = format!("c{}", MAX_CALLS - 1);
        let last_born = start + Duration::from_millis(MAX_CALLS as u64 - 1);
        assert_eq!(b.record_at(&last, newest), last_born);
        assert_eq!(b.record_at("c0", newest), newest);
    }
}
