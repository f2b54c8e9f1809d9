//! The calls the simulator remembers, the live ones among them, and how often each number
//! was dialled.
//!
//! Calls are numbered in creation order (`seq`) and kept in a deque indexed by that number.
//! A call is live until its terminal time; the live ones sit in a min-heap of end times that
//! is pruned on every request, so finishing a call costs no timer. With
//! `calls.keep_finished = N`, only the N most recently finished calls are kept: older ones
//! are forgotten in the order they finished. The per-number dial counts are never forgotten.

mod record;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use tokio::time::Instant;

pub(crate) use record::NO_SEQ;
use record::parse_call_id;
pub(crate) use record::{CallJson, CallRecord, Interner, PhoneKey, call_id, nanos};

/// Bits of a [`NumberEntry`] holding the latest call's sequence number.
const LAST_BITS: u32 = 40;

/// "Latest call unknown" in a [`NumberEntry`] (also used for a sequence number too large to
/// hold: the list then finds older calls by scanning).
const NO_LAST: u64 = (1 << LAST_BITS) - 1;

/// Largest dial count a [`NumberEntry`] holds (it saturates there).
const MAX_COUNT: u64 = (1 << (64 - LAST_BITS)) - 1;

/// How often one number was dialled (high 24 bits, saturating) and the sequence number of
/// its latest call (low 40 bits), packed into 8 bytes: this map holds every number ever
/// dialled.
#[derive(Debug, Clone, Copy)]
struct NumberEntry(u64);

impl NumberEntry {
    const NEW: NumberEntry = NumberEntry(NO_LAST);

    fn count(self) -> u64 {
        self.0 >> LAST_BITS
    }

    /// The latest call, or [`NO_SEQ`].
    fn last(self) -> u64 {
        match self.0 & NO_LAST {
            NO_LAST => NO_SEQ,
            seq => seq,
        }
    }

    /// One more call, `seq`.
    fn dialled(self, seq: u64) -> NumberEntry {
        let count = (self.count() + 1).min(MAX_COUNT);
        NumberEntry((count << LAST_BITS) | seq.min(NO_LAST))
    }
}

/// The calls of the account.
#[derive(Debug)]
pub(crate) struct CallStore {
    epoch: Instant,
    keep_finished: Option<u64>,
    /// Sequence number of `slots[0]`.
    base: u64,
    /// Call `base + i` in slot `i`; `None` once forgotten.
    slots: VecDeque<Option<CallRecord>>,
    by_id: HashMap<u64, u64>,
    numbers: HashMap<PhoneKey, NumberEntry>,
    /// Numbers dialled more than once, with their counts.
    duplicates: BTreeMap<PhoneKey, u64>,
    /// `(end, seq)` of live calls, `end` in nanoseconds since the epoch.
    live: BinaryHeap<Reverse<(u64, u64)>>,
    max_live: usize,
    /// Finished calls in the order they finished (only with `keep_finished`).
    finished: VecDeque<u64>,
    forgotten: u64,
    /// Interned agent ids and sender numbers.
    pub(crate) names: Interner,
}

impl CallStore {
    /// An empty store whose clock starts at `epoch`.
    pub(crate) fn new(epoch: Instant, keep_finished: Option<u64>) -> CallStore {
        CallStore {
            epoch,
            keep_finished,
            base: 0,
            slots: VecDeque::new(),
            by_id: HashMap::new(),
            numbers: HashMap::new(),
            duplicates: BTreeMap::new(),
            live: BinaryHeap::new(),
            max_live: 0,
            finished: VecDeque::new(),
            forgotten: 0,
            names: Interner::default(),
        }
    }

    /// Nanoseconds from the epoch to `now`.
    pub(crate) fn ns(&self, now: Instant) -> u64 {
        nanos(now.saturating_duration_since(self.epoch))
    }

    /// Releases the slots of calls that ended at or before `now`, and forgets the finished
    /// calls beyond `keep_finished`, passing each forgotten record to `on_forget`.
    pub(crate) fn prune(&mut self, now: Instant, mut on_forget: impl FnMut(&CallRecord, u64)) {
        let now_ns = self.ns(now);
        while let Some(Reverse((end, seq))) = self.live.peek().copied() {
            if end > now_ns {
                break;
            }
            self.live.pop();
            if self.keep_finished.is_some() {
                self.finished.push_back(seq);
            }
        }
        let Some(keep) = self.keep_finished else {
            return;
        };
        while self.finished.len() as u64 > keep {
            let Some(seq) = self.finished.pop_front() else {
                break;
            };
            self.forget(seq, &mut on_forget);
        }
    }

