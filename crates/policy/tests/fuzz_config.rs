//! Fuzzed configuration files (issue 15, item 3): the TOML read by [`Config::from_toml_str`]
//! and [`Config::from_file`].
//!
//! Valid documents are generated key by key from a table of leaves (path, valid values,
//! out-of-range values, values of the wrong type), then broken one way at a time: a value of
//! the wrong type, out of range, an unknown key, a duplicated key or table, byte flips,
//! truncation at every position, deep nesting, a BOM, CRLF, non-UTF-8 bytes, a huge file.
//! Properties: nothing panics; a valid document parses to the values written and round-trips
//! through serialisation; every error names where it is (the key path, or the line of a
//! syntax error) and a broken document is never silently read as the default.
//!
//! The normal run is small (the case counts below, a few seconds in all). A long run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p redial-policy --test fuzz_config --release
//! ```
//!
//! (Properties that run once per byte of their input, the cuts at every position, take a
//! hundredth of `PROPTEST_CASES`.) Failures found are kept in `fuzz_*.proptest-regressions`
//! beside this file and replayed first on every run.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use redial_policy::{Config, ConfigError};

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

/// The type of a leaf and its valid range.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int(u32, u32),
    Float(f64, f64),
    /// Milliseconds.
    Duration(u64, u64),
    Enum(&'static [&'static str]),
    Bool,
}

/// One key of the file.
#[derive(Debug)]
struct Leaf {
    section: &'static str,
    key: &'static str,
    kind: Kind,
    /// Values of the right type outside the range: [`ConfigError::Invalid`] naming the path.
    out_of_range: &'static [&'static str],
    /// Values that do not parse as the type: [`ConfigError::Parse`] naming the path.
    wrong_type: &'static [&'static str],
}

