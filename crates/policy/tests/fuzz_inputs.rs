//! Fuzzed inputs of the policy crate (issue 15, item 3): error bodies and `Retry-After` values.
//!
//! Each strategy starts from valid input and mutates it the ways a broken proxy, a buggy
//! server or a cut connection do (byte flips, truncation at every position, BOM, CRLF,
//! duplicated keys, deep nesting, huge and negative numbers, NaN-ish strings, non-UTF-8,
//! oversized bodies), plus pure random bytes. Properties: nothing panics; nothing read from a
//! broken body is trusted (no code or message unless the body is the documented JSON); what is
//! kept is bounded by [`MAX_ERROR_BODY_BYTES`]; valid input parses to exactly what was sent.
//!
//! The normal run is small (the case counts below, well under a second each). A long run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p redial-policy --test fuzz_inputs --release
//! ```
//!
//! (Properties that run once per byte of their input, the cuts at every position, take a
//! hundredth of `PROPTEST_CASES`.) Failures found are kept in `fuzz_*.proptest-regressions`
//! beside this file and replayed first on every run.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use redial_policy::{
    ApiError, BodyKind, ErrorCode, ErrorType, MAX_ERROR_BODY_BYTES, ResponseMeta, parse_retry_after,
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

/// Longest delay `parse_retry_after` may return: one year (its documented horizon).
const ONE_YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/// A documented type or code name, or any snake_case name the API might add.
fn name(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(known).prop_map(str::to_owned),
        "[a-z][a-z0-9_]{0,30}",
    ]
}

const TYPES: &[&str] = &[
    "invalid_request",
    "authentication_error",
    "permission_error",
    "not_found",
    "rate_limit_error",
    "server_error",
    "provider_error",
];

const CODES: &[&str] = &[
    "rate_limit_exceeded",
    "concurrent_call_limit",
    "recipient_unsubscribed",
    "outbound_failed",
    "invalid_phone_format",
    "quota_exceeded",
    "message_too_long",
];

/// Any string, control characters and astral planes included.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

/// `details`: small JSON of the shapes servers send.
fn details() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(prop_oneof![
        any::<u32>().prop_map(|c| json!({ "twilio_error": c })),
        any::<u32>().prop_map(|c| json!({ "twilio_error": { "code": c.to_string() } })),
        text(20).prop_map(|s| json!({ "note": s, "n": [1, 2.5, null, true] })),
    ])
}

/// The fields of a documented error body.
#[derive(Debug, Clone)]
struct Fields {
    error_type: String,
    code: String,
    message: Option<String>,
    doc_url: Option<String>,
    details: Option<Value>,
    /// `{"error": {...}}` rather than the fields at the top level.
    enveloped: bool,
}

impl Fields {
    fn body(&self) -> Vec<u8> {
        let mut fields = json!({ "type": self.error_type, "code": self.code });
        if let Some(m) = &self.message {
            fields["message"] = json!(m);
        }
        if let Some(u) = &self.doc_url {
            fields["doc_url"] = json!(u);
        }
        if let Some(d) = &self.details {
            fields["details"] = d.clone();
        }
        let value = if self.enveloped {
            json!({ "error": fields })
        } else {
            fields
        };
        serde_json::to_vec(&value).unwrap()
    }
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        name(TYPES),
        name(CODES),
        proptest::option::of(text(60)),
        proptest::option::of("https://docs\\.example/[a-z/]{0,20}"),
        details(),
        any::<bool>(),
    )
        .prop_map(
            |(error_type, code, message, doc_url, details, enveloped)| Fields {
                error_type,
                code,
                message,
                doc_url,
                details,
                enveloped,
            },
        )
}

