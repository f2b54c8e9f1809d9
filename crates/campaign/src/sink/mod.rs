//! [`ResultSink`]: where each contact's one final outcome goes.
//!
//! [`JsonlSink`] writes the `redial` command's results file (one JSON object a line);
//! [`MemorySink`] collects outcomes in memory. A database table or a message queue implement
//! the same trait.

mod jsonl;
mod memory;

use futures::future::BoxFuture;

pub use self::jsonl::{JsonlSink, partial_path};
pub use self::memory::MemorySink;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// Takes every contact's final outcome, exactly once per contact and run.
pub trait ResultSink: Send {
    /// Takes one outcome. An error stops the campaign
    /// ([`CampaignError::Sink`](crate::CampaignError::Sink)).
    fn write<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Every outcome has been written: flush, and make the results visible as one whole (the
    /// file sink renames its partial file into place). Called once, at the end of a run that
    /// reached it.
    fn finish(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
