//! Fuzzed inputs of the campaign crate (issue 15, item 3): contacts CSV lines, the journal
//! file and suppress files.
//!
//! Each strategy builds valid input, then breaks it the ways files break: byte flips,
//! truncation at every position, a field dropped or added, an unclosed quote, non-UTF-8
//! bytes, a line of megabytes, CRLF, a BOM, a column named twice, pure random bytes; for the
//! journal also a torn last line, a corrupted line in the middle, a wrong header, another
//! campaign's records, duplicate records and a call with no `started` record.
//!
//! Properties: nothing panics; no line is read whole past its limit; a broken input gives a
//! typed error (or, for a contacts row, an invalid item) that names the line; a broken
//! contacts row spoils only its own line; a journal is refused naming the line, or repaired
//! (the torn tail only), never silently trusted; valid input reads back exactly.
//!
//! The normal run is small (the case counts below, a few seconds in all). A long run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p redial-campaign --test fuzz_inputs --release
//! ```
//!
//! (Properties that run once per byte of their input, the cuts at every position, take a
//! hundredth of `PROPTEST_CASES`.) Failures found are kept in `fuzz_*.proptest-regressions`
//! beside this file and replayed first on every run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use futures::FutureExt;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use redial_campaign::journal::{MAX_RECORD_BYTES, Record};
use redial_campaign::source::{MAX_LINE_BYTES, count_rows};
use redial_campaign::suppress::{MAX_SUPPRESS_LINE_BYTES, SuppressError};
use redial_campaign::{
    Contact, ContactOutcome, CsvSource, FileJournal, Journal, JournalError, PriorState, SourceItem,
    SuppressList, idempotency_key,
};
use serde_json::{Value, json};

/// Cases per property in the normal run; `PROPTEST_CASES` overrides it.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// For a property that runs once per byte of its input: a hundredth of `PROPTEST_CASES` when
/// set (a long run stays hours shorter), `cases` in the normal run.
fn config_per_byte(cases: u32) -> ProptestConfig {
    let mut config = config(cases);
    config.cases = (config.cases / 100).max(cases);
    config
}

/// A number the E.164 check accepts.
fn phone() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+1415555[0-9]{4}",
        "\\+4474464668[0-9]{2}",
        "\\+[1-9][0-9]{7,14}"
    ]
}

/// One way a file is damaged at the byte level.
#[derive(Debug, Clone)]
enum Damage {
    FlipBit { at: usize, bit: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    let special = proptest::sample::select(&b"\",\r\n\0\xff\xef\xbb\xbf#+ {}:"[..]);
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::FlipBit { at, bit }),
        (
            any::<usize>(),
            proptest::collection::vec(prop_oneof![any::<u8>(), special], 1..6)
        )
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Damage::Delete { at, len }),
    ]
}

/// Applies `damage` to the bytes from `from` on (the bytes before it are left alone).
fn apply(damage: &Damage, bytes: &mut Vec<u8>, from: usize) {
    let span = bytes.len() - from;
    let pos = |at: usize| from + if span == 0 { 0 } else { at % span };
    match damage {
        Damage::FlipBit { at, bit } => {
            if span > 0 {
                let i = pos(*at);
                bytes[i] ^= 1 << bit;
            }
        }
        Damage::Insert { at, bytes: b } => {
            let i = if span == 0 { from } else { pos(*at) };
            bytes.splice(i..i, b.iter().copied());
        }
        Damage::Delete { at, len } => {
            if span > 0 {
                let i = pos(*at);
                bytes.drain(i..(i + len).min(bytes.len()));
            }
        }
    }
}

/// A scratch directory for one case.
fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Contacts CSV
// ---------------------------------------------------------------------------------------------

/// A valid contacts file: columns, rows, and how it is written.
#[derive(Debug, Clone)]
struct Csv {
    /// Column names; `phone` at `phone_at`.
    columns: Vec<String>,
    phone_at: usize,
    /// Field values per row (the phone's at `phone_at`).
    rows: Vec<Vec<String>>,
    /// Blank lines before each row (and, at index 0, before the header too).
    blanks: Vec<usize>,
    bom: bool,
    crlf: bool,
    /// Whether the last line ends with a line break.
    final_newline: bool,
}

fn csv() -> impl Strategy<Value = Csv> {
    (
        proptest::collection::btree_set("[a-z][a-z0-9_]{0,8}", 0..4),
        any::<prop::sample::Index>(),
        1usize..16,
        any::<(bool, bool, bool)>(),
    )
        .prop_flat_map(|(names, at, n_rows, (bom, crlf, final_newline))| {
            let mut columns: Vec<String> = names.into_iter().filter(|n| n != "phone").collect();
            let phone_at = at.index(columns.len() + 1);
            columns.insert(phone_at, "phone".to_owned());
            let width = columns.len();
            let row = (phone(), proptest::collection::vec("[^\r\n]{0,12}", width)).prop_map(
                move |(p, mut fields)| {
                    fields[phone_at] = p;
                    fields
                },
            );
            (
                Just(columns),
                Just(phone_at),
                proptest::collection::vec(row, n_rows),
                proptest::collection::vec(
                    prop_oneof![4 => Just(0usize), 1 => 1usize..3],
                    n_rows + 1,
                ),
                Just((bom, crlf, final_newline)),
            )
        })
        .prop_map(
            |(columns, phone_at, rows, blanks, (bom, crlf, final_newline))| Csv {
                columns,
                phone_at,
                rows,
                blanks,
                bom,
                crlf,
                final_newline,
            },
        )
}

