//! Idempotency keys of creates that ended ambiguous while the server honours keys: a resend
//! under such a key starts as "may have acted", so no answer to it (a `409` for the key still
//! in use, say) can turn it into a plain failure while the first send may be placing the call.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Most keys remembered; the oldest is forgotten first. Bounded so a long outage cannot grow
/// the set without limit (64 Ki keys of ~40 bytes: a few MB).
const MAX_KEYS: usize = 64 * 1024;

/// The keys in doubt.
#[derive(Debug, Default)]
pub(crate) struct InDoubt {
    keys: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl InDoubt {
    /// Remembers a key whose create may have acted.
    pub(crate) fn insert(&self, key: &str) {
        let mut guard = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, order) = &mut *guard;
        if set.insert(key.to_owned()) {
            order.push_back(key.to_owned());
            if order.len() > MAX_KEYS
                && let Some(old) = order.pop_front()
            {
                set.remove(&old);
            }
        }
    }

    /// Whether a key's earlier create may have acted.
    pub(crate) fn contains(&self, key: &str) -> bool {
        let guard = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        !guard.0.is_empty() && guard.0.contains(key)
    }

    /// The key's create succeeded: no longer in doubt.
    pub(crate) fn remove(&self, key: &str) {
        let mut guard = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.0.remove(key) {
            guard.1.retain(|k| k != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_remembered_until_success() {
        let d = InDoubt::default();
        assert!(!d.contains("a"));
        d.insert("a");
        d.insert("a");
        assert!(d.contains("a"));
        d.remove("a");
        assert!(!d.contains("a"));
    }
}
