//! [`FileJournal`]: progress that survives a crash (even `kill -9`).
//!
//! An append-only JSON-lines file. The first record is a header with the campaign id (from
//! which every contact's idempotency key is derived) and the agent. Then, per contact, a
//! `started` record is written and flushed to the OS *before* its create is sent, and a
//! `finished` record with the full result line after. Finished records are `fsync`ed in
//! batches ([`SYNC_EVERY`] records or [`SYNC_INTERVAL`]), started records are only flushed:
//! a process crash loses nothing that was written; a power loss may lose the last batch of
//! finished records, whose contacts then count as started (never dialled twice when keys are
//! honoured, reported `ambiguous` when they are not).
//!
//! On a rerun the journal is read back into a [`Prior`]: finished contacts are re-emitted, not
//! dialled; started-but-unfinished contacts are retried with the same key (or reported
//! ambiguous).
//!
//! # A damaged journal is refused, never guessed at
//!
//! Reading it back, exactly one kind of damage is repaired: a **torn last line** (no line
//! break at the end, and the start of a record: the process died while writing it). It never
//! took effect, so it is cut off (with a warning) before anything is appended, and the next
//! record starts on a line of its own. Everything else stops the run with
//! [`JournalError::Mismatch`] naming the line:
//!
//! - a line that is not a record (corrupted, truncated, or a torn line followed by more
//!   records), wherever it is — the last complete line included, since a crash cannot leave a
//!   complete line that does not parse;
//! - a line longer than [`MAX_RECORD_BYTES`] (it is never read whole);
//! - a first record that is not the header, a second header (two journals joined), a header
//!   of another format version, agent or contacts file;
//! - a `placed` record, or a `finished` one with a call id, for a contact with no earlier
//!   record (a call cannot exist before its `started`): a record of another journal, or a
//!   damaged one.
//!
//! Duplicate records are accepted, the latest winning: a rerun writes a contact's `started`
//! again when it resends, and a second `finished` when it follows a call left live. A
//! `finished` record without a call id needs no `started` (suppressed, halted and stopped
//! contacts never sent anything). A `started` or `placed` record whose idempotency key is not
//! the one this campaign derives for its contact is logged as a warning and kept (journals
//! written by hand or by tests carry other keys). Damage that still parses as a consistent
//! record (a digit flipped inside a number) cannot be told from a real record: the format has
//! no checksums.
//!
//! A contact is known by its key (the CSV source's key is the phone number: a campaign dials
//! each number once), never by its line in the contacts file: editing or reordering the file
//! between runs neither loses a finished contact nor changes its idempotency key. Records of
//! journals written before contact keys existed carry only the number, which was the key. The
//! journal records which contacts file it belongs to and refuses another. It is locked for the
//! run: a second process on the same journal is refused instead of dialling the same contacts.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use super::index::PriorIndex;
use super::{Journal, PriorState, idempotency_key};
use crate::contact::Contact;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// Journal format version written in the header.
pub const VERSION: u32 = 1;
/// `fsync` the journal after this many finished records.
pub const SYNC_EVERY: u32 = 64;
/// ... or when this long has passed since the last sync.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Longest journal line, bytes: a longer line is refused unread, and a record this long is
/// never written. Assumed: the largest record is a `finished` one whose error carries a
/// server message and `details` of at most 64 KiB each (`MAX_ERROR_BODY_BYTES`), twice with
/// the support report; 4 MiB is far above that and far below exhausting memory.
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// How every record this journal writes begins (the tag comes first): a torn last line is
/// a prefix of a record, so it begins with this too, or is a prefix of it.
const RECORD_START: &[u8] = b"{\"kind\":\"";

/// Most bytes of a damaged line quoted in an error.
const QUOTED_BYTES: usize = 40;

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// First record: which campaign this is.
    Header {
        /// Format version.
        version: u32,
        /// The campaign id: the namespace of every idempotency key.
        campaign_id: Uuid,
        /// The agent dialling.
        agent: String,
        /// The contacts file (canonical path).
        contacts: String,
        /// Unix seconds when the journal was created.
        created_at: u64,
    },
    /// A create is about to be sent.
    Started {
        /// Contacts-file line.
        line: u64,
        /// The number.
        phone: String,
        /// The Idempotency-Key the create carries.
        key: String,
        /// The contact's key, when it is not the number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<String>,
        /// When (Unix milliseconds, wall clock); absent in older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
    },
    /// The create succeeded: the call exists.
    Placed {
        /// The contact's key.
        contact: String,
        /// The Idempotency-Key the create carried.
        key: String,
        /// The call's id.
        call_id: String,
    },
    /// The contact's result.
    Finished {
        /// The outcome, as in the results file.
        result: ContactOutcome,
        /// The contact's key, when it is not the number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<String>,
    },
}

