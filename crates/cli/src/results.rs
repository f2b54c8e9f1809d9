//! The results file: one JSON object per contact, streamed as contacts finish.
//!
//! The file is written as `<out>.partial` and renamed to `<out>` when the campaign ends, so
//! `<out>` is always a complete campaign (every contact exactly once) or the previous one.
//! `-` writes to stdout instead.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What became of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The call was placed and reached a terminal status (busy, no_answer and failed calls
    /// included: see `call_status`).
    Completed,
    /// Fatal for this contact, or retries exhausted, timeout, budget, circuit open.
    Failed,
    /// The recipient opted out (recipient_unsubscribed, Twilio 21610, the suppress list).
    OptedOut,
    /// The server may have placed the call; it was not retried.
    Ambiguous,
    /// Not attempted, or stopped, because a halt scope tripped.
    Halted,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 5] = [
        Self::Completed,
        Self::Failed,
        Self::OptedOut,
        Self::Ambiguous,
        Self::Halted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::OptedOut => "opted_out",
            Self::Ambiguous => "ambiguous",
            Self::Halted => "halted",
        }
    }
}

/// The error of a contact that did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The API's error type (`server_error`, ...), `transport` when no answer arrived, or the
    /// runtime's own class (`invalid_input`, `halted`, `circuit_open`, `suppressed`, ...).
    #[serde(rename = "type")]
    pub error_type: String,
    /// The API's error code, the transport failure kind, or the runtime's own code.
    pub code: String,
    /// For people; never branch on it.
    pub message: String,
    /// For `halted`: the scope kind (`account`, `agent`, `sender`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// One line of the results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLine {
    /// Line of the contacts file the contact came from.
    pub line: u64,
    /// The number (as written, for a malformed row).
    pub phone: String,
    /// What became of the contact.
    pub status: Status,
    /// The call id, when a call was created.
    pub call_id: Option<String>,
    /// The call's last known status, when a call was created.
    pub call_status: Option<String>,
    /// Attempts the create took (0 when nothing was sent).
    pub attempts: u32,
    /// Why the contact did not complete.
    pub error: Option<ErrorInfo>,
}

impl ResultLine {
    /// Whether a halt stopped this contact before any call was created: such a contact is
    /// dialled again on a rerun (the halting answer proves nothing was placed).
    pub fn retry_on_rerun(&self) -> bool {
        self.status == Status::Halted && self.call_id.is_none()
    }
}

/// Streams result lines to the out file.
#[derive(Debug)]
pub struct ResultsWriter {
    out: Box<dyn WriteDebug>,
    partial: Option<(PathBuf, PathBuf)>,
    written: u64,
}

trait WriteDebug: Write + std::fmt::Debug + Send {}
impl<T: Write + std::fmt::Debug + Send> WriteDebug for T {}

/// Write a flush after this many lines (so `tail -f` of the partial file sees progress).
const FLUSH_EVERY: u64 = 64;

impl ResultsWriter {
    /// Creates `<path>.partial` (or writes to stdout for `-`).
    ///
    /// # Errors
    /// The I/O error, when the file cannot be created.
    pub fn create(path: &Path) -> io::Result<Self> {
        if path == Path::new("-") {
            return Ok(Self {
                out: Box::new(io::stdout()),
                partial: None,
                written: 0,
            });
        }
        let partial = partial_path(path);
        let file = File::create(&partial)?;
        Ok(Self {
            out: Box::new(BufWriter::new(file)),
            partial: Some((partial, path.to_path_buf())),
            written: 0,
        })
    }

    /// Appends a line.
    ///
    /// # Errors
    /// The I/O error.
    pub fn write(&mut self, line: &ResultLine) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, line)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        if self.written.is_multiple_of(FLUSH_EVERY) {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Lines written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and renames the partial file into place.
    ///
    /// # Errors
    /// The I/O error.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some((partial, path)) = self.partial.take() {
            drop(self.out);
            std::fs::rename(partial, path)?;
        }
        Ok(())
    }
}

/// Where results are written until the run finishes (`<out>.partial`).
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_land_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut w = ResultsWriter::create(&path).unwrap();
        let line = ResultLine {
            line: 2,
            phone: "+447446466847".into(),
            status: Status::OptedOut,
            call_id: None,
            call_status: None,
            attempts: 1,
            error: Some(ErrorInfo {
                error_type: "invalid_request".into(),
                code: "recipient_unsubscribed".into(),
                message: "m".into(),
                scope: None,
            }),
        };
        w.write(&line).unwrap();
        assert!(!path.exists(), "only the partial file exists until finish");
        w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["status"], "opted_out");
        assert_eq!(v["error"]["type"], "invalid_request");
        assert!(v["call_id"].is_null());
        assert_eq!(
            serde_json::from_str::<ResultLine>(text.trim()).unwrap(),
            line
        );
    }
}