/// One way a body goes wrong between the server and the parser.
#[derive(Debug, Clone)]
enum Mutation {
    /// One bit of one byte flipped.
    FlipBit { at: usize, bit: u8 },
    /// Cut at a position (the connection ended).
    Truncate { at: usize },
    /// Bytes inserted at a position.
    Insert { at: usize, bytes: Vec<u8> },
    /// A range removed.
    Delete { at: usize, len: usize },
    /// A UTF-8 byte order mark in front.
    Bom,
    /// Pretty-printed with CRLF line breaks and padding.
    Crlf,
    /// The `code` key twice.
    DuplicateKey,
    /// `details` nested this deep.
    DeepNesting { depth: usize },
    /// `details` a number far out of every range.
    HugeNumber { literal: &'static str },
    /// Bytes that are not UTF-8 inside a string.
    NonUtf8 { bytes: Vec<u8> },
    /// Padded past [`MAX_ERROR_BODY_BYTES`].
    Oversize { extra: usize },
    /// Wrapped in a proxy's HTML page.
    Html,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (
            any::<usize>(),
            proptest::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    Just(b'"'),
                    Just(b'\\'),
                    Just(b'{'),
                    Just(b'}'),
                    Just(b',')
                ],
                1..8
            )
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        Just(Mutation::Bom),
        Just(Mutation::Crlf),
        Just(Mutation::DuplicateKey),
        prop_oneof![Just(100usize), Just(129), Just(1_000), Just(30_000)]
            .prop_map(|depth| Mutation::DeepNesting { depth }),
        proptest::sample::select(
            &[
                "1e400",
                "-1e400",
                "100000000000000000000000000000",
                "-9223372036854775809",
                "18446744073709551616",
                "0.0000000000000000000000000000000001",
                "NaN",
                "Infinity",
                "-0",
            ][..]
        )
        .prop_map(|literal| Mutation::HugeNumber { literal }),
        proptest::collection::vec(0x80u8..=0xff, 1..4)
            .prop_map(|bytes| Mutation::NonUtf8 { bytes }),
        (1usize..4096).prop_map(|extra| Mutation::Oversize { extra }),
        Just(Mutation::Html),
    ]
}

fn apply(mutation: &Mutation, body: &[u8]) -> Vec<u8> {
    let pos = |at: usize| {
        if body.is_empty() {
            0
        } else {
            at % (body.len() + 1)
        }
    };
    let mut out = body.to_vec();
    match mutation {
        Mutation::FlipBit { at, bit } => {
            if !out.is_empty() {
                let i = at % out.len();
                out[i] ^= 1 << bit;
            }
        }
        Mutation::Truncate { at } => out.truncate(pos(*at)),
        Mutation::Insert { at, bytes } => {
            let i = pos(*at);
            out.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let i = pos(*at);
            out.drain(i..(i + len).min(out.len()));
        }
        Mutation::Bom => {
            out.splice(0..0, *b"\xEF\xBB\xBF");
        }
        Mutation::Crlf => {
            let value: Value = serde_json::from_slice(body).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            out = format!("\r\n  {}\r\n", pretty.replace('\n', "\r\n")).into_bytes();
        }
        Mutation::DuplicateKey => {
            let text = String::from_utf8(out).unwrap();
            out = text
                .replacen("\"code\":", "\"code\":\"dup\",\"code\":", 1)
                .into_bytes();
        }
        Mutation::DeepNesting { depth } => {
            let nested = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
            out = format!(
                "{{\"error\":{{\"type\":\"server_error\",\"code\":\"x\",\"details\":{nested}}}}}"
            )
            .into_bytes();
        }
        Mutation::HugeNumber { literal } => {
            out = format!(
                "{{\"error\":{{\"type\":\"server_error\",\"code\":\"x\",\"details\":{{\"twilio_error\":{literal}}}}}}}"
            )
            .into_bytes();
        }
        Mutation::NonUtf8 { bytes } => {
            // Inside the first string value (after `"type":"`).
            let i = body
                .windows(8)
                .position(|w| w == b"\"type\":\"")
                .map_or(0, |i| i + 8);
            out.splice(i..i, bytes.iter().copied());
        }
        Mutation::Oversize { extra } => {
            out.resize(MAX_ERROR_BODY_BYTES + extra, b' ');
        }
        Mutation::Html => {
            let mut page = b"<html><head><title>502 Bad Gateway</title></head><body>".to_vec();
            page.extend_from_slice(body);
            page.extend_from_slice(b"</body></html>");
            out = page;
        }
    }
    out
}

