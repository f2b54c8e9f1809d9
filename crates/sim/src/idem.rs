//! The Idempotency-Key store: what was answered under each key, and how many calls each key
//! created.
//!
//! A key that created a call replays from the stored call (no copy of the response body is
//! kept), and is forgotten together with that call (`calls.keep_finished`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

/// The Idempotency-Key of a request, handed by the middleware to the handler (request
/// extension) so the created call remembers it.
#[derive(Debug, Clone)]
pub(crate) struct IdemKey(pub(crate) Arc<str>);

/// The sequence number of the call a create made, handed back to the middleware (response
/// extension) so the key replays from the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CreatedCall(pub(crate) u64);

/// What a completed request is replayed from.
#[derive(Debug, Clone)]
pub(crate) enum Replay {
    /// The stored body of the first answer (boxed: keeps every entry small).
    Body(Box<Bytes>),
    /// The call the first request created, by sequence number, rendered as it was at
    /// creation.
    Call(u64),
}

/// The idempotency record of one key.
#[derive(Debug, Clone)]
pub(crate) enum IdemEntry {
    /// The first request is still being handled.
    InFlight,
    /// The first request acted; repeats are answered with `status` and this replay.
    Done { status: u16, replay: Replay },
}

#[derive(Debug, Default)]
struct KeyState {
    entry: Option<IdemEntry>,
    /// Calls created under the key.
    creates: u32,
}

/// What a POST with a key meets.
#[derive(Debug)]
pub(crate) enum Begin {
    /// The key already acted: replay this.
    Replay { status: u16, replay: Replay },
    /// The first request under the key is still in flight.
    InFlight,
    /// The request runs; the key (shared with the store) is now in flight.
    Started(Arc<str>),
}

/// Keys seen, account-wide (the simulator has one account).
#[derive(Debug, Default)]
pub(crate) struct IdemStore {
    keys: HashMap<Arc<str>, KeyState>,
}

impl IdemStore {
    /// The shared form of `key`, adding an empty entry when new.
    fn key(&mut self, key: &str) -> Arc<str> {
        if let Some((k, _)) = self.keys.get_key_value(key) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(key);
        self.keys.insert(k.clone(), KeyState::default());
        k
    }

    /// Starts a request under `key` (keys honoured).
    pub(crate) fn begin(&mut self, key: &str) -> Begin {
        let k = self.key(key);
        let state = self.keys.entry(k.clone()).or_default();
        match &state.entry {
            Some(IdemEntry::Done { status, replay }) => Begin::Replay {
                status: *status,
                replay: replay.clone(),
            },
            Some(IdemEntry::InFlight) => Begin::InFlight,
            None => {
                state.entry = Some(IdemEntry::InFlight);
                Begin::Started(k)
            }
        }
    }

    /// Records the answer of the request that acted under `key`.
    pub(crate) fn complete(&mut self, key: &str, status: u16, replay: Replay) {
        if let Some(state) = self.keys.get_mut(key) {
            state.entry = Some(IdemEntry::Done { status, replay });
        }
    }

    /// Forgets an in-flight entry whose request did not act, so a retry runs afresh.
    pub(crate) fn abandon(&mut self, key: &str) {
        if let Some(state) = self.keys.get_mut(key)
            && matches!(state.entry, Some(IdemEntry::InFlight))
        {
            state.entry = None;
            if state.creates == 0 {
                self.keys.remove(key);
            }
        }
    }

    /// Counts a creation under `key`; true when the key had created something before.
    pub(crate) fn count_create(&mut self, key: Arc<str>) -> bool {
        let state = self.keys.entry(key).or_default();
        state.creates = state.creates.saturating_add(1);
        state.creates > 1
    }

    /// Forgets `key` together with call `seq` (unless a request under it is in flight).
    pub(crate) fn forget(&mut self, key: &str, seq: u64) {
        let Some(state) = self.keys.get(key) else {
            return;
        };
        let ours = match &state.entry {
            None => true,
            Some(IdemEntry::Done {
                replay: Replay::Call(s),
                ..
            }) => *s == seq,
            Some(_) => false,
        };
        if ours {
            self.keys.remove(key);
        }
    }

    /// Keys remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_complete_replay_forget() {
        let mut s = IdemStore::default();
        let Begin::Started(k) = s.begin("k1") else {
            panic!("new key starts");
        };
        assert!(matches!(s.begin("k1"), Begin::InFlight));
        assert!(!s.count_create(k.clone()));
        s.complete(&k, 201, Replay::Call(7));
        assert!(matches!(
            s.begin("k1"),
            Begin::Replay {
                status: 201,
                replay: Replay::Call(7)
            }
        ));
        s.forget("k1", 8);
        assert_eq!(s.len(), 1, "another call's forgetting leaves the key");
        s.forget("k1", 7);
        assert_eq!(s.len(), 0);
    }

    /// Regression guard for memory: one entry per key ever used on a create.
    #[test]
    fn an_entry_is_small() {
        assert!(std::mem::size_of::<KeyState>() <= 32);
    }

    #[test]
    fn abandoned_keys_run_afresh() {
        let mut s = IdemStore::default();
        assert!(matches!(s.begin("k"), Begin::Started(_)));
        s.abandon("k");
        assert_eq!(s.len(), 0);
        assert!(matches!(s.begin("k"), Begin::Started(_)));
    }
}
