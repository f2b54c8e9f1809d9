//! One stored call, kept compact: numbers as integers, strings interned, metadata as its
//! JSON text. A record costs under 100 bytes plus its metadata.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::lifecycle::{Outcome, Timeline};
use crate::phone::is_e164;

/// Prefix of every call id.
const CALL_ID_PREFIX: &str = "call_";

/// Hex digits after the prefix of a call id.
const CALL_ID_HEX: usize = 16;

/// "No call": the end of a per-number chain.
pub(crate) const NO_SEQ: u64 = u64::MAX;

/// An E.164 number as an integer: the digits after `+` (E.164 forbids a leading 0, so the
/// value gives the number back exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PhoneKey(u64);

impl PhoneKey {
    /// The key of `number`, or `None` when it is not E.164.
    pub(crate) fn of(number: &str) -> Option<PhoneKey> {
        if !is_e164(number) {
            return None;
        }
        number[1..].parse().ok().map(PhoneKey)
    }
}

impl std::fmt::Display for PhoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// The integer of a call id like `call_0123456789abcdef` (lower-case hex only, as issued).
pub(crate) fn parse_call_id(id: &str) -> Option<u64> {
    let hex = id.strip_prefix(CALL_ID_PREFIX)?;
    if hex.len() != CALL_ID_HEX || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The id string of call number `n`.
pub(crate) fn call_id(n: u64) -> String {
    format!("{CALL_ID_PREFIX}{n:016x}")
}

/// Saturating nanoseconds of a duration.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A stored call.
#[derive(Debug)]
pub(crate) struct CallRecord {
    /// The random part of the id.
    pub(crate) id: u64,
    /// Creation, in nanoseconds since the simulator's epoch.
    pub(crate) created_ns: u64,
    /// Terminal time, in nanoseconds after creation.
    pub(crate) end_ns: u64,
    pub(crate) to: PhoneKey,
    /// Sequence number of the previous call to the same number, or [`NO_SEQ`].
    pub(crate) prev_same_to: u64,
    /// The `metadata` given at creation, as JSON text; `None` when absent or null.
    pub(crate) metadata: Option<Box<RawValue>>,
    /// The Idempotency-Key of the create, forgotten together with the call.
    pub(crate) key: Option<Arc<str>>,
    /// Interned `from_number`.
    pub(crate) from: u32,
    /// Interned `agent_id`.
    pub(crate) agent: u32,
    pub(crate) outcome: Outcome,
}

impl CallRecord {
    /// The call's lifecycle.
    pub(crate) fn timeline(&self) -> Timeline {
        Timeline {
            end_at: Duration::from_nanos(self.end_ns),
            outcome: self.outcome,
        }
    }

    /// Nanoseconds since the epoch at which the call becomes terminal.
    pub(crate) fn end_since_epoch_ns(&self) -> u64 {
        self.created_ns.saturating_add(self.end_ns)
    }
}

/// The JSON form of a call at one instant:
/// `{id, status, to, from_number, agent_id, created_at, metadata}`.
#[derive(Debug, Serialize)]
pub(crate) struct CallJson<'a> {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) to: String,
    pub(crate) from_number: &'a str,
    pub(crate) agent_id: &'a str,
    pub(crate) created_at: String,
    pub(crate) metadata: Option<&'a RawValue>,
}

/// Strings interned to `u32` indexes (agent ids, sender numbers: a handful per account).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    names: Vec<Arc<str>>,
    index: std::collections::HashMap<Arc<str>, u32>,
}

impl Interner {
    /// The index of `s`, adding it when new.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let name: Arc<str> = Arc::from(s);
        self.names.push(name.clone());
        self.index.insert(name, i);
        i
    }

    /// The index of `s`, if interned.
    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    /// The string of index `i` (empty for an unknown index).
    pub(crate) fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("", |s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keys_round_trip() {
        for n in [
            "+14155550100",
            "+447700900999",
            "+1234567",
            "+999999999999999",
        ] {
            assert_eq!(PhoneKey::of(n).unwrap().to_string(), n);
        }
        assert!(PhoneKey::of("14155550100").is_none());
        assert!(PhoneKey::of(" 14155550100").is_none());
    }

    #[test]
    fn call_ids_round_trip() {
        assert_eq!(parse_call_id(&call_id(0xdead_beef)), Some(0xdead_beef));
        assert_eq!(parse_call_id("call_0000000000000000"), Some(0));
        assert!(parse_call_id("call_DEADBEEF00000000").is_none());
        assert!(parse_call_id("call_x").is_none());
        assert!(parse_call_id("msg_0000000000000000").is_none());
    }

    /// Regression guard for memory: a million stored calls must stay near 100 MB.
    #[test]
    fn a_record_is_compact() {
        assert!(std::mem::size_of::<Option<CallRecord>>() <= 96);
    }
}