/// A field as written: quoted when it holds a delimiter or a quote, or starts with a space.
fn field(value: &str) -> String {
    if value.contains([',', '"']) || value.starts_with(' ') || value.is_empty() {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

impl Csv {
    fn newline(&self) -> &'static str {
        if self.crlf { "\r\n" } else { "\n" }
    }

    /// The file's bytes, and the 1-based line of the header and of each row.
    fn render(&self) -> (Vec<u8>, usize, Vec<u64>) {
        let nl = self.newline();
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        let mut line = 1;
        for _ in 0..self.blanks[0] {
            out.push_str(nl);
            line += 1;
        }
        let header_line = line;
        out.push_str(
            &self
                .columns
                .iter()
                .map(|c| field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        let mut lines = Vec::new();
        for (row, blanks) in self.rows.iter().zip(&self.blanks[1..]) {
            out.push_str(nl);
            line += 1;
            for _ in 0..*blanks {
                out.push_str(nl);
                line += 1;
            }
            out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
            lines.push(line as u64);
        }
        if self.final_newline {
            out.push_str(nl);
        }
        (out.into_bytes(), header_line, lines)
    }

    /// The contact row `i` must read as.
    fn expected(&self, i: usize, line: u64) -> (u64, String, BTreeMap<String, String>) {
        let row = &self.rows[i];
        let meta = self
            .columns
            .iter()
            .zip(row)
            .enumerate()
            .filter(|(c, _)| *c != self.phone_at)
            .map(|(_, (name, value))| (name.clone(), value.clone()))
            .collect();
        (line, row[self.phone_at].clone(), meta)
    }
}

/// A contact as compared: line, phone, metadata.
fn seen(contact: &Contact) -> (u64, String, BTreeMap<String, String>) {
    let meta = contact
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    (contact.line, contact.phone.clone(), meta)
}

/// Reads every item of a contacts file (checking the reader's invariants on the way).
fn read_all(path: &Path) -> Result<Vec<SourceItem>, String> {
    let mut source = CsvSource::open(path).map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    let mut last_line = 0;
    while let Some(item) = source.next_row().map_err(|e| e.to_string())? {
        let line = match &item {
            SourceItem::Contact(c) => c.line,
            SourceItem::Invalid(i) => {
                assert!(!i.reason.is_empty(), "an invalid row says why");
                assert!(i.phone.len() <= MAX_LINE_BYTES, "the phone kept is bounded");
                i.line
            }
            _ => unreachable!(),
        };
        assert!(
            line > last_line,
            "lines strictly increase: {line} after {last_line}"
        );
        last_line = line;
        items.push(item);
    }
    assert_eq!(
        count_rows(path).map_err(|e| e.to_string())?,
        items.len() as u64,
        "count_rows counts exactly the rows read"
    );
    Ok(items)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One way a single row is broken, and what its invalid item must say.
#[derive(Debug, Clone)]
enum RowBreak {
    MissingField,
    ExtraField,
    UnclosedQuote,
    NonUtf8,
    BadPhone(&'static str),
    TooLong(usize),
}

fn row_break() -> impl Strategy<Value = RowBreak> {
    prop_oneof![
        Just(RowBreak::MissingField),
        Just(RowBreak::ExtraField),
        Just(RowBreak::UnclosedQuote),
        Just(RowBreak::NonUtf8),
        proptest::sample::select(
            &[
                "07446 466847",
                "+",
                "+0123456789",
                "+1234567890123456",
                "+44 7446 466847",
                "",
                "tel:+14155550100",
                "+1415555\u{0}0100",
                "\u{ff11}4155550100"
            ][..]
        )
        .prop_map(RowBreak::BadPhone),
        prop_oneof![Just(MAX_LINE_BYTES + 1), MAX_LINE_BYTES + 1..1024 * 1024]
            .prop_map(RowBreak::TooLong),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    /// A valid file reads back exactly: every row a contact at its line, with its metadata.
    #[test]
    fn csv_valid_rows_read_back_exactly(c in csv()) {
        let dir = tempdir();
        let (bytes, _, lines) = c.render();
        let path = write(dir.path(), "c.csv", &bytes);
        let items = read_all(&path).map_err(TestCaseError::fail)?;
        prop_assert_eq!(items.len(), c.rows.len());
        for (i, item) in items.iter().enumerate() {
            let SourceItem::Contact(contact) = item else {
                return Err(TestCaseError::fail(format!("row {i} invalid: {item:?}\n{}", String::from_utf8_lossy(&bytes))));
            };
            prop_assert_eq!(seen(contact), c.expected(i, lines[i]));
            prop_assert_eq!(&contact.key, &contact.phone, "the CSV source keys a contact by its number");
        }
    }

    /// A row broken one way is one invalid item at its line saying what is wrong; every other
    /// row reads as before.
    #[test]
    fn csv_a_broken_row_spoils_only_its_own_line(
        c in csv(), which in any::<prop::sample::Index>(), brk in row_break(),
    ) {
        let k = which.index(c.rows.len());
        let width = c.columns.len();
        // The field broken: another column's when there is one, else the phone.
        let target = if width > 1 { (c.phone_at + 1) % width } else { c.phone_at };
        let (bytes, _, lines) = c.render();
        // Re-render row k by hand.
        let nl = c.newline();
        let text = String::from_utf8(bytes).unwrap();
        let mut row: Vec<Vec<u8>> = c.rows[k].iter().map(|f| field(f).into_bytes()).collect();
        let (name, expect): (&str, String) = match &brk {
            RowBreak::MissingField => {
                if width == 1 {
                    // Dropping the only field leaves a blank line; add one instead.
                    row.push(b"x".to_vec());
                } else {
                    row.pop();
                }
                ("", "fields as in the header".to_owned())
            }
            RowBreak::ExtraField => {
                row.push(b"extra".to_vec());
                ("", "fields as in the header".to_owned())
            }
            RowBreak::UnclosedQuote => {
                // The last field: a quote in any later field would close it.
                row[width - 1] = b"\"open, never closed".to_vec();
                ("", "not closed on this line".to_owned())
            }
            RowBreak::NonUtf8 => {
                // Inside the field: after its opening quote when it is quoted.
                let at = usize::from(row[target].first() == Some(&b'"'));
                row[target].splice(at..at, [0xff, 0xfe]);
                (c.columns[target].as_str(), "is not valid UTF-8".to_owned())
            }
            RowBreak::BadPhone(p) => {
                row[c.phone_at] = field(p).into_bytes();
                ("", "phone".to_owned())
            }
            RowBreak::TooLong(n) => {
                row[target] = vec![b'x'; *n];
                ("", "longer than 64 KiB".to_owned())
            }
        };
        let mut out = Vec::new();
        // Everything before row k, row k broken, everything after: split the text at lines.
        let all: Vec<&str> = text.split(nl).collect();
        let row_index = (lines[k] - 1) as usize;
        let joined = |parts: &[&str]| parts.join(nl).into_bytes();
        out.extend(joined(&all[..row_index]));
        out.extend_from_slice(nl.as_bytes());
        out.extend(row.join(&b","[..]));
        if row_index + 1 < all.len() {
            out.extend_from_slice(nl.as_bytes());
            out.extend(joined(&all[row_index + 1..]));
        }
        let dir = tempdir();
        let path = write(dir.path(), "c.csv", &out);
        let items = read_all(&path).map_err(TestCaseError::fail)?;
        prop_assert_eq!(items.len(), lines.len(), "one item per row");
        for (i, item) in items.iter().enumerate() {
            match item {
                SourceItem::Invalid(bad) if i == k => {
                    prop_assert_eq!(bad.line, lines[k]);
                    prop_assert!(bad.reason.contains(&expect), "{:?} lacks {:?}", bad.reason, expect);
                    prop_assert!(bad.reason.contains(name), "{:?} names the field {:?}", bad.reason, name);
                }
                SourceItem::Contact(contact) if i != k => {
                    prop_assert_eq!(seen(contact), c.expected(i, lines[i]));
                }
                other => return Err(TestCaseError::fail(format!("row {i} (broken: {k}): {other:?}"))),
            }
        }
    }

    /// A header with duplicated, missing or unreadable columns is refused naming the problem;
    /// otherwise it is read.
    #[test]
    fn csv_headers_are_read_or_refused_by_name(
        names in proptest::collection::vec(prop_oneof!["[ab]", Just("phone".to_owned()), Just("PHONE".to_owned()), Just(String::new()), Just("n\u{ff}".to_owned())], 1..5),
        non_utf8 in any::<bool>(),
    ) {
        let dir = tempdir();
        let mut header = names.iter().map(|n| field(n)).collect::<Vec<_>>().join(",").into_bytes();
        if non_utf8 {
            header.extend_from_slice(b",\xff");
        }
        header.extend_from_slice(b"\n+14155550100\n");
        let path = write(dir.path(), "c.csv", &header);
        let normal: Vec<String> = names.iter().filter(|n| !n.is_empty())
            .map(|n| if n.eq_ignore_ascii_case("phone") { "phone".to_owned() } else { n.clone() }).collect();
        let unique = normal.iter().collect::<BTreeSet<_>>().len() == normal.len();
        let has_phone = normal.iter().any(|n| n == "phone");
        match CsvSource::open(&path) {
            Ok(_) => prop_assert!(unique && has_phone && !non_utf8, "{:?} accepted", names),
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.contains(&path.display().to_string()), "{}", shown);
                if non_utf8 {
                    prop_assert!(shown.contains("not valid UTF-8"), "{}", shown);
                } else if !unique {
                    prop_assert!(shown.contains("twice") && shown.contains("line 1"), "{}", shown);
                } else {
                    prop_assert!(!has_phone && shown.contains("no `phone` column"), "{}", shown);
                }
            }
        }
    }

    /// Byte damage after the header: no panic, every item at a real line, the rows before the
    /// damage unchanged.
    #[test]
    fn csv_damaged_bytes_never_panic(c in csv(), damages in proptest::collection::vec(damage(), 1..4)) {
        let (mut bytes, header_line, lines) = c.render();
        let header_end = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(header_line - 1)
            .map_or(bytes.len(), |(i, _)| i + 1);
        let pristine = bytes.clone();
        for d in &damages {
            apply(d, &mut bytes, header_end);
        }
        let first_change = bytes.iter().zip(&pristine).position(|(a, b)| a != b).unwrap_or(bytes.len().min(pristine.len()));
        let dir = tempdir();
        let path = write(dir.path(), "c.csv", &bytes);
        let items = read_all(&path).map_err(TestCaseError::fail)?;
        let total_lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        for item in &items {
            let line = match item { SourceItem::Contact(c) => c.line, SourceItem::Invalid(i) => i.line, _ => unreachable!() };
            prop_assert!(line > header_line as u64 && line <= total_lines);
        }
        // Rows that end before the first changed byte read exactly as before.
        let untouched_lines = pristine[..first_change].iter().filter(|b| **b == b'\n').count() as u64;
        for (i, item) in items.iter().enumerate() {
            if lines.get(i).is_none_or(|l| *l > untouched_lines) { break; }
            let SourceItem::Contact(contact) = item else {
                return Err(TestCaseError::fail(format!("untouched row {i} invalid: {item:?}")));
            };
            prop_assert_eq!(seen(contact), c.expected(i, lines[i]));
        }
    }

    /// Pure random bytes as a contacts file: refused naming the file, or read without a panic.
    #[test]
    fn csv_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024), header in any::<bool>()) {
        let mut file = if header { b"phone,name\n".to_vec() } else { Vec::new() };
        file.extend(bytes);
        let dir = tempdir();
        let path = write(dir.path(), "c.csv", &file);
        if let Err(e) = read_all(&path) {
            prop_assert!(e.contains(&path.display().to_string()), "{}", e);
        }
    }
}

proptest! {
    // Each case reads the file once per byte.
    #![proptest_config(config_per_byte(3))]

    /// A file cut at every position (a half-copied file): no panic; the rows wholly before
    /// the cut read exactly as in the whole file.
    #[test]
    fn csv_cut_at_every_position_never_panics(mut c in csv()) {
        c.rows.truncate(3);
        c.blanks.truncate(4);
        let (bytes, header_line, lines) = c.render();
        let dir = tempdir();
        for at in 0..=bytes.len() {
            let path = write(dir.path(), "c.csv", &bytes[..at]);
            let items = match read_all(&path) {
                Ok(items) => items,
                Err(e) => {
                    prop_assert!(e.contains("c.csv"), "{}", e);
                    continue;
                }
            };
            let complete_lines = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64;
            prop_assert!(complete_lines + 1 > header_line as u64 || items.is_empty());
            for (i, item) in items.iter().enumerate() {
                if lines[i] > complete_lines { break; }
                let SourceItem::Contact(contact) = item else {
                    return Err(TestCaseError::fail(format!("cut at {at}: complete row {i} invalid: {item:?}")));
                };
                prop_assert_eq!(seen(contact), c.expected(i, lines[i]));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Journal
// ---------------------------------------------------------------------------------------------

const AGENT: &str = "agent_fuzz";

/// One journal write of the engine.
#[derive(Debug, Clone)]
enum Op {
    Started(usize),
    Placed(usize),
    /// Contact, status, with a call.
    Finished(usize, &'static str, bool),
}

/// A legal sequence of the engine's writes over `contacts` contacts: a call exists only
/// after the contact's `started`.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = (
        0usize..6,
        0u8..3,
        proptest::sample::select(&["completed", "failed", "opted_out", "ambiguous", "halted"][..]),
        any::<bool>(),
    )
        .prop_map(|(c, kind, status, call)| match kind {
            0 => Op::Started(c),
            1 => Op::Placed(c),
            _ => Op::Finished(c, status, call),
        });
    proptest::collection::vec(op, 1..24).prop_map(|ops| {
        let mut started = BTreeSet::new();
        let mut legal = Vec::new();
        for op in ops {
            let op = match op {
                Op::Placed(c) if !started.contains(&c) => Op::Started(c),
                Op::Finished(c, s, true) if !started.contains(&c) => Op::Finished(c, s, false),
                op => op,
            };
            if let Op::Started(c) = op {
                started.insert(c);
            }
            legal.push(op);
        }
        legal
    })
}

/// Contact `i`: keyed by its number, or (odd ones) by a CRM id.
fn journal_contact(i: usize) -> Contact {
    let c = Contact::new(format!("+4474464668{i:02}")).at_line(i as u64 + 2);
    if i % 2 == 1 {
        c.with_key(format!("crm-{i}"))
    } else {
        c
    }
}

fn outcome(i: usize, status: &str, call: bool) -> ContactOutcome {
    let c = journal_contact(i);
    serde_json::from_value(json!({
        "line": c.line, "phone": c.phone, "status": status,
        "call_id": call.then(|| format!("call_{i}")), "call_status": call.then_some("completed"),
        "attempts": u32::from(call),
        "error": (!call).then(|| json!({"type": "halted", "code": "campaign_stopped", "message": "m\n\"quoted\" \u{1F600}"})),
    }))
    .unwrap()
}

/// Writes `ops` through a [`FileJournal`]; returns the campaign id and each contact's
/// expected prior state.
fn write_journal(
    path: &Path,
    contacts: &Path,
    ops: &[Op],
) -> (uuid::Uuid, HashMap<String, PriorState>) {
    let j = FileJournal::open(path, AGENT, contacts).unwrap();
    let id = j.campaign_id();
    let mut expected = HashMap::new();
    for op in ops {
        let (i, state) = match *op {
            Op::Started(i) => {
                let c = journal_contact(i);
                let key = idempotency_key(id, &c.key);
                j.started(&c, &key).now_or_never().unwrap().unwrap();
                (i, PriorState::Started { key, sent_at: None })
            }
            Op::Placed(i) => {
                let c = journal_contact(i);
                let key = idempotency_key(id, &c.key);
                j.placed(&c, &key, &format!("call_{i}"))
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                (
                    i,
                    PriorState::Placed {
                        key,
                        call_id: format!("call_{i}"),
                    },
                )
            }
            Op::Finished(i, status, call) => {
                let o = outcome(i, status, call);
                j.finished(&journal_contact(i).key, &o)
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                (i, PriorState::Finished(o))
            }
        };
        expected.insert(journal_contact(i).key, state);
    }
    (id, expected)
}

/// A state as compared: a `started` record's time is the wall clock, so it is dropped.
fn comparable(state: Option<PriorState>) -> Option<PriorState> {
    match state {
        Some(PriorState::Started { key, .. }) => Some(PriorState::Started { key, sent_at: None }),
        other => other,
    }
}

/// Opens the journal and reads every contact's prior state (of the six contacts written).
fn reopen(
    path: &Path,
    contacts: &Path,
) -> Result<(uuid::Uuid, HashMap<String, PriorState>), JournalError> {
    let j = FileJournal::open(path, AGENT, contacts)?;
    let mut states = HashMap::new();
    for i in 0..6 {
        let key = journal_contact(i).key;
        if let Some(s) = comparable(j.prior(&key).now_or_never().unwrap().unwrap()) {
            states.insert(key, s);
        }
    }
    Ok((j.campaign_id(), states))
}

/// The prior states the records of a journal's text say, read independently of the journal.
fn states_in(bytes: &[u8]) -> HashMap<String, PriorState> {
    let mut states = HashMap::new();
    for line in bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
    {
        let value: Value = serde_json::from_slice(line).unwrap();
        let (key, state) = match value["kind"].as_str().unwrap() {
            "header" => continue,
            "started" => (
                value["contact"]
                    .as_str()
                    .or(value["phone"].as_str())
                    .unwrap()
                    .to_owned(),
                PriorState::Started {
                    key: value["key"].as_str().unwrap().to_owned(),
                    sent_at: None,
                },
            ),
            "placed" => (
                value["contact"].as_str().unwrap().to_owned(),
                PriorState::Placed {
                    key: value["key"].as_str().unwrap().to_owned(),
                    call_id: value["call_id"].as_str().unwrap().to_owned(),
                },
            ),
            _ => {
                let o: ContactOutcome = serde_json::from_value(value["result"].clone()).unwrap();
                (
                    value["contact"].as_str().unwrap_or(&o.phone).to_owned(),
                    PriorState::Finished(o),
                )
            }
        };
        states.insert(key, state);
    }
    states.retain(|k, _| (0..6).any(|i| journal_contact(i).key == *k));
    states
}

/// Byte offsets where each line starts (and the end).
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

/// How a line in the journal is damaged.
#[derive(Debug, Clone)]
enum LineDamage {
    /// Bytes of the line changed (never into a line break).
    Bytes(Vec<Damage>),
    /// The line cut short, its line break kept.
    CutShort(usize),
    /// The line replaced by garbage.
    Garbage(Vec<u8>),
    /// The line written twice.
    Duplicated,
    /// The line removed.
    Removed,
}

fn line_damage() -> impl Strategy<Value = LineDamage> {
    prop_oneof![
        proptest::collection::vec(damage(), 1..3).prop_map(LineDamage::Bytes),
        any::<usize>().prop_map(LineDamage::CutShort),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(LineDamage::Garbage),
        Just(LineDamage::Duplicated),
        Just(LineDamage::Removed),
    ]
}

proptest! {
    #![proptest_config(config(32))]

    /// A journal written by the engine reads back exactly, however often it is reopened.
    #[test]
    fn journal_reads_back_what_was_written(ops in ops()) {
        let dir = tempdir();
        let (path, contacts) = (dir.path().join("j.jsonl"), dir.path().join("c.csv"));
        let (id, expected) = write_journal(&path, &contacts, &ops);
        for _ in 0..2 {
            let (again, states) = reopen(&path, &contacts).unwrap();
            prop_assert_eq!(again, id);
            prop_assert_eq!(&states, &expected);
        }
    }

}

proptest! {
    // Each case reopens the journal once per byte of its last line.
    #![proptest_config(config_per_byte(2))]

    /// A torn last line (the process died mid-write, at any byte) is cut off: the contact's
    /// state is the one before it, the file ends at the last complete record, and the records
    /// appended after it read back.
    #[test]
    fn journal_a_torn_last_line_is_cut_off_at_every_position(ops in ops()) {
        let dir = tempdir();
        let (path, contacts) = (dir.path().join("j.jsonl"), dir.path().join("c.csv"));
        let (id, expected) = write_journal(&path, &contacts, &ops);
        let whole = std::fs::read(&path).unwrap();
        prop_assert_eq!(&states_in(&whole), &expected);
        let starts = line_starts(&whole);
        let last = starts[starts.len() - 2];
        let before = states_in(&whole[..last]);
        for at in last + 1..whole.len() {
            std::fs::write(&path, &whole[..at]).unwrap();
            let (again, states) = reopen(&path, &contacts).unwrap();
            prop_assert_eq!(again, id);
            prop_assert_eq!(&states, &before, "torn at {} of {}", at, whole.len());
            prop_assert_eq!(std::fs::metadata(&path).unwrap().len(), last as u64, "the tail was cut");
        }
        // A record appended after the repair is read back on its own line.
        let j = FileJournal::open(&path, AGENT, &contacts).unwrap();
        let c = journal_contact(0);
        let key = idempotency_key(id, &c.key);
        j.started(&c, &key).now_or_never().unwrap().unwrap();
        drop(j);
        let (_, states) = reopen(&path, &contacts).unwrap();
        prop_assert_eq!(states.get(&c.key), Some(&PriorState::Started { key, sent_at: None }));
    }

}

proptest! {
    #![proptest_config(config(48))]

    /// A damaged line anywhere: refused naming that line (or, for the header, naming what is
    /// wrong with it), or accepted only when every line is a record and each contact's state
    /// is what the records say. Never a line skipped, never a panic.
    #[test]
    fn journal_a_damaged_line_is_refused_by_number_or_read_as_written(
        ops in ops(), which in any::<prop::sample::Index>(), dmg in line_damage(),
    ) {
        let dir = tempdir();
        let (path, contacts) = (dir.path().join("j.jsonl"), dir.path().join("c.csv"));
        let (id, _) = write_journal(&path, &contacts, &ops);
        let whole = std::fs::read(&path).unwrap();
        let starts = line_starts(&whole);
        let n_lines = starts.len() - 1;
        let k = which.index(n_lines); // 0-based
        let (from, to) = (starts[k], starts[k + 1] - 1); // the line, without its break
        let mut line = whole[from..to].to_vec();
        let mut bytes = whole[..from].to_vec();
        match &dmg {
            LineDamage::Bytes(ds) => {
                for d in ds {
                    apply(d, &mut line, 0);
                }
                for b in &mut line {
                    if *b == b'\n' { *b = b' '; }
                }
                bytes.extend(&line);
                bytes.push(b'\n');
            }
            LineDamage::CutShort(at) => {
                bytes.extend(&line[..at % line.len().max(1)]);
                bytes.push(b'\n');
            }
            LineDamage::Garbage(g) => {
                bytes.extend(g.iter().map(|b| if *b == b'\n' { b'?' } else { *b }));
                bytes.push(b'\n');
            }
            LineDamage::Duplicated => {
                bytes.extend(&line);
                bytes.push(b'\n');
                bytes.extend(&line);
                bytes.push(b'\n');
            }
            LineDamage::Removed => {}
        }
        bytes.extend(&whole[to + 1..]);
        std::fs::write(&path, &bytes).unwrap();
        match reopen(&path, &contacts) {
            Ok((again, states)) => {
                // Accepted: every line is a record, and what is read is what they say.
                for l in bytes.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
                    prop_assert!(serde_json::from_slice::<Record>(l).is_ok(), "a line that is not a record was accepted: {:?}", String::from_utf8_lossy(l));
                }
                if k != 0 {
                    prop_assert_eq!(again, id);
                }
                prop_assert_eq!(states, states_in(&bytes));
            }
            Err(e) => {
                let shown = e.to_string();
                let mismatch = matches!(e, JournalError::Mismatch { .. });
                prop_assert!(mismatch, "{}", shown);
                prop_assert!(shown.contains(&path.display().to_string()), "{}", shown);
                // The damaged line; the next one when the damage left it blank (a blank line
                // is skipped), or is the second copy of a duplicated line.
                let damaged_is_blank = bytes[from..]
                    .split(|b| *b == b'\n')
                    .next()
                    .is_some_and(|l| l.iter().all(u8::is_ascii_whitespace));
                let named = match dmg {
                    LineDamage::Duplicated => format!("line {}", k + 2),
                    LineDamage::Removed => format!("line {}", k + 1),
                    _ if damaged_is_blank => format!("line {}", k + 2),
                    _ => format!("line {}", k + 1),
                };
                let header_problem = k == 0 && (shown.contains("agent") || shown.contains("contacts file"));
                // A record lost or moved to another contact leaves a later call without its
                // `started`: refused at that later line.
                let later_line = shown.contains("no `started` record");
                prop_assert!(
                    shown.contains(&format!("{named} ")) || shown.contains(&format!("{named}:")) || shown.contains(&format!("{named},")) || header_problem || later_line,
                    "{} does not name {}", shown, named
                );
            }
        }
    }

    /// Records of another journal: joined with its header (refused, naming the second
    /// header's line); a `placed` or finished call with no `started` (refused, naming the line).
    #[test]
    fn journal_records_of_another_campaign_are_refused(ops_a in ops(), ops_b in ops(), whole in any::<bool>()) {
        let dir = tempdir();
        let contacts = dir.path().join("c.csv");
        let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
        write_journal(&a, &contacts, &ops_a);
        write_journal(&b, &contacts, &ops_b);
        let mut bytes = std::fs::read(&a).unwrap();
        let lines_a = line_starts(&bytes).len() - 1;
        let other = std::fs::read(&b).unwrap();
        let first_b_line = other.iter().position(|b| *b == b'\n').unwrap() + 1;
        if whole {
            bytes.extend(&other);
        } else {
            // Only its calls: `placed` and finished-with-call records.
            let calls: Vec<&[u8]> = other[first_b_line..].split(|b| *b == b'\n')
                .filter(|l| l.starts_with(br#"{"kind":"placed""#) || (l.starts_with(br#"{"kind":"finished""#) && !l.windows(14).any(|w| w == br#""call_id":null"#)))
                .collect();
            prop_assume!(!calls.is_empty());
            for l in &calls {
                bytes.extend(*l);
                bytes.push(b'\n');
            }
        }
        std::fs::write(&a, &bytes).unwrap();
        let e = reopen(&a, &contacts).err();
        if whole {
            let shown = e.map(|e| e.to_string()).unwrap_or_default();
            prop_assert!(shown.contains(&format!("line {} is a second header", lines_a + 1)), "{}", shown);
        } else if let Some(e) = e {
            // A call of B refused: its contact had no record in A before it (or was refused
            // for that at a later line).
            prop_assert!(e.to_string().contains("no `started` record"), "{}", e);
        } else {
            // Every call of B belongs to a contact A had started: accepted, read as written.
        }
    }

    /// Random bytes as a journal: refused naming a line, never a panic; empty or blank is a
    /// new journal.
    #[test]
    fn journal_random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempdir();
        let (path, contacts) = (dir.path().join("j.jsonl"), dir.path().join("c.csv"));
        std::fs::write(&path, &bytes).unwrap();
        let start = br#"{"kind":""#;
        let torn_start = !bytes.contains(&b'\n') && (start.starts_with(&bytes) || bytes.starts_with(start));
        match FileJournal::open(&path, AGENT, &contacts) {
            Ok(_) => prop_assert!(bytes.iter().all(u8::is_ascii_whitespace) || torn_start),
            Err(e) => prop_assert!(e.to_string().contains("line "), "{}", e),
        }
    }
}

/// Structural damage, one case each: a wrong header, another format version, a second
/// header, records before the header, a line of megabytes in the middle.
#[test]
fn journal_structural_damage_is_refused_by_line() {
    let dir = tempdir();
    let (path, contacts) = (dir.path().join("j.jsonl"), dir.path().join("c.csv"));
    write_journal(
        &path,
        &contacts,
        &[
            Op::Started(0),
            Op::Finished(0, "completed", true),
            Op::Started(1),
        ],
    );
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let refused = |text: &str| {
        std::fs::write(&path, text).unwrap();
        FileJournal::open(&path, AGENT, &contacts)
            .unwrap_err()
            .to_string()
    };
    let e = FileJournal::open(&path, "agent_other", &contacts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent_other") && e.contains(AGENT), "{e}");
    let e = FileJournal::open(&path, AGENT, &dir.path().join("other.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("other.csv"), "{e}");
    let e = refused(&format!(
        "{}\n{}\n",
        lines[0].replace("\"version\":1", "\"version\":7"),
        lines[1]
    ));
    assert!(e.contains("line 1: journal format version 7"), "{e}");
    let e = refused(&format!("{}\n{}\n", lines[1], lines[0]));
    assert!(
        e.contains("line 1 is a `started` record before any header"),
        "{e}"
    );
    let e = refused(&format!("{good}{}\n", lines[0]));
    assert!(e.contains("line 5 is a second header"), "{e}");
    let e = refused(&format!(
        "{}\n{}\n{}\n",
        lines[0],
        "9".repeat(MAX_RECORD_BYTES + 1),
        lines[1]
    ));
    assert!(e.contains("line 2 is longer than 4 MiB"), "{e}");
    let e = refused(&format!("{}\n{}\n", lines[0], lines[2]));
    assert!(
        e.contains("line 2: a `finished` record of contact") && e.contains("no `started`"),
        "{e}"
    );
    // A torn tail that is not the start of a record is damage, not a crash.
    let e = refused(&format!("{good}\u{0}\u{0}garbage"));
    assert!(e.contains("line 5, the last"), "{e}");
    // Duplicates are accepted: the latest record of a contact wins.
    std::fs::write(&path, format!("{good}{}\n{}\n", lines[1], lines[1])).unwrap();
    let (_, states) = reopen(&path, &contacts).unwrap();
    assert!(
        matches!(
            states.get(&journal_contact(0).key),
            Some(PriorState::Started { .. })
        ),
        "{states:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Suppress file
// ---------------------------------------------------------------------------------------------

/// One line of a valid suppress file.
fn suppress_line() -> impl Strategy<Value = (Option<String>, String)> {
    prop_oneof![
        4 => (phone(), "[ \t]{0,2}", proptest::option::of("[^\r\n]{0,20}")).prop_map(|(p, pad, comment)| {
            let line = format!("{pad}{p}{pad}{}", comment.map(|c| format!("#{c}")).unwrap_or_default());
            (Some(p), line)
        }),
        1 => "[ \t]{0,3}".prop_map(|blank| (None, blank)),
        1 => "#[^\r\n]{0,30}".prop_map(|comment| (None, comment)),
    ]
}

/// Entries no suppress file may hold.
const BAD_ENTRIES: &[&str] = &[
    "0207 946 0000",
    "+",
    "+0123456789",
    "+1234567890123456",
    "+44 7446 466847",
    "tel:+14155550100",
    "\u{feff}+14155550100",
    "+1415555０100",
    "14155550100",
    "+1415555010O",
    "\"+14155550100\"",
    "+14155550100,+14155550101",
];

proptest! {
    #![proptest_config(config(48))]

    /// A valid file loads every number; an opt-out added is there on the next load.
    #[test]
    fn suppress_valid_files_load_and_round_trip(
        lines in proptest::collection::vec(suppress_line(), 0..20), bom in any::<bool>(), crlf in any::<bool>(),
        final_newline in any::<bool>(), added in phone(),
    ) {
        let dir = tempdir();
        let path = dir.path().join("s.txt");
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = if bom { "\u{feff}".to_owned() } else { String::new() };
        text.push_str(&lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join(nl));
        if final_newline && !lines.is_empty() {
            text.push_str(nl);
        }
        std::fs::write(&path, &text).unwrap();
        let numbers: BTreeSet<&String> = lines.iter().filter_map(|(p, _)| p.as_ref()).collect();
        let mut list = SuppressList::load(&path).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        prop_assert_eq!(list.len(), numbers.len());
        for n in &numbers {
            prop_assert!(list.contains(n));
        }
        list.insert(&added).unwrap();
        drop(list);
        let again = SuppressList::load(&path).unwrap();
        prop_assert!(again.contains(&added));
        prop_assert_eq!(again.len(), numbers.len() + usize::from(!numbers.contains(&added)));
    }

    /// A bad entry, a line that is not UTF-8 or is too long: refused naming its line.
    #[test]
    fn suppress_a_bad_line_is_refused_by_number(
        lines in proptest::collection::vec(suppress_line(), 0..12), at in any::<prop::sample::Index>(),
        bad in prop_oneof![
            proptest::sample::select(BAD_ENTRIES).prop_map(|e| (e.as_bytes().to_vec(), "not an E.164 number")),
            Just((b"+14155550100 # caf\xe9".to_vec(), "not valid UTF-8")),
            Just((b"\xff+14155550100".to_vec(), "not valid UTF-8")),
            (MAX_SUPPRESS_LINE_BYTES - 10..MAX_SUPPRESS_LINE_BYTES * 3).prop_map(|n| {
                let mut l = b"+14155550100 #".to_vec();
                l.resize(n, b'x');
                (l, if n > MAX_SUPPRESS_LINE_BYTES { "longer than 64 KiB" } else { "" })
            }),
        ],
    ) {
        let dir = tempdir();
        let path = dir.path().join("s.txt");
        let k = at.index(lines.len() + 1);
        let mut bytes = Vec::new();
        for (i, (_, l)) in lines.iter().enumerate() {
            if i == k {
                bytes.extend(&bad.0);
                bytes.push(b'\n');
            }
            bytes.extend(l.as_bytes());
            bytes.push(b'\n');
        }
        if k == lines.len() {
            bytes.extend(&bad.0);
        }
        std::fs::write(&path, &bytes).unwrap();
        // A byte order mark is one only at the very start of the file.
        let leading_bom = k == 0 && bad.0.starts_with("\u{feff}".as_bytes());
        let refusal = !bad.1.is_empty() && !leading_bom;
        match SuppressList::load(&path) {
            Ok(list) => prop_assert!(!refusal, "accepted, {} numbers", list.len()),
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(refusal, "{}", shown);
                prop_assert!(shown.contains(&format!("line {}:", k + 1)) || shown.contains(&format!("line {} ", k + 1)), "{}", shown);
                prop_assert!(shown.contains(bad.1), "{}", shown);
                let typed = matches!(e, SuppressError::Entry { .. } | SuppressError::Line { .. });
                prop_assert!(typed, "{:?}", e);
                prop_assert!(shown.len() < MAX_SUPPRESS_LINE_BYTES + 400, "the message is bounded");
            }
        }
    }

    /// Byte damage and random bytes: no panic; a refusal names a line.
    #[test]
    fn suppress_damaged_bytes_never_panic(
        lines in proptest::collection::vec(suppress_line(), 0..12),
        damages in proptest::collection::vec(damage(), 0..4),
        random in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..400)),
    ) {
        let dir = tempdir();
        let path = dir.path().join("s.txt");
        let mut bytes = random.unwrap_or_else(|| lines.iter().map(|(_, l)| format!("{l}\n")).collect::<String>().into_bytes());
        for d in &damages {
            apply(d, &mut bytes, 0);
        }
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = SuppressList::load(&path) {
            prop_assert!(e.to_string().contains(" line "), "{}", e);
        }
    }
}

proptest! {
    // Each case loads the file once per byte.
    #![proptest_config(config_per_byte(4))]

    /// A suppress file cut at every position: every number on a complete line is loaded, or
    /// the cut entry is refused naming the last line.
    #[test]
    fn suppress_cut_at_every_position(lines in proptest::collection::vec(suppress_line(), 1..6)) {
        let dir = tempdir();
        let path = dir.path().join("s.txt");
        let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            std::fs::write(&path, &text[..at]).unwrap();
            let complete = text[..at].matches('\n').count();
            match SuppressList::load(&path) {
                Ok(list) => {
                    for (p, _) in &lines[..complete] {
                        if let Some(p) = p {
                            prop_assert!(list.contains(p));
                        }
                    }
                }
                Err(e) => prop_assert!(e.to_string().contains(&format!("line {}", complete + 1)), "{}", e),
            }
        }
    }
}
