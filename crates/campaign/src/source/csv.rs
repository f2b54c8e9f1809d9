//! The contacts CSV, streamed one line at a time.
//!
//! A header row names the columns; the `phone` column is the number to dial and every other
//! column goes into the call's metadata. Every physical line is one record: a quoted field
//! cannot span lines, so a stray quote spoils its own line and no other. A row that cannot be
//! dialled (an unclosed quote, wrong field count, bad UTF-8, a phone that is not E.164, a line
//! longer than [`MAX_LINE_BYTES`]) is not an error of the file: it comes out as
//! [`SourceItem::Invalid`] with its line number, so the campaign reports it and goes on.
//! A valid row's contact key is its phone number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::ContactSource;
use crate::contact::{Contact, InvalidContact, SourceItem};
use crate::error::BoxError;

/// Name of the column holding the number to dial.
pub const PHONE_COLUMN: &str = "phone";

/// The longest line read (its line break excluded); a longer one is skipped unbuffered and
/// reported [`SourceItem::Invalid`], so a malformed file never makes the reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The field delimiter.
const DELIMITER: u8 = b',';

/// The quote character.
const QUOTE: u8 = b'"';

/// A UTF-8 byte order mark, ignored at the start of the file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

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
        /// The I/O error.
        source: io::Error,
    },
}

/// One physical line of the file.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The end of the file.
    Eof,
    /// A line, its line break stripped, in the reader's buffer.
    Text,
    /// A line longer than [`MAX_LINE_BYTES`], consumed up to its line break and not kept.
    TooLong,
}

/// Reads the file one physical line at a time, never holding more than one line of at most
/// [`MAX_LINE_BYTES`].
#[derive(Debug)]
struct Lines {
    reader: BufReader<File>,
    /// The current line, without its line break (valid after [`Line::Text`]).
    buf: Vec<u8>,
    /// 1-based number of the current line (0 before the first).
    number: u64,
}

impl Lines {
    /// The next line that is not blank (blank lines are counted, and skipped).
    fn next(&mut self) -> io::Result<Line> {
        loop {
            let line = self.next_physical()?;
            if line != Line::Text || !self.buf.is_empty() {
                return Ok(line);
            }
        }
    }

    /// The next line, blank or not ([`Line::Text`] with an empty buffer when blank).
    fn next_physical(&mut self) -> io::Result<Line> {
        self.buf.clear();
        // The content, plus `\r\n`, plus one byte to tell a line that is too long.
        let limit = MAX_LINE_BYTES as u64 + 3;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(Line::Eof);
        }
        self.number += 1;
        let complete = self.buf.last() == Some(&b'\n');
        if complete {
            self.buf.pop();
        } else if n as u64 == limit {
            self.skip_rest_of_line()?;
            self.buf.clear();
            return Ok(Line::TooLong);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.number == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        if self.buf.len() > MAX_LINE_BYTES {
            self.buf.clear();
            return Ok(Line::TooLong);
        }
        Ok(Line::Text)
    }

    /// Consumes bytes up to and including the next `\n` (or the end) without keeping them.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let all = buf.len();
                    self.reader.consume(all);
                }
            }
        }
    }
}

/// Whether a quoted field of `line` is still open at its end, by the CSV reader's rules: a
/// quote opens a quoted field only at the start of a field, `""` inside one is a literal
/// quote, and after the closing quote the field goes on unquoted (where quotes are literal).
fn quote_left_open(line: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    for &b in line {
        state = match state {
            State::FieldStart if b == QUOTE => State::Quoted,
            State::FieldStart | State::Unquoted | State::QuoteInQuoted if b == DELIMITER => {
                State::FieldStart
            }
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == QUOTE => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == QUOTE => State::Quoted,
            State::QuoteInQuoted => State::Unquoted,
        };
    }
    state == State::Quoted
}