/// What every parsed error must satisfy, whatever the body.
fn check_invariants(status: u16, body: &[u8], e: &ApiError) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.status, status);
    if e.body != BodyKind::Json {
        // Nothing is read from a body that is not the documented JSON.
        prop_assert!(e.code.is_none() && e.message.is_none() && e.doc_url.is_none());
        prop_assert!(e.details.is_none());
        prop_assert_eq!(e.error_type.clone(), ErrorType::from_status(status));
    } else {
        // `Json` only for a body that is JSON (after an optional BOM); grammatically, that
        // is: a number like 1e400 in a field nobody reads is JSON, though out of f64's range.
        let json = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        prop_assert!(serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok());
        prop_assert!(body.len() <= MAX_ERROR_BODY_BYTES);
    }
    // What is kept is bounded by the body, which is bounded by the limit.
    let kept =
        e.message.as_ref().map_or(0, String::len) + e.doc_url.as_ref().map_or(0, String::len);
    prop_assert!(kept <= body.len().min(MAX_ERROR_BODY_BYTES));
    // The Display names the status and, for a body that is not the contract, what it was.
    let shown = e.to_string();
    let status_prefix = format!("HTTP {status}");
    prop_assert!(shown.starts_with(&status_prefix), "{}", shown);
    if e.body != BodyKind::Json {
        let kind = format!("({:?} body)", e.body);
        prop_assert!(shown.contains(&kind), "{}", shown);
    }
    prop_assert!(
        shown.len() <= body.len() + 200,
        "{} bytes shown",
        shown.len()
    );
    Ok(())
}

fn parse(status: u16, body: &[u8]) -> ApiError {
    ApiError::parse(
        status,
        ResponseMeta::default(),
        body,
        SystemTime::UNIX_EPOCH,
    )
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        proptest::sample::select(&[400u16, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504][..]),
        any::<u16>(),
    ]
}

proptest! {
    #![proptest_config(config(384))]

    /// A documented body parses to exactly what was sent.
    #[test]
    fn a_valid_body_parses_to_what_was_sent(status in status(), f in fields()) {
        let body = f.body();
        let e = parse(status, &body);
        check_invariants(status, &body, &e)?;
        prop_assert_eq!(e.body, BodyKind::Json);
        prop_assert_eq!(e.error_type, Some(ErrorType::from_name(&f.error_type)));
        prop_assert_eq!(e.code, Some(ErrorCode::from_name(&f.code)));
        prop_assert_eq!(e.message, f.message);
        prop_assert_eq!(e.doc_url, f.doc_url);
        prop_assert_eq!(e.details, f.details);
    }

}

proptest! {
    // Each case parses the body once per byte.
    #![proptest_config(config_per_byte(64))]

    /// A body cut at any position is `Truncated` (or `Empty` when nothing came), never trusted.
    #[test]
    fn a_body_cut_at_every_position_is_never_trusted(status in status(), f in fields()) {
        let body = f.body();
        for at in 0..body.len() {
            let cut = &body[..at];
            let e = parse(status, cut);
            check_invariants(status, cut, &e)?;
            let expected = if at == 0 { BodyKind::Empty } else { BodyKind::Truncated };
            prop_assert_eq!(e.body, expected, "cut at {} of {:?}", at, String::from_utf8_lossy(&body));
        }
        let meta = ResponseMeta { truncated: true, ..ResponseMeta::default() };
        let e = ApiError::parse(status, meta, &body, SystemTime::UNIX_EPOCH);
        prop_assert_eq!(e.body, BodyKind::Truncated, "a read that failed part-way is never trusted");
        check_invariants(status, &body, &e)?;
    }

}

