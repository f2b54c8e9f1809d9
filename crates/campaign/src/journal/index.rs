//! [`PriorIndex`]: where in the journal file each contact's latest record is, in a few bytes
//! per contact, so that resuming a journal of a million contacts costs megabytes, not the
//! records themselves.
//!
//! A contact's key is kept as a 64-bit hash, not a string; the record itself stays in the
//! file and is read back (and its key checked) when the engine asks. Two keys with one hash
//! cannot be told apart by the hash, so the second and later keys of a hash are kept by
//! their full text: correct for any input, and as small as a hash for all but the rare
//! collision.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;

/// Latest record offset by contact key.
#[derive(Debug, Default)]
pub(crate) struct PriorIndex {
    by_hash: HashMap<u64, u64>,
    /// Keys whose hash an earlier, different key already has.
    collided: HashMap<String, u64>,
}

impl PriorIndex {
    /// Records that `key`'s latest record starts at `offset`; returns whether `key` had an
    /// earlier record. `key_at` reads the key of the record at an offset (called only when
    /// `key`'s hash is already taken).
    ///
    /// # Errors
    /// The error of `key_at`.
    pub(crate) fn insert(
        &mut self,
        key: &str,
        offset: u64,
        mut key_at: impl FnMut(u64) -> io::Result<String>,
    ) -> io::Result<bool> {
        if let Some(slot) = self.collided.get_mut(key) {
            *slot = offset;
            return Ok(true);
        }
        let hash = hash(key);
        match self.by_hash.get(&hash) {
            Some(&earlier) if key_at(earlier)? != key => {
                self.collided.insert(key.to_owned(), offset);
                Ok(false)
            }
            earlier => {
                let had = earlier.is_some();
                self.by_hash.insert(hash, offset);
                Ok(had)
            }
        }
    }

    /// Takes (forgets) the offset filed for `key`, if any. The caller checks that the record
    /// there is `key`'s: a key never recorded may share its hash with one that was.
    pub(crate) fn take(&mut self, key: &str) -> Option<u64> {
        self.collided
            .remove(key)
            .or_else(|| self.by_hash.remove(&hash(key)))
    }

    /// Puts back an offset taken for a key whose record turned out to be another key's.
    pub(crate) fn restore(&mut self, key: &str, offset: u64) {
        self.by_hash.insert(hash(key), offset);
    }

    /// Keys filed.
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len() + self.collided.len()
    }
}

/// The 64-bit hash of a key: SipHash with fixed keys, the same in every process.
fn hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_maps_to_its_latest_offset_once() {
        let mut index = PriorIndex::default();
        let keys = |o: u64| Ok(format!("k{}", o / 100));
        assert!(!index.insert("k1", 100, keys).unwrap());
        assert!(index.insert("k1", 150, |_| Ok("k1".to_owned())).unwrap());
        assert!(!index.insert("k2", 200, keys).unwrap());
        assert_eq!(index.len(), 2);
        assert_eq!(index.take("k1"), Some(150));
        assert_eq!(index.take("k1"), None);
        assert_eq!(index.take("k2"), Some(200));
    }

    #[test]
    fn keys_sharing_a_hash_stay_apart() {
        // Simulate a collision: the record at the filed offset names another key.
        let mut index = PriorIndex::default();
        index.insert("a", 10, |_| unreachable!()).unwrap();
        index.by_hash.insert(hash("b"), 10); // "b" now appears to share "a"'s slot
        assert!(!index.insert("b", 20, |_| Ok("a".to_owned())).unwrap());
        assert!(index.insert("b", 30, |_| unreachable!()).unwrap());
        assert_eq!(index.take("b"), Some(30), "kept by its full key");
        assert_eq!(index.take("a"), Some(10));
    }
}