    fn forget(&mut self, seq: u64, on_forget: &mut impl FnMut(&CallRecord, u64)) {
        let Some(slot) = seq
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get_mut(i))
        else {
            return;
        };
        if let Some(rec) = slot.take() {
            self.by_id.remove(&rec.id);
            self.forgotten += 1;
            on_forget(&rec, seq);
        }
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// Calls live after the last prune.
    pub(crate) fn live(&self) -> usize {
        self.live.len()
    }

    /// Highest number of live calls seen.
    pub(crate) fn max_live(&self) -> usize {
        self.max_live
    }

    /// Calls forgotten because of `keep_finished`.
    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// Whether a call with id number `id` is stored.
    pub(crate) fn contains_id(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Stores a new call created at `now` (its `prev_same_to` is set here); returns its
    /// sequence number and whether its number had been dialled before.
    pub(crate) fn insert(&mut self, mut rec: CallRecord, now: Instant) -> (u64, bool) {
        let seq = self.base + self.slots.len() as u64;
        let entry = self.numbers.entry(rec.to).or_insert(NumberEntry::NEW);
        rec.prev_same_to = entry.last();
        *entry = entry.dialled(seq);
        let count = entry.count();
        let again = count > 1;
        if again {
            self.duplicates.insert(rec.to, count);
        }
        let end = rec.end_since_epoch_ns();
        if end > self.ns(now) {
            self.live.push(Reverse((end, seq)));
            self.max_live = self.max_live.max(self.live.len());
        } else if self.keep_finished.is_some() {
            self.finished.push_back(seq);
        }
        self.by_id.insert(rec.id, seq);
        self.slots.push_back(Some(rec));
        (seq, again)
    }

    /// The call with sequence number `seq`, unless forgotten.
    pub(crate) fn get(&self, seq: u64) -> Option<&CallRecord> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.slots.get(i)?.as_ref()
    }

    /// The call with id `id` (`call_…`), unless unknown or forgotten.
    pub(crate) fn find(&self, id: &str) -> Option<&CallRecord> {
        let n = parse_call_id(id)?;
        self.get(*self.by_id.get(&n)?)
    }

    /// Up to `limit` calls, newest first, to `to` and of `agent_id` when given. A filter
    /// value that matches no call (not E.164, an unknown agent) yields nothing.
    pub(crate) fn list(
        &self,
        to: Option<&str>,
        agent_id: Option<&str>,
        limit: usize,
    ) -> Vec<&CallRecord> {
        let mut out = Vec::new();
        let to = match to.map(PhoneKey::of) {
            Some(None) => return out,
            Some(Some(k)) => Some(k),
            None => None,
        };
        let agent = match agent_id.map(|a| self.names.find(a)) {
            Some(None) => return out,
            Some(Some(i)) => Some(i),
            None => None,
        };
        if limit == 0 {
            return out;
        }
        let keep =
            |r: &CallRecord| to.is_none_or(|k| r.to == k) && agent.is_none_or(|a| r.agent == a);
        // Newest first along the number's chain; a forgotten call breaks the chain, and the
        // older calls are then found by scanning.
        let mut scan_below = self.base + self.slots.len() as u64;
        if let Some(k) = to {
            let Some(entry) = self.numbers.get(&k) else {
                return out;
            };
            let mut cur = entry.last();
            loop {
                if cur == NO_SEQ {
                    return out;
                }
                let Some(r) = self.get(cur) else {
                    scan_below = cur;
                    break;
                };
                if keep(r) {
                    out.push(r);
                    if out.len() == limit {
                        return out;
                    }
                }
                cur = r.prev_same_to;
            }
        }
        let end = usize::try_from(scan_below.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.slots.len());
        for r in self.slots.range(..end).rev().flatten() {
            if keep(r) {
                out.push(r);
                if out.len() == limit {
                    break;
                }
            }
        }
        out
    }

    /// How many calls were placed to `to` (forgotten ones included).
    pub(crate) fn placed_to(&self, to: &str) -> u64 {
        PhoneKey::of(to)
            .and_then(|k| self.numbers.get(&k))
            .map_or(0, |e| e.count())
    }

    /// Numbers dialled more than once, with how often.
    pub(crate) fn duplicates(&self) -> impl Iterator<Item = (PhoneKey, u64)> + '_ {
        self.duplicates.iter().map(|(k, n)| (*k, *n))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lifecycle::Outcome;