proptest! {
    #![proptest_config(config(384))]

    /// Mutated bodies: no panic, nothing trusted from a broken body, bounded output.
    #[test]
    fn a_mutated_body_never_panics_or_is_trusted(
        status in status(), f in fields(), mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut body = f.body();
        for m in &mutations {
            if matches!(m, Mutation::Crlf | Mutation::DuplicateKey)
                && serde_json::from_slice::<Value>(&body).is_err()
            {
                continue;
            }
            body = apply(m, &body);
        }
        let e = parse(status, &body);
        check_invariants(status, &body, &e)?;
        if body.len() > MAX_ERROR_BODY_BYTES {
            prop_assert_eq!(e.body, BodyKind::TooLarge);
        }
        let boms = mutations.iter().filter(|m| matches!(m, Mutation::Bom)).count();
        if boms <= 1 && mutations.iter().all(|m| matches!(m, Mutation::Bom | Mutation::Crlf)) {
            // One BOM and CRLF whitespace change nothing: the body is still the contract (a
            // second U+FEFF is not a BOM but a character where JSON allows none).
            prop_assert_eq!(e.body, BodyKind::Json);
            prop_assert_eq!(e.code, Some(ErrorCode::from_name(&f.code)));
        }
    }

    /// Pure random bytes, with random headers: no panic, nothing trusted.
    #[test]
    fn random_bytes_never_panic(
        status in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        retry_after in proptest::option::of(text(40)),
        request_id in proptest::option::of(text(300)),
        content_type in proptest::option::of(text(40)),
    ) {
        let meta = ResponseMeta {
            retry_after: retry_after.as_deref(),
            request_id: request_id.as_deref(),
            content_type: content_type.as_deref(),
            truncated: false,
        };
        let e = ApiError::parse(status, meta, &body, SystemTime::UNIX_EPOCH);
        check_invariants(status, &body, &e)?;
        prop_assert!(e.request_id.as_ref().is_none_or(|id| id.len() <= 200), "request id bounded");
        prop_assert!(e.retry_after.is_none_or(|d| d <= ONE_YEAR));
    }
}

// ---------------------------------------------------------------------------------------------
// Retry-After
// ---------------------------------------------------------------------------------------------

/// Whitespace a header value may carry around it.
fn padding() -> impl Strategy<Value = String> {
    proptest::sample::select(&["", " ", "  ", "\t", " \t "][..]).prop_map(str::to_owned)
}