/// The fields of one line (it holds no line break), parsed on its own.
fn parse_fields(line: &[u8], record: &mut csv::ByteRecord) {
    // The csv reader drops a byte order mark at the start of its input, which here is every
    // line: given one of its own to drop, it keeps the line's as data.
    let with_bom;
    let line = if line.starts_with(BOM) {
        with_bom = [BOM, line].concat();
        &with_bom[..]
    } else {
        line
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(DELIMITER)
        .quote(QUOTE)
        // Only `\n` ends a record, and the line holds none: a stray `\r` inside it is data,
        // not a second record.
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(line.len().max(1))
        .from_reader(line);
    // Reading from a byte slice cannot fail, and a flexible reader accepts any field count;
    // an empty line (never passed here) would leave the record empty.
    if !matches!(reader.read_byte_record(record), Ok(true)) {
        record.clear();
    }
}

/// Streams the rows of a contacts file: the [`ContactSource`] of the `redial` command.
#[derive(Debug)]
pub struct CsvSource {
    path: PathBuf,
    total: Option<u64>,
    lines: Lines,
    headers: Vec<String>,
    phone_index: usize,
    record: csv::ByteRecord,
}

impl CsvSource {
    /// Opens a contacts file and reads its header (the first line that is not blank).
    ///
    /// # Errors
    /// [`ContactsError::Open`] when the file cannot be opened, [`ContactsError::Header`] when
    /// it has no header row, a header that is not UTF-8, too long or with an unclosed quote,
    /// no `phone` column or a column named twice (`phone` in any case), [`ContactsError::Read`]
    /// when reading it fails.
    pub fn open(path: &Path) -> Result<Self, ContactsError> {
        let file = File::open(path).map_err(|source| ContactsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut lines = Lines {
            reader: BufReader::new(file),
            buf: Vec::new(),
            number: 0,
        };
        let header_error = |reason: String| ContactsError::Header {
            path: path.to_path_buf(),
            reason,
        };
        let read_error = |source| ContactsError::Read {
            path: path.to_path_buf(),
            source,
        };
        match lines.next().map_err(read_error)? {
            Line::Text => {}
            Line::Eof => {
                return Err(header_error(
                    "the file is empty: expected a header row with a `phone` column".into(),
                ));
            }
            Line::TooLong => {
                return Err(header_error(format!(
                    "the header row (line {}) is longer than {} KiB",
                    lines.number,
                    MAX_LINE_BYTES / 1024
                )));
            }
        }
        if quote_left_open(&lines.buf) {
            return Err(header_error(format!(
                "the header row (line {}) has a quoted field that is not closed on that line",
                lines.number
            )));
        }
        let mut raw = csv::ByteRecord::new();
        parse_fields(&lines.buf, &mut raw);
        let headers = raw
            .iter()
            .map(|h| std::str::from_utf8(h).map(|s| s.trim().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| header_error("the header row is not valid UTF-8".into()))?;
        let mut named = std::collections::HashSet::new();
        for name in headers.iter().filter(|h| !h.is_empty()) {
            let column = if name.eq_ignore_ascii_case(PHONE_COLUMN) {
                PHONE_COLUMN
            } else {
                name
            };
            if !named.insert(column) {
                return Err(header_error(format!(
                    "the header row (line {}) names the column `{name}` twice: which one is meant is unclear",
                    lines.number
                )));
            }
        }
        let phone_index = headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(PHONE_COLUMN))
            .ok_or_else(|| {
                header_error(format!(
                    "no `{PHONE_COLUMN}` column in the header row (columns: {})",
                    headers.join(", ")
                ))
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            total: None,
            lines,
            headers,
            phone_index,
            record: csv::ByteRecord::new(),
        })
    }

    /// Opens a contacts file and counts its rows first (one streaming pass), so that
    /// [`ContactSource::size_hint`] knows the total.
    ///
    /// # Errors
    /// As [`CsvSource::open`] and [`count_rows`].
    pub fn open_counted(path: &Path) -> Result<Self, ContactsError> {
        let total = count_rows(path)?;
        let mut source = Self::open(path)?;
        source.total = Some(total);
        Ok(source)
    }

    /// The column names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next line that is not blank.
    fn next_line(&mut self) -> Result<Line, ContactsError> {
        self.lines.next().map_err(|source| ContactsError::Read {
            path: self.path.clone(),
            source,
        })
    }

    /// The next data row, `None` at the end.
    ///
    /// # Errors
    /// [`ContactsError::Read`] when the file cannot be read further.
    pub fn next_row(&mut self) -> Result<Option<SourceItem>, ContactsError> {
        match self.next_line()? {
            Line::Eof => Ok(None),
            Line::TooLong => Ok(Some(SourceItem::Invalid(InvalidContact::new(
                self.lines.number,
                String::new(),
                format!("line longer than {} KiB", MAX_LINE_BYTES / 1024),
            )))),
            Line::Text => Ok(Some(self.parse())),
        }
    }

    fn parse(&mut self) -> SourceItem {
        let line = self.lines.number;
        let open_quote = quote_left_open(&self.lines.buf);
        parse_fields(&self.lines.buf, &mut self.record);
        let phone_lossy = self
            .record
            .get(self.phone_index)
            .map(|p| String::from_utf8_lossy(p).trim().to_owned())
            .unwrap_or_default();
        let invalid = |reason: String| {
            SourceItem::Invalid(InvalidContact::new(line, phone_lossy.clone(), reason))
        };
        if open_quote {
            return invalid(
                "a quoted field is not closed on this line (a field cannot span lines)".into(),
            );
        }
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
        SourceItem::Contact(Contact {
            key: phone.clone(),
            line,
            phone,
            metadata,
        })
    }
}

impl ContactSource for CsvSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>> {
        Box::pin(std::future::ready(self.next_row().map_err(Into::into)))
    }

    fn size_hint(&self) -> Option<u64> {
        self.total
    }
}

/// Counts the data rows of a contacts file (a streaming pass, for progress totals): every line
/// that is not blank after the header, exactly the rows [`CsvSource::next_row`] yields.
///
/// # Errors
/// As [`CsvSource::open`] and [`CsvSource::next_row`].
pub fn count_rows(path: &Path) -> Result<u64, ContactsError> {
    let mut reader = CsvSource::open(path)?;
    let mut n = 0;
    while reader.next_line()? != Line::Eof {
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

    fn rows(bytes: &[u8]) -> Vec<SourceItem> {
        let f = file(bytes);
        let mut r = CsvSource::open(f.path()).unwrap();
        let mut out = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn valid_rows_carry_line_and_metadata() {
        let r = rows(b"name,phone\nAda,+447446466847\n\nBob, +14155550123 \n");
        let SourceItem::Contact(c) = &r[0] else {
            panic!("{r:?}")
        };
        assert_eq!((c.line, c.phone.as_str()), (2, "+447446466847"));
        assert_eq!(c.metadata["name"], "Ada");
        let SourceItem::Contact(c) = &r[1] else {
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
                SourceItem::Contact(c) => (c.line, true),
                SourceItem::Invalid(i) => (i.line, false),
            })
            .collect();
        assert_eq!(lines, vec![(2, false), (3, false), (4, false), (5, false)]);
        let SourceItem::Invalid(i) = &r[1] else {
            unreachable!()
        };
        assert!(i.reason.contains("E.164"), "{}", i.reason);
    }

    #[test]
    fn a_file_without_a_phone_column_is_refused() {
        let f = file(b"name,number\nAda,+447446466847\n");
        let e = CsvSource::open(f.path()).unwrap_err();
        assert!(e.to_string().contains("no `phone` column"), "{e}");
        assert!(matches!(
            CsvSource::open(Path::new("/nonexistent/c.csv")),
            Err(ContactsError::Open { .. })
        ));
        assert_eq!(
            count_rows(file(b"phone\n+447446466847\nbad\n").path()).unwrap(),
            2
        );
    }

    fn summary(rows: &[SourceItem]) -> Vec<(u64, bool)> {
        rows.iter()
            .map(|row| match row {
                SourceItem::Contact(c) => (c.line, true),
                SourceItem::Invalid(i) => (i.line, false),
            })
            .collect()
    }

    #[test]
    fn a_stray_quote_spoils_only_its_own_line() {
        // Defect: the csv crate let the unclosed quote of line 3 run to the end of the file,
        // so line 3 was dialled with lines 4+ in its metadata and they were never read.
        let input =
            b"phone,name\n+447446466801,a\n+447446466802,\"bob\n+447446466803,c\n+447446466804,d\n";
        let r = rows(input);
        assert_eq!(
            summary(&r),
            vec![(2, true), (3, false), (4, true), (5, true)],
            "{r:?}"
        );
        let SourceItem::Invalid(i) = &r[1] else {
            unreachable!()
        };
        assert_eq!(i.phone, "+447446466802");
        assert!(i.reason.contains("not closed on this line"), "{}", i.reason);
        let SourceItem::Contact(c) = &r[2] else {
            unreachable!()
        };
        assert_eq!(
            (c.phone.as_str(), &c.metadata["name"]),
            ("+447446466803", &"c".into())
        );
        assert_eq!(count_rows(file(input).path()).unwrap(), 4);
    }

    #[test]
    fn quoted_fields_on_one_line_still_parse() {
        let r = rows(b"phone,name,note\n\"+447446466801\",\"Smith, \"\"Jr\"\"\",a\"b\n");
        let SourceItem::Contact(c) = &r[0] else {
            panic!("{r:?}")
        };
        assert_eq!(c.phone, "+447446466801");
        assert_eq!(c.metadata["name"], "Smith, \"Jr\"");
        assert_eq!(
            c.metadata["note"], "a\"b",
            "a quote inside an unquoted field is data"
        );
        let open = rows(b"phone,name\n+447446466801,\"a,b\n");
        assert!(
            matches!(&open[0], SourceItem::Invalid(i) if i.line == 2),
            "{open:?}"
        );
    }

    #[test]
    fn the_quote_scanner_agrees_with_the_csv_reader() {
        // The csv reader lets an open quote run on: parsing `line \n x` gives one record when
        // the line leaves a quote open and two when it does not.
        let open_per_csv = |line: &[u8]| {
            let mut input = line.to_vec();
            input.extend_from_slice(b"\nx");
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_reader(&input[..]);
            reader.byte_records().count() == 1
        };
        let cases: [&[u8]; 16] = [
            b"a,b",
            b"\"a\",b",
            b"\"a",
            b"a,\"b",
            b"a,\"b\"",
            b"a,\"b\"\"",
            b"a,\"b\"\"\"",
            b"a,b\"",
            b"a,b\"c\"d",
            b"\"a\"b\"c",
            b"\"a\"\"",
            b"\"\"",
            b"\"",
            b",\"",
            b"\"a,\"\",b",
            b"\"a\r\",b",
        ];
        for line in cases {
            assert_eq!(
                quote_left_open(line),
                open_per_csv(line),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_line_over_64_kib_is_invalid_and_never_buffered_whole() {
        // Defect: a row had no size limit; a 10 MiB line was read into memory whole.
        let mut input = b"phone,name\n+447446466801,a\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        input.extend_from_slice(b"\n+447446466803,c\n");
        let f = file(&input);
        let mut reader = CsvSource::open(f.path()).unwrap();
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            assert!(
                reader.lines.buf.capacity() <= 2 * MAX_LINE_BYTES + 8,
                "buffer grew to {}",
                reader.lines.buf.capacity()
            );
            out.push(row);
        }
        assert_eq!(summary(&out), vec![(2, true), (3, false), (4, true)]);
        let SourceItem::Invalid(i) = &out[1] else {
            unreachable!()
        };
        assert_eq!(i.reason, "line longer than 64 KiB");
        assert_eq!(count_rows(f.path()).unwrap(), 3);
    }

    #[test]
    fn the_line_limit_is_exact_with_crlf_and_at_the_end_of_the_file() {
        let line = |len: usize| {
            let mut l = b"+447446466801,".to_vec();
            l.resize(len, b'n');
            l
        };
        let mut input = b"phone,name\r\n".to_vec();
        for part in [
            line(MAX_LINE_BYTES),
            b"\r\n".to_vec(),
            line(MAX_LINE_BYTES + 1),
        ] {
            input.extend(part);
        }
        input.extend_from_slice(b"\r\n");
        input.extend(line(MAX_LINE_BYTES + 2));
        let r = rows(&input);
        assert_eq!(
            summary(&r),
            vec![(2, true), (3, false), (4, false)],
            "at the limit, over it by one, and a last line without a line break"
        );
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): a column named twice was
    /// accepted; the second `name` silently overwrote the first in the metadata, and a second
    /// `Phone` column went into the metadata while the first was dialled.
    #[test]
    fn a_column_named_twice_is_refused() {
        for header in [
            "phone,name,name",
            "phone,Phone",
            "name, phone ,PHONE",
            "a,phone, a",
        ] {
            let f = file(format!("{header}\n+447446466801,x,y\n").as_bytes());
            let e = CsvSource::open(f.path()).unwrap_err().to_string();
            assert!(e.contains("line 1") && e.contains("twice"), "{header}: {e}");
        }
        // Unnamed columns (a trailing comma) are not names.
        let r = rows(b"phone,name,,\n+447446466801,x,,\n");
        assert_eq!(summary(&r), vec![(2, true)]);
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): the csv reader, started on
    /// each line, dropped a U+FEFF that began a line as if it were the file's byte order mark,
    /// so a row's first field silently lost it.
    #[test]
    fn a_bom_that_begins_a_later_line_is_data() {
        let r = rows(b"\xEF\xBB\xBFname,phone\n\xEF\xBB\xBFAda,+447446466801\n");
        let SourceItem::Contact(c) = &r[0] else {
            panic!("{r:?}")
        };
        assert_eq!(c.metadata["name"], "\u{feff}Ada");
        let r = rows(b"phone\n\xEF\xBB\xBF+447446466801\n");
        assert!(
            matches!(&r[0], SourceItem::Invalid(i) if i.line == 2),
            "a number behind a U+FEFF is not E.164: {r:?}"
        );
    }

    #[test]
    fn a_bom_crlf_and_blank_lines_are_read_as_before() {
        let r = rows(b"\xEF\xBB\xBFphone,name\r\n+447446466801,a\r\n\r\n\n+447446466802,\"b\"\r\n");
        assert_eq!(summary(&r), vec![(2, true), (5, true)], "{r:?}");
        let SourceItem::Contact(c) = &r[1] else {
            unreachable!()
        };
        assert_eq!(c.metadata["name"], "b", "no \\r left in the last field");
        let r = rows(b"\n\nphone\n+447446466801");
        assert_eq!(
            summary(&r),
            vec![(4, true)],
            "blank lines before the header count"
        );
        let e = CsvSource::open(file(b"\n\r\n").path()).unwrap_err();
        assert!(e.to_string().contains("the file is empty"), "{e}");
        let e = CsvSource::open(file(b"phone,\"name\n+447446466801,a\n").path()).unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
    }
}
