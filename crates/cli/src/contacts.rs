//! The contacts CSV, streamed one row at a time.
//!
//! A header row names the columns; the `phone` column is the number to dial and every other
//! column goes into the call's metadata. A row that cannot be dialled (wrong field count, bad
//! UTF-8, a phone that is not E.164) is not an error of the file: it comes out as
//! [`Row::Invalid`] with its line number, so the campaign reports it and goes on.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Name of the column holding the number to dial.
pub const PHONE_COLUMN: &str = "phone";

/// A contact to dial.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// The number, E.164.
    pub phone: String,
    /// The other columns, by header name.
    pub metadata: Map<String, Value>,
}

/// A row that cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// Line of the file where the row starts.
    pub line: u64,
    /// The phone field as far as it could be read (lossy UTF-8), or empty.
    pub phone: String,
    /// What is wrong, for people.
    pub reason: String,
}

/// One data row of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A dialable contact.
    Valid(Contact),
    /// A malformed row.
    Invalid(InvalidRow),
}

/// Why the contacts file cannot be used at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContactsError {
    /// The file cannot be opened.
    #[error("cannot open contacts file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The header row is missing, unreadable, or has no `phone` column.
    #[error("contacts file {path}: {reason}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed part way (an I/O error, not a malformed row).
    #[error("reading contacts file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The CSV reader's error.
        source: csv::Error,
    },
}

/// Streams the rows of a contacts file.
#[derive(Debug)]
pub struct ContactReader {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    headers: Vec<String>,
    phone_index: usize,
    record: csv::ByteRecord,
    lines: LineIndex,
}

/// Maps byte offsets of the file to line numbers by reading it a second time, sequentially
/// (the CSV reader's own line count skips blank lines, which would misreport later rows).
#[derive(Debug)]
struct LineIndex {
    reader: BufReader<File>,
    offset: u64,
    line: u64,
}

impl LineIndex {
    /// The 1-based line of the record starting at `byte` (offsets must not decrease).
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.offset < byte {
            let Ok(buf) = self.reader.fill_buf() else {
                break;
            };
            if buf.is_empty() {
                break;
            }
            let take = buf
                .len()
                .min(usize::try_from(byte - self.offset).unwrap_or(usize::MAX));
            self.line += buf[..take].iter().filter(|&&b| b == b'\n').count() as u64;
            self.reader.consume(take);
            self.offset += take as u64;
        }
        // The reader's position of a record may point at blank lines it skipped before it.
        while let Ok(buf) = self.reader.fill_buf() {
            let blank = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            if blank == 0 {
                break;
            }
            self.line += buf[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
            self.reader.consume(blank);
            self.offset += blank as u64;
        }
        self.line
    }
}