    fn call(
        store: &mut CallStore,
        id: u64,
        to: &str,
        agent: &str,
        now: Instant,
        end: Duration,
    ) -> u64 {
        let agent = store.names.intern(agent);
        let record = CallRecord {
            id,
            created_ns: store.ns(now),
            end_ns: nanos(end),
            to: PhoneKey::of(to).unwrap(),
            prev_same_to: NO_SEQ,
            metadata: None,
            key: None,
            from: agent,
            agent,
            outcome: Outcome::Completed,
        };
        store.insert(record, now).0
    }

    #[test]
    fn live_calls_are_released_at_their_end() {
        let t0 = crate::clock::now();
        let mut s = CallStore::new(t0, None);
        call(&mut s, 1, "+14155550001", "a", t0, Duration::from_millis(5));
        call(
            &mut s,
            2,
            "+14155550002",
            "a",
            t0,
            Duration::from_millis(10),
        );
        s.prune(t0 + Duration::from_millis(5), |_, _| {});
        assert_eq!(s.live(), 1);
        assert_eq!(s.max_live(), 2);
        assert!(s.find(&call_id(1)).is_some(), "kept: no keep_finished");
    }

    #[test]
    fn keep_finished_forgets_the_oldest_finished_and_keeps_live_ones() {
        let t0 = crate::clock::now();
        let mut s = CallStore::new(t0, Some(2));
        let long = call(
            &mut s,
            100,
            "+14155550100",
            "a",
            t0,
            Duration::from_secs(60),
        );
        for i in 0..5 {
            call(&mut s, i, "+14155550100", "a", t0, Duration::ZERO);
        }
        let mut gone = Vec::new();
        s.prune(t0, |r, _| gone.push(r.id));
        assert_eq!(gone, [0, 1, 2]);
        assert_eq!(s.forgotten(), 3);
        assert!(s.get(long).is_some(), "a live call is never forgotten");
        assert!(s.find(&call_id(0)).is_none());
        // The chain of the number is broken by forgotten calls; the list still finds every
        // call that is kept, newest first.
        let listed: Vec<u64> = s
            .list(Some("+14155550100"), None, 10)
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, [4, 3, 100]);
        assert_eq!(s.placed_to("+14155550100"), 6);
        s.prune(t0 + Duration::from_secs(60), |r, _| gone.push(r.id));
        assert_eq!(gone, [0, 1, 2, 3], "the oldest finished call goes first");
        assert!(
            s.get(long).is_some(),
            "the long call finished last and is kept"
        );
    }

    #[test]
    fn number_entries_pack_count_and_latest_call() {
        let e = NumberEntry::NEW;
        assert_eq!((e.count(), e.last()), (0, NO_SEQ));
        let e = e.dialled(7).dialled(9);
        assert_eq!((e.count(), e.last()), (2, 9));
        let huge = e.dialled(u64::MAX - 1);
        assert_eq!(
            (huge.count(), huge.last()),
            (3, NO_SEQ),
            "too large to chain"
        );
        let mut e = NumberEntry(MAX_COUNT << LAST_BITS);
        e = e.dialled(1);
        assert_eq!(e.count(), MAX_COUNT, "saturates");
        assert_eq!(std::mem::size_of::<NumberEntry>(), 8);
    }

    #[test]
    fn list_filters_and_limits() {
        let t0 = crate::clock::now();
        let mut s = CallStore::new(t0, None);
        call(&mut s, 1, "+14155550001", "a", t0, Duration::ZERO);
        call(&mut s, 2, "+14155550002", "b", t0, Duration::ZERO);
        call(&mut s, 3, "+14155550001", "b", t0, Duration::ZERO);
        let ids = |v: Vec<&CallRecord>| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(s.list(None, None, 10)), [3, 2, 1]);
        assert_eq!(ids(s.list(None, None, 2)), [3, 2]);
        assert_eq!(ids(s.list(Some("+14155550001"), None, 10)), [3, 1]);
        assert_eq!(ids(s.list(Some("+14155550001"), Some("a"), 10)), [1]);
        assert_eq!(ids(s.list(None, Some("b"), 10)), [3, 2]);
        assert!(s.list(Some("not a number"), None, 10).is_empty());
        assert!(s.list(None, Some("agent_nobody"), 10).is_empty());
        assert!(s.list(Some("+14155550009"), None, 10).is_empty());
        assert_eq!(
            s.duplicates().collect::<Vec<_>>(),
            [(PhoneKey::of("+14155550001").unwrap(), 2)]
        );
    }
}