impl Record {
    /// The record's `kind`, as written.
    fn kind(&self) -> &'static str {
        match self {
            Record::Header { .. } => "header",
            Record::Started { .. } => "started",
            Record::Placed { .. } => "placed",
            Record::Finished { .. } => "finished",
        }
    }

    /// The idempotency key the record carries (`started` and `placed`).
    fn idempotency_key(&self) -> Option<&str> {
        match self {
            Record::Started { key, .. } | Record::Placed { key, .. } => Some(key),
            Record::Header { .. } | Record::Finished { .. } => None,
        }
    }

    /// The call the record says was created, if any: a `placed` record's, or a `finished`
    /// one's with a call id.
    fn call_created(&self) -> Option<&str> {
        match self {
            Record::Placed { call_id, .. } => Some(call_id),
            Record::Finished { result, .. } => result.call_id.as_deref(),
            Record::Header { .. } | Record::Started { .. } => None,
        }
    }

    /// The contact key a record is filed under (`None` for the header).
    fn contact_key(&self) -> Option<String> {
        match self {
            Record::Header { .. } => None,
            Record::Started { phone, contact, .. } => Some(key_or_phone(contact.clone(), phone)),
            Record::Placed { contact, .. } => Some(contact.clone()),
            Record::Finished { result, contact } => {
                Some(key_or_phone(contact.clone(), &result.phone))
            }
        }
    }

    /// What the record says of its contact.
    fn into_prior(self) -> Option<PriorState> {
        match self {
            Record::Header { .. } => None,
            Record::Started { key, at, .. } => Some(PriorState::Started {
                key,
                sent_at: at.map(crate::clock::from_unix_millis),
            }),
            Record::Placed { key, call_id, .. } => Some(PriorState::Placed { key, call_id }),
            Record::Finished { result, .. } => Some(PriorState::Finished(result)),
        }
    }
}

/// Reads the record that starts at `offset`.
fn read_record(reader: &mut BufReader<File>, offset: u64) -> io::Result<Record> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    serde_json::from_slice(&line).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("journal record at byte {offset}: {e}"),
        )
    })
}

/// Whether a last line without a line break can be a record cut short by a crash: the start
/// of a record (or blank).
fn could_be_torn_record(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
        || RECORD_START.starts_with(line)
        || line.starts_with(RECORD_START)
}

/// The start of a damaged line, for an error message.
fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(QUOTED_BYTES)]);
    let more = if line.len() > QUOTED_BYTES { "..." } else { "" };
    format!("{:?}{more}", text.trim_end_matches('\n'))
}

/// The key a record is filed under: its contact key, or (older records, and contacts keyed
/// by their number) the number.
fn key_or_phone(contact: Option<String>, phone: &str) -> String {
    contact.unwrap_or_else(|| phone.to_owned())
}

/// The `contact` field of a record: absent when the key is the number.
fn key_unless_phone(key: &str, phone: &str) -> Option<String> {
    (key != phone).then(|| key.to_owned())
}

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// It cannot be read or written.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Another process has it open.
    #[error("journal {path} is in use by another redial process")]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// It is not a redial journal, or belongs to another campaign.
    #[error("journal {path}: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An open journal file, locked for the run.
#[derive(Debug)]
pub struct FileJournal {
    campaign_id: Uuid,
    inner: Mutex<Inner>,
}

/// The file and what earlier runs recorded, behind the journal's lock.
#[derive(Debug)]
struct Inner {
    file: BufWriter<File>,
    unsynced: u32,
    last_sync: Instant,
    /// Where each contact's latest earlier record is; each is taken when the engine asks.
    prior: PriorIndex,
    /// A second handle on the file, to read earlier records back.
    reader: BufReader<File>,
}

