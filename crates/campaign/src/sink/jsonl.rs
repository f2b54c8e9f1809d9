//! [`JsonlSink`], the results file: one JSON object per contact, streamed as contacts finish.
//!
//! The file is written as `<out>.partial` and renamed to `<out>` when the campaign ends, so
//! `<out>` is always a complete campaign (every contact exactly once) or the previous one.
//! `-` writes to stdout instead.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::ResultSink;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// Streams outcomes to the results file, one JSON line each.
#[derive(Debug)]
pub struct JsonlSink {
    out: Box<dyn WriteDebug>,
    partial: Option<(PathBuf, PathBuf)>,
    written: u64,
}

trait WriteDebug: Write + std::fmt::Debug + Send {}
impl<T: Write + std::fmt::Debug + Send> WriteDebug for T {}

/// Write a flush after this many lines (so `tail -f` of the partial file sees progress).
const FLUSH_EVERY: u64 = 64;

impl JsonlSink {
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
    pub fn write_line(&mut self, line: &ContactOutcome) -> io::Result<()> {
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
    pub fn finish_file(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some((partial, path)) = self.partial.take() {
            // Closed before the rename: replace the writer with a sink that drops writes.
            self.out = Box::new(io::sink());
            std::fs::rename(partial, path)?;
        }
        Ok(())
    }
}

impl ResultSink for JsonlSink {
    fn write<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(
            self.write_line(outcome).map_err(Into::into),
        ))
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(std::future::ready(self.finish_file().map_err(Into::into)))
    }
}

/// Where results are written until the run finishes (`<out>.partial`).
pub fn partial_path(path: &Path) -> PathBuf {
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
    use crate::outcome::{ErrorInfo, OutcomeStatus};

    #[test]
    fn lines_round_trip_and_land_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut w = JsonlSink::create(&path).unwrap();
        let mut line = ContactOutcome::without_call(
            2,
            "+447446466847",
            OutcomeStatus::OptedOut,
            ErrorInfo::new("invalid_request", "recipient_unsubscribed", "m".into()),
        );
        line.attempts = 1;
        w.write_line(&line).unwrap();
        assert!(!path.exists(), "only the partial file exists until finish");
        w.finish_file().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["status"], "opted_out");
        assert_eq!(v["error"]["type"], "invalid_request");
        assert!(v["call_id"].is_null());
        assert_eq!(
            serde_json::from_str::<ContactOutcome>(text.trim()).unwrap(),
            line
        );
    }
}