impl ContactReader {
    /// Opens a contacts file and reads its header.
    ///
    /// # Errors
    /// [`ContactsError::Open`] when the file cannot be opened, [`ContactsError::Header`] when
    /// it has no header row, a header that is not UTF-8, or no `phone` column.
    pub fn open(path: &Path) -> Result<Self, ContactsError> {
        let file = File::open(path).map_err(|source| ContactsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::new(file));
        let header_error = |reason: String| ContactsError::Header {
            path: path.to_path_buf(),
            reason,
        };
        let raw = reader
            .byte_headers()
            .map_err(|e| header_error(format!("cannot read the header row: {e}")))?
            .clone();
        if raw.is_empty() {
            return Err(header_error(
                "the file is empty: expected a header row with a `phone` column".into(),
            ));
        }
        let headers = raw
            .iter()
            .map(|h| std::str::from_utf8(h).map(|s| s.trim().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| header_error("the header row is not valid UTF-8".into()))?;
        let phone_index = headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(PHONE_COLUMN))
            .ok_or_else(|| {
                header_error(format!(
                    "no `{PHONE_COLUMN}` column in the header row (columns: {})",
                    headers.join(", ")
                ))
            })?;
        let second = File::open(path).map_err(|source| ContactsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let lines = LineIndex {
            reader: BufReader::new(second),
            offset: 0,
            line: 1,
        };
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            headers,
            phone_index,
            record: csv::ByteRecord::new(),
            lines,
        })
    }

    /// The column names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next data row, `None` at the end.
    ///
    /// # Errors
    /// [`ContactsError::Read`] when the file cannot be read further.
    pub fn next_row(&mut self) -> Result<Option<Row>, ContactsError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let byte = self.record.position().map_or(0, |p| p.byte());
                let line = self.lines.line_at(byte);
                Ok(Some(self.parse(line)))
            }
            Err(source) => Err(ContactsError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn parse(&self, line: u64) -> Row {
        let phone_lossy = self
            .record
            .get(self.phone_index)
            .map(|p| String::from_utf8_lossy(p).trim().to_owned())
            .unwrap_or_default();
        let invalid = |reason: String| {
            Row::Invalid(InvalidRow {
                line,
                phone: phone_lossy.clone(),
                reason,
            })
        };
        if self.record.len() != self.headers.len() {
            return invalid(format!(
                "expected {} fields as in the header, found {}",
                self.headers.len(),
                self.record.len()
            ));
        }
        let mut phone = String::new();
        let mut metadata = Map::new();
        for (i, (name, field)) in self.headers.iter().zip(self.record.iter()).enumerate() {
            let Ok(value) = std::str::from_utf8(field) else {
                return invalid(format!("field `{name}` is not valid UTF-8"));
            };
            if i == self.phone_index {
                phone = value.trim().to_owned();
            } else {
                metadata.insert(name.clone(), Value::String(value.to_owned()));
            }
        }
        if let Err(e) = redial_transport::validate::e164("phone", &phone) {
            return invalid(format!("phone {phone:?}: {}", e.reason));
        }
        Row::Valid(Contact {
            line,
            phone,
            metadata,
        })
    }
}

/// Counts the data rows of a contacts file (a streaming pass, for progress totals).
///
/// # Errors
/// As [`ContactReader::open`] and [`ContactReader::next_row`].
pub fn count_rows(path: &Path) -> Result<u64, ContactsError> {
    let mut reader = ContactReader::open(path)?;
    let mut n = 0;
    while reader
        .reader
        .read_byte_record(&mut reader.record)
        .map_err(|source| ContactsError::Read {
            path: path.to_path_buf(),
            source,
        })?
    {
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn rows(bytes: &[u8]) -> Vec<Row> {
        let f = file(bytes);
        let mut r = ContactReader::open(f.path()).unwrap();
        let mut out = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn valid_rows_carry_line_and_metadata() {
        let r = rows(b"name,phone\nAda,+447446466847\n\nBob, +14155550123 \n");
        let Row::Valid(c) = &r[0] else {
            panic!("{r:?}")
        };
        assert_eq!((c.line, c.phone.as_str()), (2, "+447446466847"));
        assert_eq!(c.metadata["name"], "Ada");
        let Row::Valid(c) = &r[1] else {
            panic!("{r:?}")
        };
        assert_eq!(
            (c.line, c.phone.as_str()),
            (4, "+14155550123"),
            "blank lines skipped, numbers trimmed"
        );
    }

    #[test]
    fn malformed_rows_are_reported_with_their_line() {
        let r = rows(
            b"phone,name\n+447446466847\n07446 466847,x\n+44744646\xff,y\n+14155550123,z,extra\n",
        );
        let lines: Vec<(u64, bool)> = r
            .iter()
            .map(|row| match row {
                Row::Valid(c) => (c.line, true),
                Row::Invalid(i) => (i.line, false),
            })
            .collect();
        assert_eq!(lines, vec![(2, false), (3, false), (4, false), (5, false)]);
        let Row::Invalid(i) = &r[1] else {
            unreachable!()
        };
        assert!(i.reason.contains("E.164"), "{}", i.reason);
    }

    #[test]
    fn a_file_without_a_phone_column_is_refused() {
        let f = file(b"name,number\nAda,+447446466847\n");
        let e = ContactReader::open(f.path()).unwrap_err();
        assert!(e.to_string().contains("no `phone` column"), "{e}");
        assert!(matches!(
            ContactReader::open(Path::new("/nonexistent/c.csv")),
            Err(ContactsError::Open { .. })
        ));
        assert_eq!(
            count_rows(file(b"phone\n+447446466847\nbad\n").path()).unwrap(),
            2
        );
    }
}