impl FileJournal {
    /// Opens `path`: reads what earlier runs recorded, or creates it with a new campaign id.
    ///
    /// # Errors
    /// [`JournalError::Io`] when it cannot be read or created; [`JournalError::InUse`] when
    /// another process has it open; [`JournalError::Mismatch`] when it is not a journal, or
    /// was written for another agent or contacts file.
    pub fn open(path: &Path, agent: &str, contacts: &Path) -> Result<Self, JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mismatch = |reason: String| JournalError::Mismatch {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::InUse {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // The contacts file by its canonical path, so `c.csv` and `./c.csv` are one file.
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let contacts_name = canonical(contacts).display().to_string();
        let mut prior = PriorIndex::default();
        let mut lookup = BufReader::new(File::open(path).map_err(io_err)?);
        let mut campaign_id = None;
        // Byte length of the complete, parsed records: what is kept.
        let mut kept = 0u64;
        let mut reader = BufReader::new(&file);
        let mut buf = Vec::new();
        let mut number = 0u64;
        loop {
            buf.clear();
            let n = (&mut reader)
                .take(MAX_RECORD_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(io_err)?;
            if n == 0 {
                break;
            }
            number += 1;
            if buf.last() != Some(&b'\n') {
                if buf.len() > MAX_RECORD_BYTES {
                    return Err(mismatch(format!(
                        "line {number} is longer than {} MiB: not a journal record",
                        MAX_RECORD_BYTES >> 20
                    )));
                }
                if !could_be_torn_record(&buf) {
                    return Err(mismatch(format!(
                        "line {number}, the last, ends without a line break and is not the start \
                         of a journal record ({}): the journal is damaged",
                        quote(&buf)
                    )));
                }
                // The crash hit while this line was written: it never took effect.
                tracing::warn!(
                    journal = %path.display(),
                    line = number,
                    bytes = buf.len(),
                    "cutting off a torn last record (the process stopped while writing it)"
                );
                break;
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                kept += n as u64;
                continue;
            }
            let offset = kept;
            let record: Record = serde_json::from_slice(&buf).map_err(|e| {
                mismatch(format!(
                    "line {number} is not a journal record ({e}; it reads {}): the journal is \
                     damaged (a crash leaves at most an unfinished last line), so which contacts \
                     were dialled cannot be trusted",
                    quote(&buf)
                ))
            })?;
            kept += n as u64;
            match record {
                Record::Header {
                    version,
                    campaign_id: id,
                    agent: a,
                    contacts: c,
                    ..
                } => {
                    if let Some(first) = campaign_id {
                        return Err(mismatch(format!(
                            "line {number} is a second header (campaign {id}, after campaign \
                             {first}): two journals were joined; use one journal per campaign"
                        )));
                    }
                    if version != VERSION {
                        return Err(mismatch(format!(
                            "line {number}: journal format version {version}, but this redial \
                             reads version {VERSION}"
                        )));
                    }
                    if a != agent {
                        return Err(mismatch(format!(
                            "written for agent {a:?}, not {agent:?}: use a new journal for a new campaign"
                        )));
                    }
                    if canonical(Path::new(&c)).display().to_string() != contacts_name {
                        return Err(mismatch(format!(
                            "written for contacts file {c:?}, not {contacts_name:?}: use a new journal for a new campaign"
                        )));
                    }
                    campaign_id = Some(id);
                }
                other => {
                    let Some(id) = campaign_id else {
                        return Err(mismatch(format!(
                            "line {number} is a `{}` record before any header: not a redial \
                             journal, or its header is lost",
                            other.kind()
                        )));
                    };
                    let key = other.contact_key().unwrap_or_default();
                    if let Some(recorded) = other.idempotency_key()
                        && recorded != idempotency_key(id, &key)
                    {
                        tracing::warn!(
                            journal = %path.display(),
                            line = number,
                            contact = %key,
                            "the record's idempotency key is not the one this campaign derives \
                             for the contact (written by hand, or by another campaign?)"
                        );
                    }
                    let had_earlier = prior
                        .insert(&key, offset, |at| {
                            Ok(read_record(&mut lookup, at)?
                                .contact_key()
                                .unwrap_or_default())
                        })
                        .map_err(io_err)?;
                    if let Some(call_id) = other.call_created()
                        && !had_earlier
                    {
                        return Err(mismatch(format!(
                            "line {number}: a `{}` record of contact {key:?} with call \
                             {call_id:?}, but no `started` record of it before: a record of \
                             another journal, or a damaged one",
                            other.kind()
                        )));
                    }
                }
            }
        }
        drop(reader);
        // Cut a torn tail off, then append after the last complete record.
        if file.metadata().map_err(io_err)?.len() != kept {
            file.set_len(kept).map_err(io_err)?;
        }
        file.seek(SeekFrom::Start(kept)).map_err(io_err)?;
        let mut inner = Inner {
            file: BufWriter::new(file),
            unsynced: 0,
            last_sync: redial_limiter::clock::now(),
            prior,
            reader: lookup,
        };
        let campaign_id = match campaign_id {
            Some(id) => id,
            None => {
                let id = Uuid::new_v4();
                let header = Record::Header {
                    version: VERSION,
                    campaign_id: id,
                    agent: agent.to_owned(),
                    contacts: contacts_name,
                    created_at: crate::clock::unix_seconds(),
                };
                inner.append(&header).map_err(io_err)?;
                inner.sync().map_err(io_err)?;
                id
            }
        };
        Ok(Self {
            campaign_id,
            inner: Mutex::new(inner),
        })
    }

    /// Contacts an earlier run recorded that this run has not asked about yet.
    pub fn prior_len(&self) -> usize {
        self.lock().prior.len()
    }

    /// The earlier state of `key`, read back from the file (and forgotten).
    fn take_prior(&self, key: &str) -> io::Result<Option<PriorState>> {
        let mut inner = self.lock();
        let Some(offset) = inner.prior.take(key) else {
            return Ok(None);
        };
        let record = read_record(&mut inner.reader, offset)?;
        if record.contact_key().as_deref() != Some(key) {
            // A key never recorded that shares its hash with one that was.
            inner.prior.restore(key, offset);
            return Ok(None);
        }
        Ok(record.into_prior())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `record` (flushed to the OS before this returns).
    fn append(&self, record: &Record) -> Result<(), BoxError> {
        self.lock().append(record).map_err(Into::into)
    }
}

impl Journal for FileJournal {
    fn campaign_id(&self) -> Uuid {
        self.campaign_id
    }

    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>> {
        Box::pin(std::future::ready(self.take_prior(key).map_err(Into::into)))
    }

    fn started<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(self.append(&Record::Started {
            line: contact.line,
            phone: contact.phone.clone(),
            key: idempotency_key.to_owned(),
            contact: key_unless_phone(&contact.key, &contact.phone),
            at: Some(crate::clock::unix_millis(crate::clock::wall_now())),
        })))
    }

    fn placed<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(self.append(&Record::Placed {
            contact: contact.key.clone(),
            key: idempotency_key.to_owned(),
            call_id: call_id.to_owned(),
        })))
    }

    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        let record = Record::Finished {
            result: outcome.clone(),
            contact: key_unless_phone(key, &outcome.phone),
        };
        Box::pin(std::future::ready(
            self.lock().finished(&record).map_err(Into::into),
        ))
    }

    fn sync(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(std::future::ready(self.lock().sync().map_err(Into::into)))
    }
}

