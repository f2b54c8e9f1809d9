//! The results file as the `redial` command writes it: the library's JSON-lines sink, plus a
//! line on stderr for every malformed contacts row (the operator fixes the file from it).

use std::path::PathBuf;

use futures::future::BoxFuture;
use redial_campaign::{BoxError, ContactOutcome, JsonlSink, ResultSink};

/// The code of a contacts row that cannot be dialled.
const INVALID_ROW: &str = "invalid_input";

/// [`JsonlSink`] that also names malformed rows on stderr.
#[derive(Debug)]
pub struct CliSink {
    /// The results file.
    pub inner: JsonlSink,
    /// The contacts file, to name in messages.
    pub contacts: PathBuf,
}

impl ResultSink for CliSink {
    fn write<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        if outcome.call_id.is_none()
            && let Some(e) = &outcome.error
            && e.code == INVALID_ROW
            && e.error_type == "invalid_request"
        {
            eprintln!("contacts {} {}", self.contacts.display(), e.message);
        }
        self.inner.write(outcome)
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        self.inner.finish()
    }
}
