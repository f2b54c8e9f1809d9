//! [`SeenNumbers`]: the numbers a run has already taken, so a repeated row is reported as a
//! duplicate instead of dialled twice — in 8 bytes a number, for lists of millions.
//!
//! A hash set of `u64` costs 16–36 bytes a number (its table is a power of two, at most 7/8
//! full, and growing it holds the old and new tables at once). Here the numbers live in one
//! sorted `Vec<u64>` (8 bytes each, grown in place) plus a small set of the latest ones;
//! the small set is merged into the vector, in place and from the back, every
//! [`MERGE_EVERY`] numbers.

use std::collections::HashSet;

/// Numbers gathered in the small set before they are merged into the sorted vector (a merge
/// moves every number once: at this size, a million numbers cost 64 merges).
const MERGE_EVERY: usize = 16 * 1024;

/// The set of numbers taken by this run.
#[derive(Debug, Default)]
pub(crate) struct SeenNumbers {
    /// Every merged number, ascending, each once.
    sorted: Vec<u64>,
    /// Numbers taken since the last merge; none of them is in `sorted`.
    recent: HashSet<u64>,
}

impl SeenNumbers {
    /// Takes `number`: `true` the first time, `false` if it was taken before.
    pub(crate) fn insert(&mut self, number: u64) -> bool {
        if self.recent.contains(&number) || self.sorted.binary_search(&number).is_ok() {
            return false;
        }
        self.recent.insert(number);
        if self.recent.len() >= MERGE_EVERY {
            self.merge();
        }
        true
    }

    /// Moves the recent numbers into the sorted vector: sorted apart, then merged from the
    /// back into the vector's new tail, so no second copy of the vector is ever made.
    fn merge(&mut self) {
        let mut fresh: Vec<u64> = self.recent.drain().collect();
        fresh.sort_unstable();
        let old = self.sorted.len();
        self.sorted.resize(old + fresh.len(), 0);
        let (mut i, mut j, mut w) = (old, fresh.len(), self.sorted.len());
        while j > 0 {
            w -= 1;
            if i > 0 && self.sorted[i - 1] > fresh[j - 1] {
                self.sorted[w] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[w] = fresh[j - 1];
                j -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator: the test needs many numbers, not a dependency.
    fn numbers(seed: u64, n: usize, range: u64) -> impl Iterator<Item = u64> {
        let mut x = seed;
        (0..n).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % range
        })
    }

    #[test]
    fn agrees_with_a_hash_set_across_many_merges() {
        for (seed, range) in [(1, 100_000), (7, 10_000_000), (42, u64::MAX)] {
            let mut seen = SeenNumbers::default();
            let mut model = HashSet::new();
            for n in numbers(seed, 5 * MERGE_EVERY + 123, range) {
                assert_eq!(seen.insert(n), model.insert(n), "number {n}, seed {seed}");
            }
            assert!(
                seen.sorted.windows(2).all(|w| w[0] < w[1]),
                "sorted, no repeats"
            );
            assert_eq!(seen.sorted.len() + seen.recent.len(), model.len());
        }
    }

    #[test]
    fn a_number_is_seen_again_after_it_was_merged() {
        let mut seen = SeenNumbers::default();
        for n in 0..MERGE_EVERY as u64 {
            assert!(seen.insert(n * 2));
        }
        assert!(seen.recent.is_empty(), "merged");
        assert!(!seen.insert(0));
        assert!(!seen.insert(2 * (MERGE_EVERY as u64 - 1)));
        assert!(seen.insert(1));
        assert!(seen.insert(u64::MAX));
        assert!(!seen.insert(u64::MAX));
    }
}
