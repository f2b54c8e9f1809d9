//! [`SuppressList`], the suppress file: numbers never to dial. Consent carries over between campaigns: every
//! opt-out a campaign meets is appended (and synced) at once.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::Suppression;
use crate::error::BoxError;

/// Longest line of a suppress file (a number and a comment), bytes, its line break excluded;
/// a longer line is refused without being read whole. Assumed: far above any real comment.
pub const MAX_SUPPRESS_LINE_BYTES: usize = 64 * 1024;

/// A UTF-8 byte order mark, ignored at the start of the file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why the suppress file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuppressError {
    /// The file exists but cannot be read or opened for appending.
    #[error("suppress file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A line is not an E.164 number.
    #[error(
        "suppress file {path} line {line}: {entry:?} is not an E.164 number (like +447446466847)"
    )]
    Entry {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The entry.
        entry: String,
    },
    /// A line cannot be read as text: not UTF-8, or longer than [`MAX_SUPPRESS_LINE_BYTES`].
    #[error("suppress file {path} line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The numbers not to dial, and the file opt-outs are appended to.
#[derive(Debug, Default)]
pub struct SuppressList {
    numbers: HashSet<String>,
    file: Option<(PathBuf, File)>,
}

impl SuppressList {
    /// An empty list with no file.
    pub fn none() -> Self {
        Self::default()
    }

    /// Loads `path` (one E.164 number a line; blank lines, `#` comments and a leading UTF-8
    /// byte order mark ignored) and opens it for appending; a missing file is an empty list,
    /// created on the first opt-out. The file is read a line at a time.
    ///
    /// # Errors
    /// [`SuppressError`] naming the file, and the line of an entry that is not E.164 or of a
    /// line that is not UTF-8 or longer than [`MAX_SUPPRESS_LINE_BYTES`].
    pub fn load(path: &Path) -> Result<Self, SuppressError> {
        let io_err = |source| SuppressError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bad_line = |line, reason: String| SuppressError::Line {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut numbers = HashSet::new();
        // Lines read, and whether the last one ended with a line break.
        let (mut line, mut ends_with_newline) = (0, true);
        match File::open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
            Ok(file) => {
                let mut reader = BufReader::new(file);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    // The content, plus `\r\n`: one more byte than that is a line too long.
                    let n = (&mut reader)
                        .take(MAX_SUPPRESS_LINE_BYTES as u64 + 2)
                        .read_until(b'\n', &mut buf)
                        .map_err(io_err)?;
                    if n == 0 {
                        break;
                    }
                    line += 1;
                    ends_with_newline = buf.last() == Some(&b'\n');
                    if ends_with_newline {
                        buf.pop();
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                    }
                    if buf.len() > MAX_SUPPRESS_LINE_BYTES {
                        return Err(bad_line(
                            line,
                            format!(
                                "longer than {} KiB: not a phone number",
                                MAX_SUPPRESS_LINE_BYTES / 1024
                            ),
                        ));
                    }
                    // Editors on Windows save "UTF-8" with a byte order mark; it is not part of
                    // the entry.
                    let bytes = match line {
                        1 => buf.strip_prefix(BOM).unwrap_or(&buf),
                        _ => &buf,
                    };
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| bad_line(line, "not valid UTF-8".to_owned()))?;
                    let entry = text.split('#').next().unwrap_or("").trim();
                    if entry.is_empty() {
                        continue;
                    }
                    if redial_transport::validate::e164("suppress", entry).is_err() {
                        return Err(SuppressError::Entry {
                            path: path.to_path_buf(),
                            line,
                            entry: entry.to_owned(),
                        });
                    }
                    numbers.insert(entry.to_owned());
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err)?;
        if !ends_with_newline {
            file.write_all(b"\n").map_err(io_err)?;
        }
        Ok(Self {
            numbers,
            file: Some((path.to_path_buf(), file)),
        })
    }

    /// Whether `phone` must not be dialled.
    pub fn contains(&self, phone: &str) -> bool {
        self.numbers.contains(phone)
    }

    /// Numbers on the list.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Records an opt-out: adds it and appends it to the file (written and synced before
    /// this returns), unless it is already listed.
    ///
    /// # Errors
    /// The I/O error of the append.
    pub fn insert(&mut self, phone: &str) -> io::Result<()> {
        if !self.numbers.insert(phone.to_owned()) {
            return Ok(());
        }
        if let Some((_, file)) = &mut self.file {
            file.write_all(format!("{phone}\n").as_bytes())?;
            file.sync_data()?;
        }
        Ok(())
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }
}

impl Suppression for SuppressList {
    fn contains<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(std::future::ready(Ok(SuppressList::contains(self, phone))))
    }

    fn add<'a>(&'a mut self, phone: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(std::future::ready(self.insert(phone).map_err(Into::into)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_comments_and_appends_new_opt_outs_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        std::fs::write(
            &path,
            "# do not call\n+14155559999  # STOP by SMS\n\n+447700900999",
        )
        .unwrap();
        let mut s = SuppressList::load(&path).unwrap();
        assert!(s.contains("+14155559999") && s.contains("+447700900999"));
        assert_eq!(s.len(), 2);
        s.insert("+14155559998").unwrap();
        s.insert("+14155559998").unwrap();
        s.insert("+14155559999").unwrap();
        let again = SuppressList::load(&path).unwrap();
        assert_eq!(again.len(), 3);
        assert_eq!(
            std::fs::read_to_string(&path)
                .unwrap()
                .matches("+14155559998")
                .count(),
            1
        );
    }

    #[test]
    fn a_bad_entry_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        std::fs::write(&path, "+14155559999\n0207 946 0000\n").unwrap();
        let e = SuppressList::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("0207 946 0000"), "{e}");
        let missing = SuppressList::load(&dir.path().join("new.txt")).unwrap();
        assert!(missing.is_empty());
    }

    #[test]
    fn a_leading_bom_is_not_part_of_the_first_entry() {
        // Defect: a suppress file saved with a UTF-8 BOM was refused ("\u{feff}+1415..." is
        // not E.164), so the campaign could not start.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        std::fs::write(&path, "\u{feff}+14155559999\r\n+447700900999").unwrap();
        let mut s = SuppressList::load(&path).unwrap();
        assert!(s.contains("+14155559999") && s.contains("+447700900999"));
        s.insert("+14155559998").unwrap();
        assert_eq!(SuppressList::load(&path).unwrap().len(), 3);
        std::fs::write(&path, "+14155559999\n\u{feff}+447700900999\n").unwrap();
        let e = SuppressList::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "only a leading BOM is dropped: {e}");
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): the file was read whole,
    /// whatever its size, and a byte that is not UTF-8 was reported without its line.
    #[test]
    fn a_non_utf8_or_overlong_line_is_refused_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        std::fs::write(&path, b"+14155559999\n# caf\xe9\n").unwrap();
        let e = SuppressList::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2: not valid UTF-8"), "{e}");
        let mut long = b"+14155559999\r\n+14155559998 # ".to_vec();
        long.resize(long.len() + MAX_SUPPRESS_LINE_BYTES, b'x');
        std::fs::write(&path, &long).unwrap();
        let e = SuppressList::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2: longer than 64 KiB"), "{e}");
        let mut at_limit = b"+14155559999 # ".to_vec();
        at_limit.resize(MAX_SUPPRESS_LINE_BYTES, b'x');
        at_limit.extend_from_slice(b"\r\n");
        std::fs::write(&path, &at_limit).unwrap();
        assert_eq!(
            SuppressList::load(&path).unwrap().len(),
            1,
            "a line at the limit is read"
        );
    }
}