impl Inner {
    /// Appends a finished record (flushed; synced in batches).
    fn finished(&mut self, record: &Record) -> io::Result<()> {
        self.append(record)?;
        self.unsynced += 1;
        if self.unsynced >= SYNC_EVERY
            || redial_limiter::clock::now().saturating_duration_since(self.last_sync)
                >= SYNC_INTERVAL
        {
            self.sync()?;
        }
        Ok(())
    }

    /// Flushes and `fsync`s.
    fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        self.unsynced = 0;
        self.last_sync = redial_limiter::clock::now();
        Ok(())
    }

    fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        if line.len() > MAX_RECORD_BYTES {
            // Never write a line the next run would refuse.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a `{}` record of {} bytes is longer than a journal line may be ({} MiB)",
                    record.kind(),
                    line.len(),
                    MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::idempotency_key;
    use crate::outcome::OutcomeStatus;

    fn result(line: u64, phone: &str) -> ContactOutcome {
        ContactOutcome {
            line,
            phone: phone.into(),
            status: OutcomeStatus::Completed,
            call_id: Some("call_1".into()),
            call_status: Some("completed".into()),
            attempts: 1,
            error: None,
        }
    }

    fn contact(line: u64, phone: &str) -> Contact {
        Contact::new(phone).at_line(line)
    }

    fn open(path: &Path, agent: &str, contacts: &str) -> Result<FileJournal, JournalError> {
        FileJournal::open(path, agent, Path::new(contacts))
    }

    async fn prior(j: &FileJournal, key: &str) -> Option<PriorState> {
        j.prior(key).await.unwrap()
    }

    #[tokio::test]
    async fn a_reopened_journal_keeps_its_campaign_and_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = open(&path, "agent_demo", "c.csv").unwrap();
        assert_eq!(j.prior_len(), 0);
        let id = j.campaign_id();
        let key = idempotency_key(id, "+447446466847");
        j.started(&contact(2, "+447446466847"), &key).await.unwrap();
        j.started(&contact(3, "+447446466848"), "k3").await.unwrap();
        let keyed = contact(4, "+447446466849").with_key("crm-4");
        j.started(&keyed, "k4").await.unwrap();
        j.placed(&keyed, "k4", "call_4").await.unwrap();
        j.finished("+447446466847", &result(2, "+447446466847"))
            .await
            .unwrap();
        drop(j);
        let j = open(&path, "agent_demo", "c.csv").unwrap();
        assert_eq!(j.campaign_id(), id);
        assert_eq!(
            prior(&j, "+447446466847").await,
            Some(PriorState::Finished(result(2, "+447446466847")))
        );
        assert!(matches!(
            prior(&j, "+447446466848").await,
            Some(PriorState::Started { key, sent_at: Some(_) }) if key == "k3"
        ));
        assert_eq!(
            prior(&j, "crm-4").await,
            Some(PriorState::Placed {
                key: "k4".into(),
                call_id: "call_4".into()
            })
        );
        assert_eq!(
            prior(&j, "+447446466848").await,
            None,
            "asked once, forgotten"
        );
        assert_eq!(
            idempotency_key(id, "+447446466847"),
            key,
            "keys are stable across runs"
        );
        assert_ne!(idempotency_key(id, "+447446466848"), key);
        drop(j);
        let e = open(&path, "agent_other", "c.csv").unwrap_err();
        assert!(e.to_string().contains("agent_other"), "{e}");
        let e = open(&path, "agent_demo", "other.csv").unwrap_err();
        assert!(
            e.to_string().contains("other.csv"),
            "another contacts file is refused: {e}"
        );
    }

    /// Journals written before contact keys existed filed every record under the number.
    #[tokio::test]
    async fn records_without_a_contact_key_are_filed_under_the_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = open(&path, "a", "c.csv").unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        writeln!(
            f,
            r#"{{"kind":"started","line":2,"phone":"+447446466801","key":"k"}}"#
        )
        .unwrap();
        drop(f);
        let j = open(&path, "a", "c.csv").unwrap();
        assert!(matches!(
            prior(&j, "+447446466801").await,
            Some(PriorState::Started { key, sent_at: None }) if key == "k"
        ));
    }

    /// Review finding: a torn last line was skipped on read but kept in the file, so the next
    /// record was glued onto it and, one run later, the journal could no longer be read.
    #[tokio::test]
    async fn a_torn_last_line_is_cut_off_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = open(&path, "a", "c.csv").unwrap();
        j.started(&contact(2, "+447446466847"), "k").await.unwrap();
        j.finished("+447446466847", &result(2, "+447446466847"))
            .await
            .unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all("{\"kind\":\"finished\",\"res\u{fffd}".as_bytes())
            .unwrap();
        drop(f);
        for run in 0..3 {
            let j = open(&path, "a", "c.csv").unwrap();
            assert!(prior(&j, "+447446466847").await.is_some(), "run {run}");
            j.started(&contact(9, &format!("+44744646690{run}")), "k")
                .await
                .unwrap();
        }
        let j = open(&path, "a", "c.csv").unwrap();
        assert_eq!(j.prior_len(), 4, "every later record was kept");
    }

    /// Review finding: two processes on one journal both dialled the same contacts.
    #[test]
    fn a_journal_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let _held = open(&path, "a", "c.csv").unwrap();
        assert!(matches!(
            open(&path, "a", "c.csv"),
            Err(JournalError::InUse { .. })
        ));
    }

    /// A journal with a header, a contact started and finished, and `extra` appended.
    fn journal_with(dir: &Path, extra: &str) -> PathBuf {
        use futures::FutureExt;
        let path = dir.join("j.jsonl");
        let j = open(&path, "a", "c.csv").unwrap();
        let c = contact(2, "+447446466801");
        j.started(&c, &idempotency_key(j.campaign_id(), &c.key))
            .now_or_never()
            .unwrap()
            .unwrap();
        j.finished("+447446466801", &result(2, "+447446466801"))
            .now_or_never()
            .unwrap()
            .unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(extra.as_bytes()).unwrap();
        path
    }

    fn refused(path: &Path) -> String {
        match open(path, "a", "c.csv") {
            Err(e @ JournalError::Mismatch { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): a complete last line that did
    /// not parse was cut off silently as if torn; a crash never leaves one, so it is damage.
    #[test]
    fn a_corrupted_last_complete_line_is_refused_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_with(dir.path(), "{\"kind\":\"started\",\"line\":3,\"pho\n");
        let e = refused(&path);
        assert!(e.contains("line 4 is not a journal record"), "{e}");
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(refused(&path).contains("line 4"), "nothing was cut: {len}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    }

    /// Hostile-input finding (issue 15): a torn last line of garbage (not the start of a
    /// record) was cut like a torn record.
    #[test]
    fn a_last_line_that_is_not_a_record_start_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_with(dir.path(), "\0\0\0\0");
        assert!(refused(&path).contains("line 4, the last"));
    }

    /// Hostile-input finding (issue 15): records before the header, and a second header
    /// (two journals joined, the second campaign's id silently replacing the first) were read.
    #[test]
    fn records_before_the_header_and_a_second_header_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let header = |id: Uuid, version: u32| {
            serde_json::to_string(&Record::Header {
                version,
                campaign_id: id,
                agent: "a".into(),
                contacts: "c.csv".into(),
                created_at: 0,
            })
            .unwrap()
        };
        let started = r#"{"kind":"started","line":2,"phone":"+447446466801","key":"k"}"#;
        std::fs::write(&path, format!("{started}\n{}\n", header(Uuid::nil(), 1))).unwrap();
        assert!(refused(&path).contains("line 1 is a `started` record before any header"));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        std::fs::write(
            &path,
            format!("{}\n{started}\n{}\n", header(a, 1), header(b, 1)),
        )
        .unwrap();
        let e = refused(&path);
        assert!(
            e.contains("line 3 is a second header") && e.contains(&b.to_string()),
            "{e}"
        );
        std::fs::write(&path, format!("{}\n", header(a, VERSION + 1))).unwrap();
        assert!(refused(&path).contains("line 1: journal format version 2"));
    }

    /// Hostile-input finding (issue 15): a `finished` record with a call, or a `placed` one,
    /// for a contact never started was trusted (a record of another journal, or a damaged
    /// phone number, re-emitted as some other contact's outcome).
    #[test]
    fn a_call_without_a_started_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let finished = serde_json::to_string(&Record::Finished {
            result: result(3, "+447446466802"),
            contact: None,
        })
        .unwrap();
        let path = journal_with(dir.path(), &format!("{finished}\n"));
        let e = refused(&path);
        assert!(
            e.contains("line 4: a `finished` record of contact \"+447446466802\" with call"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let placed = r#"{"kind":"placed","contact":"+447446466803","key":"k","call_id":"c"}"#;
        let path = journal_with(dir.path(), &format!("{placed}\n"));
        assert!(refused(&path).contains("line 4: a `placed` record"));
        // Without a call, a finished record needs no `started` (a suppressed contact).
        let dir = tempfile::tempdir().unwrap();
        let mut halted = result(5, "+447446466805");
        halted.call_id = None;
        halted.status = OutcomeStatus::Halted;
        let line = serde_json::to_string(&Record::Finished {
            result: halted,
            contact: None,
        })
        .unwrap();
        let path = journal_with(dir.path(), &format!("{line}\n"));
        open(&path, "a", "c.csv").unwrap();
    }

    /// Hostile-input finding (issue 15): a journal line had no size limit; a line of many MiB
    /// (or a huge file without a line break) was read into memory whole.
    #[test]
    fn a_line_over_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let mut huge = String::from("{\"kind\":\"started\",\"phone\":\"");
        huge.push_str(&"9".repeat(MAX_RECORD_BYTES + 10));
        let path = journal_with(dir.path(), &huge);
        assert!(refused(&path).contains("line 4 is longer than 4 MiB"));
        huge.push_str("\"}\n");
        let dir = tempfile::tempdir().unwrap();
        let path = journal_with(dir.path(), &huge);
        assert!(refused(&path).contains("line 4 is longer than 4 MiB"));
    }

    #[test]
    fn garbage_is_not_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "hello\nworld\n").unwrap();
        assert!(matches!(
            open(&path, "a", "c"),
            Err(JournalError::Mismatch { .. })
        ));
    }
}