impl Leaf {
    fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
const DURATION_WRONG: &[&str] = &[
    "5",
    "\"fast\"",
    "true",
    "[\"1s\"]",
    "\"-1s\"",
    "\"99999999999999999999999s\"",
    "{ s = 1 }",
];
const DURATION_OUT: &[&str] = &["\"0s\"", "\"25h\"", "\"100000h\""];
const U32_WRONG: &[&str] = &[
    "\"three\"",
    "true",
    "[1]",
    "1.5",
    "-1",
    "4294967296",
    "99999999999999999999",
    "nan",
    "{ a = 1 }",
    "1979-05-27",
];
const F64_WRONG: &[&str] = &["\"2\"", "true", "[1.0]", "{ x = 1.0 }", "\"nan\""];
const ENUM_WRONG: &[&str] = &["\"maybe\"", "1", "\"\"", "[\"full\"]", "\"FULL \""];
const BOOL_WRONG: &[&str] = &["\"yes\"", "1", "\"true\"", "[true]"];

const LEAVES: &[Leaf] = &[
    Leaf {
        section: "retry",
        key: "max_attempts",
        kind: Kind::Int(1, 100),
        out_of_range: &["0", "101", "4294967295"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "retry",
        key: "deadline",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "retry",
        key: "attempt_timeout",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "retry",
        key: "max_retry_after",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "retry",
        key: "reconcile_settle",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "retry",
        key: "idempotency",
        kind: Kind::Enum(&["honoured", "ignored"]),
        out_of_range: &[],
        wrong_type: ENUM_WRONG,
    },
    Leaf {
        section: "retry",
        key: "reconcile",
        kind: Kind::Bool,
        out_of_range: &[],
        wrong_type: BOOL_WRONG,
    },
    Leaf {
        section: "backoff.retry",
        key: "jitter",
        kind: Kind::Enum(&["full", "equal", "decorrelated", "none"]),
        out_of_range: &[],
        wrong_type: ENUM_WRONG,
    },
    Leaf {
        section: "backoff.retry",
        key: "multiplier",
        kind: Kind::Float(1.0, 1000.0),
        out_of_range: &[
            "0.5", "1000.5", "nan", "inf", "-inf", "-1.0", "1e308", "-0.0",
        ],
        wrong_type: F64_WRONG,
    },
    Leaf {
        section: "backoff.throttle",
        key: "cap",
        kind: Kind::Duration(1000, DAY_MS),
        out_of_range: &["\"0s\"", "\"25h\"", "\"500ms\""],
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "budget",
        key: "ratio",
        kind: Kind::Float(0.0, 1000.0),
        out_of_range: &["-0.1", "1000.5", "nan", "inf"],
        wrong_type: F64_WRONG,
    },
    Leaf {
        section: "budget",
        key: "window",
        kind: Kind::Duration(1000, 60_000),
        out_of_range: &["\"0s\"", "\"61s\"", "\"500ms\""],
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "budget",
        key: "min_per_second",
        kind: Kind::Int(0, u32::MAX),
        out_of_range: &[],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "budget",
        key: "enabled",
        kind: Kind::Bool,
        out_of_range: &[],
        wrong_type: BOOL_WRONG,
    },
    Leaf {
        section: "breaker",
        key: "failure_ratio",
        kind: Kind::Float(0.01, 1.0),
        out_of_range: &["0.0", "1.5", "nan"],
        wrong_type: F64_WRONG,
    },
    Leaf {
        section: "breaker",
        key: "min_throughput",
        kind: Kind::Int(1, 1_000_000),
        out_of_range: &["0", "1000001"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "breaker",
        key: "break_duration",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "slots",
        key: "max_concurrent_calls",
        kind: Kind::Int(1, 1_000_000),
        out_of_range: &["0", "1000001"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "slots",
        key: "max_wait",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "pacing",
        key: "max_pause",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "pacing.adaptive",
        key: "beta",
        kind: Kind::Float(0.01, 0.99),
        out_of_range: &["0.0", "1.0", "nan"],
        wrong_type: F64_WRONG,
    },
    Leaf {
        section: "polling",
        key: "multiplier",
        kind: Kind::Float(1.0, 1000.0),
        out_of_range: &["0.9", "nan"],
        wrong_type: F64_WRONG,
    },
    Leaf {
        section: "polling",
        key: "max_wait",
        kind: Kind::Duration(1, DAY_MS),
        out_of_range: DURATION_OUT,
        wrong_type: DURATION_WRONG,
    },
    Leaf {
        section: "support",
        key: "provider_repeats",
        kind: Kind::Int(1, 1000),
        out_of_range: &["0", "1001"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "fleet",
        key: "share",
        kind: Kind::Int(1, 1000),
        out_of_range: &["0", "1001"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "fleet",
        key: "max_deliveries",
        kind: Kind::Int(1, 1000),
        out_of_range: &["0", "1001"],
        wrong_type: U32_WRONG,
    },
    Leaf {
        section: "twilio",
        key: "default",
        kind: Kind::Enum(&["retry", "fatal", "halt"]),
        out_of_range: &["\"throttle\"", "\"wait_slot\""],
        wrong_type: ENUM_WRONG,
    },
];

/// A valid value of `kind`, as TOML text.
fn valid_value(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Int(lo, hi) => (lo..=hi).prop_map(|n| n.to_string()).boxed(),
        Kind::Float(lo, hi) => (lo..=hi).prop_map(|f| format!("{f:?}")).boxed(),
        Kind::Duration(lo, hi) => (lo..=hi, 0..3u8)
            .prop_map(|(ms, style)| match style {
                0 => format!("\"{ms}ms\""),
                1 => format!(
                    "\"{}\"",
                    humantime::format_duration(std::time::Duration::from_millis(ms))
                ),
                _ => format!("\"{}s\"", ms.div_ceil(1000)),
            })
            .boxed(),
        Kind::Enum(names) => proptest::sample::select(names)
            .prop_map(|n| format!("\"{n}\""))
            .boxed(),
        Kind::Bool => any::<bool>().prop_map(|b| b.to_string()).boxed(),
    }
}

/// Some leaves with valid values: `(index into LEAVES, value)`, each leaf at most once.
fn assignments() -> impl Strategy<Value = Vec<(usize, String)>> {
    proptest::sample::subsequence((0..LEAVES.len()).collect::<Vec<_>>(), 0..=LEAVES.len())
        .prop_flat_map(|picked| {
            picked
                .into_iter()
                .map(|i| valid_value(LEAVES[i].kind).prop_map(move |v| (i, v)))
                .collect::<Vec<_>>()
        })
}

/// Renders assignments as a TOML document, one table per section, with `newline` line breaks.
/// Returns the text and the 1-based line of each assignment's key.
fn render(values: &[(usize, String)], newline: &str) -> (String, Vec<usize>) {
    let mut sections: Vec<&str> = values.iter().map(|(i, _)| LEAVES[*i].section).collect();
    sections.sort_unstable();
    sections.dedup();
    let mut text = String::new();
    let mut lines = vec![0; values.len()];
    let mut line = 1;
    for section in sections {
        text.push_str(&format!("[{section}]{newline}"));
        line += 1;
        for (n, (i, v)) in values.iter().enumerate() {
            if LEAVES[*i].section == section {
                text.push_str(&format!("{} = {v}{newline}", LEAVES[*i].key));
                lines[n] = line;
                line += 1;
            }
        }
        text.push_str(newline);
        line += 1;
    }
    (text, lines)
}

/// The value at a dotted path of a serialised config.
fn lookup<'a>(value: &'a toml::Value, path: &str) -> Option<&'a toml::Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Whether the parsed value equals what was written.
fn same_value(kind: Kind, written: &str, parsed: &toml::Value) -> bool {
    let unquoted = written.trim_matches('"');
    match (kind, parsed) {
        (Kind::Int(..), toml::Value::Integer(n)) => written.parse::<i64>() == Ok(*n),
        (Kind::Float(..), toml::Value::Float(f)) => written.parse::<f64>() == Ok(*f),
        (Kind::Duration(..), toml::Value::String(s)) => {
            humantime::parse_duration(s).ok() == humantime::parse_duration(unquoted).ok()
        }
        (Kind::Enum(_), toml::Value::String(s)) => s == unquoted,
        (Kind::Bool, toml::Value::Boolean(b)) => written.parse::<bool>() == Ok(*b),
        _ => false,
    }
}

/// Every error names where it is: a key path, or the line of a syntax error.
fn check_error_names_its_place(e: &ConfigError) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    prop_assert!(
        !shown.starts_with("config key ``"),
        "an empty key path: {}",
        shown
    );
    match e {
        ConfigError::Parse { path, message } => {
            prop_assert!(
                !path.is_empty() || message.starts_with("line "),
                "a syntax error without its line: {}",
                shown
            );
        }
        ConfigError::Invalid { problems } => {
            prop_assert!(!problems.is_empty());
            for p in problems {
                prop_assert!(!p.path.is_empty() && shown.contains(&p.path), "{}", shown);
            }
        }
        ConfigError::Read { .. } => {}
        _ => prop_assert!(false, "unexpected error {}", shown),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(192))]

    /// A valid document parses to the values written, with LF or CRLF and with or without a
    /// BOM, and the parsed config round-trips through serialisation.
    #[test]
    fn a_valid_document_parses_to_what_was_written(
        values in assignments(), crlf in any::<bool>(), bom in any::<bool>(),
    ) {
        let (mut text, _) = render(&values, if crlf { "\r\n" } else { "\n" });
        if bom {
            text.insert(0, '\u{feff}');
        }
        let parsed = match Config::from_toml_str(&text) {
            Ok(c) => c,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        let tree = toml::Value::try_from(&parsed).unwrap();
        for (i, v) in &values {
            let leaf = &LEAVES[*i];
            let got = lookup(&tree, &leaf.path());
            prop_assert!(
                got.is_some_and(|g| same_value(leaf.kind, v, g)),
                "{} = {} read as {:?}", leaf.path(), v, got
            );
        }
        let again = toml::to_string(&parsed).unwrap();
        prop_assert_eq!(Config::from_toml_str(&again).unwrap(), parsed, "round trip of\n{}", again);
    }

    /// One value of the wrong type: a parse error naming exactly its key path.
    #[test]
    fn a_value_of_the_wrong_type_names_its_key(
        values in assignments(), leaf in 0..LEAVES.len(), pick in any::<prop::sample::Index>(),
    ) {
        let bad = pick.get(LEAVES[leaf].wrong_type).to_string();
        let mut values: Vec<_> = values.into_iter().filter(|(i, _)| *i != leaf).collect();
        values.push((leaf, bad.clone()));
        let (text, lines) = render(&values, "\n");
        let e = Config::from_toml_str(&text).unwrap_err();
        check_error_names_its_place(&e)?;
        let ConfigError::Parse { path, message } = &e else {
            return Err(TestCaseError::fail(format!("{} = {bad}: {e}", LEAVES[leaf].path())));
        };
        prop_assert_eq!(path, &LEAVES[leaf].path(), "{}", e);
        let line = format!("line {}", lines[values.len() - 1]);
        prop_assert!(message.contains(&line), "{}: {}", line, e);
    }

    /// One value out of range: every problem is listed, this key's among them.
    #[test]
    fn a_value_out_of_range_names_its_key(
        values in assignments(), leaf in 0..LEAVES.len(), pick in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!LEAVES[leaf].out_of_range.is_empty());
        let bad = pick.get(LEAVES[leaf].out_of_range).to_string();
        let mut values: Vec<_> = values.into_iter().filter(|(i, _)| *i != leaf).collect();
        values.push((leaf, bad.clone()));
        let (text, _) = render(&values, "\n");
        let e = match Config::from_toml_str(&text) {
            Ok(_) => return Err(TestCaseError::fail(format!("accepted:\n{text}"))),
            Err(e) => e,
        };
        check_error_names_its_place(&e)?;
        let ConfigError::Invalid { problems } = &e else {
            return Err(TestCaseError::fail(format!("{} = {bad}: {e}", LEAVES[leaf].path())));
        };
        prop_assert!(problems.iter().any(|p| p.path == LEAVES[leaf].path()), "{}", e);
    }

    /// An unknown key or table, or a key or table written twice: refused, naming the key path
    /// or the line, never read as the default.
    #[test]
    fn unknown_and_duplicated_keys_are_refused_by_name(
        values in assignments(), which in 0..4u8, leaf in 0..LEAVES.len(),
        unknown in "[a-z][a-z_]{0,12}",
    ) {
        let l = &LEAVES[leaf];
        // The rest of the document leaves this table out, so it is written once.
        let values: Vec<_> = values.into_iter().filter(|(i, _)| LEAVES[*i].section != l.section).collect();
        let (text, _) = render(&values, "\n");
        let unknown = format!("x_{unknown}");
        let next = text.lines().count() + 1;
        let (text, needle) = match which {
            0 => (format!("{text}[{}]\n{unknown} = 1\n", l.section), format!("{}.{unknown}", l.section)),
            1 => (format!("{text}[{unknown}]\nx = 1\n"), unknown.clone()),
            // The same key twice in one table: the second is at `next + 3`.
            2 => (format!("{text}\n[{s}]\n{k} = 1\n{k} = 1\n", s = l.section, k = l.key), format!("line {}", next + 3)),
            // The same table twice: the second header is at `next + 3`.
            _ => (format!("{text}\n[{s}]\n\n[{s}]\n", s = l.section), format!("line {}", next + 3)),
        };
        let e = match Config::from_toml_str(&text) {
            Ok(_) => return Err(TestCaseError::fail(format!("accepted:\n{text}"))),
            Err(e) => e,
        };
        check_error_names_its_place(&e)?;
        let shown = e.to_string();
        prop_assert!(shown.contains(&needle), "{} not in {}\n{}", needle, shown, text);
    }

    /// Byte-level damage to a valid document (a flipped bit, inserted bytes, a deleted range):
    /// no panic, and an error names its place.
    #[test]
    fn a_damaged_document_never_panics_and_errors_name_their_place(
        values in assignments(),
        edits in proptest::collection::vec((any::<usize>(), 0..3u8, proptest::collection::vec(
            prop_oneof![any::<u8>(), proptest::sample::select(&b"[]=\"'{},.#\n\r\\ \t0x"[..])], 1..6)), 1..4),
    ) {
        let (text, _) = render(&values, "\n");
        let mut bytes = text.into_bytes();
        for (at, op, insert) in &edits {
            let i = if bytes.is_empty() { 0 } else { at % bytes.len() };
            match op {
                0 if !bytes.is_empty() => bytes[i] ^= 1 << (insert[0] % 8),
                1 => { bytes.splice(i..i, insert.iter().copied()); }
                _ => { bytes.drain(i..(i + insert.len()).min(bytes.len())); }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Config::from_toml_str(&text) {
            check_error_names_its_place(&e)?;
        }
    }


    /// Random bytes as a file: refused (naming the file) or parsed; never a panic.
    #[test]
    fn random_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempdir();
        let path = dir.join("random.toml");
        std::fs::write(&path, &bytes).unwrap();
        match Config::from_file(&path) {
            Err(ConfigError::Read { path: p, source }) => {
                prop_assert_eq!(&p, &path);
                prop_assert!(source.to_string().contains("line "), "{}", source);
            }
            Err(e) => check_error_names_its_place(&e)?,
            Ok(_) => {}
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

proptest! {
    // Each case parses the document once per byte: a few cases cover hundreds of cuts.
    #![proptest_config(config_per_byte(6))]

    /// A document cut at every position (a half-written file): no panic; an error names its
    /// place.
    #[test]
    fn a_document_cut_at_every_position_never_panics(values in assignments()) {
        let (text, _) = render(&values, "\r\n");
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            if let Err(e) = Config::from_toml_str(&text[..at]) {
                check_error_names_its_place(&e)?;
            }
        }
    }

}

/// A fresh directory under the system temp dir (this crate has no tempfile dependency).
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "redial-fuzz-config-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The commented example, cut at every position: no panic, every error names its place.
#[test]
fn the_example_cut_at_every_line_never_panics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy.toml");
    let text = std::fs::read_to_string(path).unwrap();
    Config::from_toml_str(&text).unwrap();
    let mut cuts = 0;
    for (at, _) in text
        .char_indices()
        .filter(|(_, c)| matches!(c, '\n' | '=' | '"' | ']'))
    {
        for cut in [at, at + 1] {
            if let Err(e) = Config::from_toml_str(&text[..cut.min(text.len())]) {
                check_error_names_its_place(&e).unwrap();
            }
            cuts += 1;
        }
    }
    assert!(cuts > 100, "{cuts}");
}

/// Deep nesting (arrays and inline tables thousands deep): an error, never a stack overflow.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for depth in [10, 1_000, 100_000] {
        for doc in [
            format!("x = {}1{}", "[".repeat(depth), "]".repeat(depth)),
            format!("x = {}1{}", "{a=".repeat(depth), "}".repeat(depth)),
            format!(
                "[retry]\nmax_attempts = {}3{}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
        ] {
            let e = Config::from_toml_str(&doc).unwrap_err();
            check_error_names_its_place(&e).unwrap();
        }
    }
}

/// A file over the size limit is refused before it is read whole; a huge value in memory
/// parses without trouble.
#[test]
fn a_huge_file_is_refused_and_a_huge_value_named() {
    let dir = tempdir();
    let path = dir.join("huge.toml");
    let mut text = "[retry]\nmax_attempts = 3\n".to_owned();
    text.push_str(&"# padding\n".repeat(redial_policy::config::MAX_CONFIG_BYTES / 10 + 1));
    std::fs::write(&path, &text).unwrap();
    let e = Config::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("huge.toml") && e.contains("larger than"), "{e}");
    let e = Config::from_toml_str(&format!(
        "[backoff.retry]\nbase = \"{}s\"",
        "9".repeat(1 << 20)
    ))
    .unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("backoff.retry.base"), "{}", &shown[..200]);
    assert!(
        shown.len() < 2048,
        "the message is cut: {} bytes",
        shown.len()
    );
    let e = Config::from_toml_str(&format!(
        "[codes.{}]\naction = \"fatal\"",
        "a".repeat(1 << 16)
    ))
    .unwrap_err();
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
