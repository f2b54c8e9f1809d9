//! Loading the contact list into the campaign's stream (the first process only), and the
//! list's fingerprint that every joining process compares with its own file.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::conn::Conn;
use super::error::RedisWorkError;
use super::keys::Keys;
use super::{LOAD_LEASE, reply, scripts};
use crate::contact::{Contact, InvalidContact, SourceItem};
use crate::source::{ContactsError, CsvSource};

/// Records appended per script call (assumed: a batch runs in about a millisecond on Redis).
const BATCH: usize = 500;
/// FNV-1a 64-bit offset basis (the FNV specification).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime (the FNV specification).
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A contacts file's name, size and content hash (FNV-1a 64, stable across builds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) hash: String,
}

impl Fingerprint {
    pub(crate) fn of(path: &Path) -> Result<Self, RedisWorkError> {
        let read_error = |source| {
            RedisWorkError::Contacts(ContactsError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut file = File::open(path).map_err(|source| {
            RedisWorkError::Contacts(ContactsError::Open {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let mut hash = FNV_OFFSET;
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(read_error)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            for &b in &buf[..n] {
                hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            }
        }
        Ok(Self {
            name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            bytes,
            hash: format!("{hash:016x}"),
        })
    }
}

/// One record of the list as stored in the stream (field `c`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Line in the contacts file.
    pub(crate) l: u64,
    /// The number (as written, for a malformed record).
    pub(crate) p: String,
    /// The contact key, when it is not the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) k: Option<String>,
    /// Call metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) m: Option<Map<String, Value>>,
    /// Why the record cannot be dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bad: Option<String>,
}

impl Entry {
    fn of(item: SourceItem, first_line: &mut HashMap<String, u64>) -> Self {
        match item {
            SourceItem::Contact(c) => {
                if let Some(first) = first_line.get(&c.key) {
                    // A campaign dials a number once: the second record is reported, not
                    // handed out (processes cannot see each other's duplicates).
                    return Self {
                        l: c.line,
                        bad: Some(format!(
                            "duplicate_contact: {} is already at line {first}; not dialled twice",
                            c.phone
                        )),
                        p: c.phone,
                        k: None,
                        m: None,
                    };
                }
                first_line.insert(c.key.clone(), c.line);
                Self {
                    l: c.line,
                    k: (c.key != c.phone).then_some(c.key),
                    p: c.phone,
                    m: (!c.metadata.is_empty()).then_some(c.metadata),
                    bad: None,
                }
            }
            SourceItem::Invalid(bad) => Self {
                l: bad.line,
                p: bad.phone,
                k: None,
                m: None,
                bad: Some(bad.reason),
            },
        }
    }

    /// The record for the engine.
    pub(crate) fn into_item(self) -> SourceItem {
        match self.bad {
            Some(reason) => SourceItem::Invalid(InvalidContact::new(self.l, self.p, reason)),
            None => {
                let mut c = Contact::new(self.p).at_line(self.l);
                if let Some(k) = self.k {
                    c = c.with_key(k);
                }
                c.metadata = self.m.unwrap_or_default();
                SourceItem::Contact(c)
            }
        }
    }

    /// The contact key (`None` for a record that cannot be dialled).
    pub(crate) fn key(&self) -> Option<String> {
        if self.bad.is_some() {
            return None;
        }
        Some(self.k.clone().unwrap_or_else(|| self.p.clone()))
    }
}

/// Loads `contacts` into the stream in batches, then opens run 1. Returns without error
/// when another process took the load over (the caller joins again).
pub(crate) async fn load(
    conn: &Conn,
    keys: &Keys,
    me: &str,
    contacts: &Path,
    presence_ms: u64,
) -> Result<(), RedisWorkError> {
    let mut source = CsvSource::open(contacts)?;
    let lease_ms = u64::try_from(LOAD_LEASE.as_millis()).unwrap_or(u64::MAX);
    let mut first_line = HashMap::new();
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut index = 0u64;
    let mut total = 0u64;
    loop {
        let item = source.next_row()?;
        let end = item.is_none();
        if let Some(item) = item {
            let entry = Entry::of(item, &mut first_line);
            batch.push(
                serde_json::to_string(&entry).map_err(|e| RedisWorkError::Corrupt {
                    what: "contact",
                    detail: e.to_string(),
                })?,
            );
            total += 1;
        }
        if batch.len() == BATCH || (end && !batch.is_empty()) {
            let mut inv = scripts::LOAD.prepare_invoke();
            inv.key(keys.marker())
                .key(keys.stream())
                .arg(me)
                .arg(lease_ms)
                .arg(index);
            for e in batch.drain(..) {
                inv.arg(e);
            }
            let (v, _) = conn.call("load", &inv).await?;
            match reply::tag(&v).as_deref() {
                Some("ok") => index += 1,
                Some("notloader") => {
                    tracing::warn!("another process took the loading of the list over");
                    return Ok(());
                }
                _ => return Err(reply::corrupt("load", &v)),
            }
        }
        if end {
            break;
        }
    }
    let mut inv = scripts::FINISH_LOAD.prepare_invoke();
    inv.key(keys.marker())
        .key(keys.stream())
        .key(keys.processes())
        .arg(me)
        .arg(total)
        .arg(presence_ms);
    let (v, _) = conn.call("finish_load", &inv).await?;
    match reply::tag(&v).as_deref() {
        Some("ok") => {
            tracing::info!(records = total, "contact list loaded into Redis");
            Ok(())
        }
        Some("notloader") => Ok(()),
        _ => Err(reply::corrupt("finish_load", &v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_duplicates_are_reported() {
        let mut first = HashMap::new();
        let a = Contact::new("+447446466801")
            .at_line(2)
            .with_field("name", "Ada");
        let e = Entry::of(SourceItem::Contact(a.clone()), &mut first);
        assert_eq!(e.key().as_deref(), Some("+447446466801"));
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("\"k\""), "the key is the number: {json}");
        let back: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.into_item(), SourceItem::Contact(a.clone()));
        let dup = Entry::of(SourceItem::Contact(a.at_line(9)), &mut first);
        assert_eq!(dup.key(), None);
        let SourceItem::Invalid(bad) = dup.into_item() else {
            panic!("a duplicate cannot be dialled")
        };
        assert_eq!(bad.line, 9);
        assert!(bad.reason.contains("duplicate_contact") && bad.reason.contains("line 2"));
        let keyed = Contact::new("+447446466802").with_key("crm-7").at_line(3);
        let e = Entry::of(SourceItem::Contact(keyed.clone()), &mut first);
        assert_eq!(e.key().as_deref(), Some("crm-7"));
        assert_eq!(e.into_item(), SourceItem::Contact(keyed));
    }

    #[test]
    fn the_fingerprint_tells_lists_apart() {
        let dir = std::env::temp_dir().join(format!("redial-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
        std::fs::write(&a, "phone\n+447446466801\n").unwrap();
        std::fs::write(&b, "phone\n+447446466802\n").unwrap();
        let (fa, fb) = (Fingerprint::of(&a).unwrap(), Fingerprint::of(&b).unwrap());
        assert_eq!(fa.bytes, fb.bytes);
        assert_ne!(fa.hash, fb.hash);
        assert_eq!(fa, Fingerprint::of(&a).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
