//! The results file as the `redial` command writes it: the library's JSON-lines sink, plus a
//! line on stderr for every malformed contacts row (the operator fixes the file from it), and
//! the support reports in a file of their own when `--support-out` asks for them.

use std::fs::File;
use std::io::{BufWriter, Write as _};
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
    /// `--support-out`: every `error.support`, one JSON object a line.
    pub support: Option<BufWriter<File>>,
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
        if let (Some(out), Some(report)) = (
            &mut self.support,
            outcome.error.as_ref().and_then(|e| e.support.as_ref()),
        ) {
            let written = serde_json::to_writer(&mut *out, report)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                return Box::pin(std::future::ready(Err(e.into())));
            }
        }
        self.inner.write(outcome)
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        if let Some(out) = &mut self.support
            && let Err(e) = out.flush()
        {
            return Box::pin(std::future::ready(Err(e.into())));
        }
        self.inner.finish()
    }
}