/// A wall clock between 2000 and 2100, whole seconds (an HTTP-date has no fractions).
fn now() -> impl Strategy<Value = SystemTime> {
    (946_684_800u64..4_102_444_800).prop_map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// Values no server should send; every one is `None`.
fn garbage_retry_after() -> impl Strategy<Value = String> {
    prop_oneof![
        // Beyond a year, up to far past u64.
        (365u64 * 24 * 3600 + 1..=u64::MAX).prop_map(|n| n.to_string()),
        "[1-9][0-9]{20,400}",
        Just("1".to_owned() + &"0".repeat(30)),
        // Negative.
        "-[1-9][0-9]{0,30}",
        "-[0-9]{0,5}\\.[0-9]*[1-9]",
        // NaN-ish and infinite.
        proptest::sample::select(
            &[
                "NaN",
                "nan",
                "-NaN",
                "inf",
                "-inf",
                "+inf",
                "Infinity",
                "-Infinity",
                "1e309",
                "1e400",
                "-1e400",
                "1e30",
                "9e18",
                "0x10",
                "1_000",
                "1,5",
                "٣",
                "３",
                "1 2",
                "soon",
                "tomorrow",
                "\u{0}",
                "30s",
                "PT30S",
                "+-1",
                "--1",
                "1e",
                "e1",
                ".",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        // Dates far ahead, and dates that are not dates.
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        Just("Mon, 32 Jan 2024 00:00:00 GMT".to_owned()),
        Just("Wed, 21 Oct 2015 25:28:00 GMT".to_owned()),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    /// Delta-seconds up to a year, padded or zero-filled, give exactly that delay.
    #[test]
    fn delta_seconds_parse_exactly(
        secs in prop_oneof![0u64..=120, 0u64..=ONE_YEAR.as_secs()],
        zeros in 0usize..30, before in padding(), after in padding(), now in now(),
    ) {
        let value = format!("{before}{}{secs}{after}", "0".repeat(zeros));
        prop_assert_eq!(parse_retry_after(&value, now), Some(Duration::from_secs(secs)));
    }

    /// An HTTP-date gives the time until it (zero when past), up to a year ahead.
    #[test]
    fn http_dates_parse_to_the_time_until_them(
        now in now(), offset in -(10i64 * 365 * 24 * 3600)..=(365 * 24 * 3600), pad in padding(),
    ) {
        let at = if offset >= 0 {
            now + Duration::from_secs(offset.unsigned_abs())
        } else {
            now - Duration::from_secs(offset.unsigned_abs())
        };
        let value = format!("{pad}{}{pad}", httpdate::fmt_http_date(at));
        let expected = Duration::from_secs(offset.max(0).unsigned_abs());
        prop_assert_eq!(parse_retry_after(&value, now), Some(expected));
    }

    /// Garbage, huge, negative and NaN-ish values are ignored (`None`), never a delay.
    #[test]
    fn garbage_is_never_a_delay(value in garbage_retry_after(), pad in padding(), now in now()) {
        let value = format!("{pad}{value}{pad}");
        prop_assert_eq!(parse_retry_after(&value, now), None, "{:?}", value);
    }

    /// Mutated valid values (a byte flipped, cut, inserted) and random strings: no panic, and
    /// any delay is within a year. `ApiError::parse` reads the header the same way.
    #[test]
    fn mutated_values_are_bounded(
        secs in 0u64..100_000, date_offset in 0u64..100_000, use_date in any::<bool>(),
        m in mutation(), random in text(80), now in now(), pick_random in any::<bool>(),
    ) {
        let valid = if use_date {
            httpdate::fmt_http_date(now + Duration::from_secs(date_offset))
        } else {
            secs.to_string()
        };
        let value = if pick_random {
            random
        } else {
            let m = match m {
                Mutation::Crlf | Mutation::DuplicateKey | Mutation::DeepNesting { .. } |
                Mutation::HugeNumber { .. } | Mutation::Html => Mutation::Bom,
                Mutation::Oversize { extra } => Mutation::Insert { at: 0, bytes: vec![b'9'; extra] },
                m => m,
            };
            String::from_utf8_lossy(&apply(&m, valid.as_bytes())).into_owned()
        };
        let parsed = parse_retry_after(&value, now);
        prop_assert!(parsed.is_none_or(|d| d <= ONE_YEAR), "{:?} -> {:?}", value, parsed);
        let meta = ResponseMeta { retry_after: Some(&value), ..ResponseMeta::default() };
        let e = ApiError::parse(429, meta, b"", now);
        prop_assert_eq!(e.retry_after, parsed);
    }
}

/// A `Retry-After` of a megabyte of digits (a broken proxy) is refused without trouble.
#[test]
fn an_enormous_retry_after_is_refused() {
    let now = SystemTime::UNIX_EPOCH;
    for value in [
        "9".repeat(1 << 20),
        format!("{}1", "0".repeat(1 << 20)),
        " ".repeat(1 << 20),
        format!("1.{}", "5".repeat(1 << 20)),
    ] {
        let parsed = parse_retry_after(&value, now);
        assert!(
            parsed.is_none_or(|d| d <= Duration::from_secs(2)),
            "{parsed:?}"
        );
    }
    assert_eq!(
        parse_retry_after(&format!("{}1", "0".repeat(1 << 20)), now),
        Some(Duration::from_secs(1)),
        "leading zeros are still the number"
    );
}
