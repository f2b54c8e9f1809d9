//! [`ContactSource`]: where a campaign's contacts come from.
//!
//! The engine pulls one record at a time, so a source of a million contacts costs the memory
//! of the contacts in flight, not of the list. A CSV file ([`CsvSource`]), a `Vec`
//! ([`MemorySource`]), a database cursor or a shared work queue (fleet mode) implement it.

mod csv;
mod memory;

use futures::future::BoxFuture;

pub use self::csv::{ContactsError, CsvSource, MAX_LINE_BYTES, PHONE_COLUMN, count_rows};
pub use self::memory::MemorySource;
use crate::contact::SourceItem;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// Yields the contacts of a campaign, in order.
pub trait ContactSource: Send {
    /// The next record, or `None` at the end. An `Err` stops the campaign
    /// ([`CampaignError::Source`](crate::CampaignError::Source)); a record that cannot be
    /// dialled is not an error but a [`SourceItem::Invalid`].
    ///
    /// The engine awaits each call to the end (it never drops a pending `next`), so an
    /// implementation need not be cancellation-safe. A `None` while contacts are in flight
    /// is not the end: the engine records those contacts (calling [`ContactSource::done`])
    /// and asks again; the source ends at a `None` with nothing in flight.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>>;

    /// How many records the source holds, when known (for progress displays).
    fn size_hint(&self) -> Option<u64> {
        None
    }

    /// The contact's outcome is durable (written to the sink and the journal): a shared
    /// queue acknowledges the contact here, so that a crash before this point hands it to
    /// another worker. The default does nothing.
    fn done<'a>(&'a mut self, _outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
