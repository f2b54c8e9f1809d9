//! [`Journal`]: what was started and what finished, so that a rerun (or another worker)
//! goes on from there without dialling anyone twice.
//!
//! The engine asks of a journal only what a shared store can answer as well as a file: the
//! campaign's id, the earlier state of one contact by its key, and three appends (`started`
//! right before a create goes on the wire, `placed` once the call exists, `finished` with the
//! outcome). [`FileJournal`] is the `redial` command's; [`MemoryJournal`] keeps state for
//! the life of the process (tests, and embedders that persist elsewhere).

mod file;
mod index;
mod memory;

use std::fmt;
use std::time::SystemTime;

use futures::future::BoxFuture;
use uuid::Uuid;

pub use self::file::{
    FileJournal, JournalError, MAX_RECORD_BYTES, Record, SYNC_EVERY, SYNC_INTERVAL, VERSION,
};
pub use self::memory::MemoryJournal;
use crate::contact::Contact;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// What an earlier run recorded about one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PriorState {
    /// A create may have been sent under this idempotency key; no result was recorded.
    Started {
        /// The idempotency key used.
        key: String,
        /// When the create was about to be sent (wall clock), when the journal knows: a
        /// reconciliation looks for the call among calls created since.
        sent_at: Option<SystemTime>,
    },
    /// The create succeeded and the call has this id; no result was recorded (the call may
    /// still be live: follow it, never create it again).
    Placed {
        /// The idempotency key used.
        key: String,
        /// The call's id.
        call_id: String,
    },
    /// The contact finished.
    Finished(ContactOutcome),
}

/// Records a campaign's progress durably. Shared by every contact in flight (`&self`).
pub trait Journal: Send + Sync + fmt::Debug {
    /// The campaign's id: the namespace of every contact's idempotency key, the same on every
    /// run of one campaign.
    fn campaign_id(&self) -> Uuid;

    /// What earlier runs recorded of the contact with this key. The engine asks once per
    /// contact and run, so an implementation may forget the state once it is asked.
    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>>;

    /// A create for `contact` is about to be sent under `idempotency_key`. It must be durable
    /// against a process crash before the future completes: an error stops the create unsent.
    fn started<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>>;

    /// The create for `contact` succeeded: the call is `call_id`. The default records
    /// nothing (a rerun then reconciles the `started` contact instead of following its call).
    fn placed<'a>(
        &'a self,
        _contact: &'a Contact,
        _idempotency_key: &'a str,
        _call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The contact with key `key` finished with `outcome`.
    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Makes everything recorded durable (the engine calls it at the end of a run).
    fn sync(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The idempotency key of a contact: a UUID v5 in the campaign's namespace over the contact's
/// key, so a restarted process sends the same key even when the source was edited or
/// reordered in between.
pub fn idempotency_key(campaign_id: Uuid, contact_key: &str) -> String {
    Uuid::new_v5(&campaign_id, contact_key.as_bytes()).to_string()
}
