//! Issue 15, item 4: the API key's secret and the Twilio auth token appear in no output.
//!
//! Every output is grepped byte by byte for every 8-character window of each secret (so a
//! truncated or split echo is caught too):
//!
//! - clap's errors for keys it used to read as flags (the known leak: a key starting with `-`),
//!   a key split by a space, and malformed keys (stage-two errors);
//! - a whole campaign through the `redial` binary with `RUST_LOG=trace` and every output on
//!   (results, journal, `--support-out`, progress lines, the summary, `/metrics` scraped during
//!   the run), against a simulator with 5xx, HTML 502, resets, truncated bodies and 429s;
//!   then a rejected key (the halt path) with the results on stdout and the key from the
//!   environment;
//! - the number import, the one request that sends a Twilio auth token (the CLI has no path
//!   that sends one): a transport-level run with a `TRACE` subscriber and a metrics recorder
//!   capturing everything, through faults, a rejected token and a halted sender scope;
//! - `Debug` of every public type that holds a key or a token, and of the errors.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clap::Parser;
use redial_cli::args::{Cli, Command as CliCommand};
use redial_policy::config::Config;
use redial_sim::{FaultConfig, FaultKind, Scenario, ScheduledFault, Sim, SimHandle, TwilioAccount};
use redial_transport::{ApiKey, Client, NumberImport, Secret};

use common::{AGENT, contacts, fast_config, sim, stderr};

/// The API key's secret half: distinctive, so any echo of it is found.
const SECRET: &str = "s3cr3t-MARKER-7f3a9c2e51";
/// The key's id: starts with `-`, as in the known clap leak.
const KEY_ID: &str = "-k3y";
/// A wrong secret for the same id (the rejected-key path).
const WRONG_SECRET: &str = "wr0ng-MARKER-5c1e0f77d3";
/// The Twilio auth token of the number import.
const TWILIO_TOKEN: &str = "tw1l10-MARKER-b84d05e6a9";
/// A Twilio token the simulator refuses (`twilio_auth_failed`).
const WRONG_TWILIO_TOKEN: &str = "tw1l10-WRONG-0e9d8c7b6a";
/// The Twilio account SID of the import (not a secret).
const SID: &str = "AC0123456789abcdef0123456789abcdef";
/// Length of the windows of a secret searched for.
const WINDOW: usize = 8;

/// Every secret of this file.
const ALL_SECRETS: [&str; 4] = [SECRET, WRONG_SECRET, TWILIO_TOKEN, WRONG_TWILIO_TOKEN];

/// `KEY_ID:secret`.
fn key(secret: &str) -> String {
    format!("{KEY_ID}:{secret}")
}

/// Asserts no 8-byte window of any secret occurs in `bytes`; names `what` and shows where.
fn assert_clean(what: &str, bytes: &[u8]) {
    for secret in ALL_SECRETS {
        for window in secret.as_bytes().windows(WINDOW) {
            if let Some(at) = bytes.windows(WINDOW).position(|w| w == window) {
                let from = at.saturating_sub(200);
                let to = (at + 300).min(bytes.len());
                panic!(
                    "{what} leaks {:?} (of {secret:?}) at byte {at}:\n{}",
                    String::from_utf8_lossy(window),
                    String::from_utf8_lossy(&bytes[from..to])
                );
            }
        }
    }
}

/// A scenario accepting only the key `KEY_ID:SECRET`, with the Twilio account of the import.
fn account(mut s: Scenario) -> Scenario {
    s.account.api_keys = vec![redial_sim::ApiKey {
        id: KEY_ID.to_owned(),
        secret: SECRET.to_owned(),
    }];
    s.account.twilio_accounts = vec![TwilioAccount {
        sid: SID.to_owned(),
        auth_token: TWILIO_TOKEN.to_owned(),
        numbers: vec!["+14155550101".to_owned(), "+14155550102".to_owned()],
    }];
    s
}

/// `redial campaign` over a one-contact file with a dead API URL, plus `extra`; the key from
/// `env` when given. Nothing here reaches the network: every case stops at parsing.
fn refused(dir: &Path, extra: &[&str], env: Option<&str>) -> Output {
    let file = contacts(dir, 1, &[]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redial"));
    cmd.args([
        "campaign",
        "--contacts",
        file.to_str().unwrap(),
        "--agent",
        AGENT,
        "--api-url",
        "http://127.0.0.1:9",
        "--progress",
        "none",
    ])
    .args(extra)
    .current_dir(dir)
    .env_remove("NIXFLEX_API_KEY");
    if let Some(k) = env {
        cmd.env("NIXFLEX_API_KEY", k);
    }
    cmd.output().expect("the redial binary runs")
}

/// The known leak: clap read a key starting with `-` as flags and quoted it ("unexpected
/// argument '-k'", or the whole `--…` word), `-h…` even printed the help and exited 0; a key
/// split by a space was quoted whole. Now a key is always the flag's value, and nothing clap
/// or the key check prints quotes it.
#[test]
fn no_usage_error_quotes_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hyphen = key(SECRET);
    let help_like = format!("-h{SECRET}:{SECRET}");
    let double = format!("--{SECRET}");
    let equals = format!("--api-key={}", key(SECRET));
    let no_colon = format!("k3y-{SECRET}");
    let empty_id = format!(":{SECRET}");
    let newline = format!("k3y:{SECRET}\n");
    let space = format!("k3y:{SECRET} x");
    // (flags, key from the environment, what the message must name)
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        // Well-formed keys starting with `-` are taken: the run stops at the next check.
        (
            vec!["--api-key", &hyphen, "--concurrency", "0"],
            None,
            "--concurrency",
        ),
        (
            vec!["--api-key", &help_like, "--concurrency", "0"],
            None,
            "--concurrency",
        ),
        (vec![&equals, "--concurrency", "0"], None, "--concurrency"),
        (vec!["--concurrency", "0"], Some(&hyphen), "--concurrency"),
        // Malformed keys: refused by the key check, which never prints the key.
        (vec!["--api-key", &double], None, "--api-key"),
        (vec!["--api-key", &no_colon], None, "--api-key"),
        (vec!["--api-key", &empty_id], None, "--api-key"),
        (vec!["--api-key", &newline], None, "--api-key"),
        (vec!["--api-key", &space], None, "--api-key"),
        (vec![], Some(&no_colon), "NIXFLEX_API_KEY"),
        // A key split by a space: clap refuses the stray word, without quoting it.
        (
            vec!["--api-key", "k3y:", SECRET],
            None,
            "unexpected argument",
        ),
        (
            vec!["--api-key=k3y:", SECRET, "--concurrency", "1"],
            None,
            "unexpected argument",
        ),
        (
            vec!["--api-key", &hyphen, SECRET],
            None,
            "unexpected argument",
        ),
        // Another flag's error while the key is given.
        (vec!["--api-key", &hyphen, "--rate", "fast"], None, "--rate"),
    ];
    for (flags, env, names) in cases {
        let o = refused(d, &flags, env);
        let shown = format!("{flags:?} (env {env:?})");
        assert_eq!(o.status.code(), Some(2), "{shown}: {}", stderr(&o));
        assert!(stderr(&o).contains(names), "{shown}: {}", stderr(&o));
        assert_clean(&format!("stderr of {shown}"), &o.stderr);
        assert_clean(&format!("stdout of {shown}"), &o.stdout);
    }
}

/// `Debug` of the parsed command line and of the validated plan never shows the key.
#[test]
fn debug_of_the_command_line_and_the_plan_hides_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = contacts(dir.path(), 1, &[]);
    let k = key(SECRET);
    let cli = Cli::try_parse_from([
        "redial",
        "campaign",
        "--contacts",
        file.to_str().unwrap(),
        "--agent",
        AGENT,
        "--api-url",
        "http://127.0.0.1:9",
        "--api-key",
        &k,
        "--out",
        dir.path().join("r.jsonl").to_str().unwrap(),
    ])
    .expect("a key starting with '-' is the flag's value");
    assert_clean("Debug of Cli", format!("{cli:?} {cli:#?}").as_bytes());
    let CliCommand::Campaign(args) = cli.command else {
        panic!("campaign")
    };
    assert_eq!(
        args.api_key.as_ref().map(|k| k.expose()),
        Some(k.as_str()),
        "the key is kept as given"
    );
    let plan = redial_cli::campaign::Plan::from_args(*args).expect("a valid plan");
    assert_clean("Debug of Plan", format!("{plan:?} {plan:#?}").as_bytes());
}

/// Reads a child's pipe to the end on a thread (a trace log fills a pipe buffer quickly).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// `GET /metrics` over a plain HTTP/1.0 connection: the whole response, or `None` before the
/// exporter listens.
fn scrape(addr: SocketAddr) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// A free loopback port.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// Everything a run printed or wrote, by name.
struct Outputs {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    scrapes: Vec<Vec<u8>>,
    status: Option<i32>,
}

/// Runs `redial` with `args` and `RUST_LOG=trace` (and the key in `NIXFLEX_API_KEY` when
/// given), scraping `/metrics` on `metrics` every 100 ms while it runs and calling `tick`
/// with the time waited so far.
fn run_traced(
    dir: &Path,
    args: &[String],
    env_key: Option<&str>,
    metrics: SocketAddr,
    tick: &mut dyn FnMut(Duration),
) -> Outputs {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redial"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NIXFLEX_API_KEY")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(k) = env_key {
        cmd.env("NIXFLEX_API_KEY", k);
    }
    let mut child = cmd.spawn().expect("the redial binary runs");
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let mut scrapes = Vec::new();
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(waited < Duration::from_secs(120), "the campaign ends");
        scrapes.extend(scrape(metrics));
        tick(waited);
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    };
    Outputs {
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        scrapes,
        status: status.code(),
    }
}

/// Every file under `dir`, by name, except the contacts and the config (inputs).
fn written_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// The whole campaign, every output on, faults and throttles included: neither the key's
/// secret nor the wrong key's appears anywhere; then the same with a rejected key (from the
/// environment), results on stdout.
#[test]
fn a_traced_campaign_with_every_output_on_leaks_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut s = common::fast_scenario();
    s.calls.duration_min = Duration::from_millis(200);
    s.calls.duration_max = Duration::from_millis(700);
    // 429s: the client paces at 2000 rps with 20 slots; the account allows far less.
    s.limits.requests_per_second = 60.0;
    s.limits.burst = 10;
    s.limits.max_concurrent_calls = 6;
    s.faults = FaultConfig {
        server_error: 0.04,
        provider_error: 0.03,
        html_502: 0.04,
        truncated: 0.02,
        non_json: 0.02,
        reset_before: 0.02,
        reset_after: 0.02,
        scheduled: vec![ScheduledFault {
            start: Duration::from_millis(800),
            end: Duration::from_millis(1300),
            kind: FaultKind::Html502,
            rate: 1.0,
            routes: Vec::new(),
        }],
        ..FaultConfig::default()
    };
    // Twilio refuses the contacts ending in 7 (`outbound_failed`, a provider_error): repeated,
    // they always carry support reports, whatever the random faults did.
    s.account.twilio_rejects.push(redial_sim::TwilioReject {
        number: None,
        prefix: None,
        suffix: Some("7".to_owned()),
        twilio_error: 21211,
    });
    let faults = s.faults.clone();
    let sim = sim(account(s));
    let file = contacts(d, 60, &[]);
    let config = fast_config(d);
    let metrics = free_addr();
    let journal = d.join("journal.jsonl");
    let support = d.join("support.jsonl");
    let out = d.join("results.jsonl");
    let k = key(SECRET);
    let args: Vec<String> = [
        "campaign",
        "--contacts",
        file.to_str().unwrap(),
        "--agent",
        AGENT,
        "--api-url",
        &sim.base_url(),
        "--api-key",
        &k,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--support-out",
        support.to_str().unwrap(),
        "--metrics-addr",
        &metrics.to_string(),
        "--progress",
        "plain",
    ]
    .map(str::to_owned)
    .to_vec();
    // Once the campaign dials, every create fails for 2 s: their retries run out, so support
    // reports are written (the random faults alone are usually retried away).
    let mut failing_since = None;
    let mut tick = |waited: Duration| match failing_since {
        None if sim.stats().requests_to("POST /v1/calls") >= 10 => {
            sim.set_faults(FaultConfig {
                server_error: 1.0,
                routes: vec!["POST /v1/calls".to_owned()],
                ..FaultConfig::default()
            });
            failing_since = Some(waited);
        }
        Some(since) if waited >= since + Duration::from_secs(2) => {
            sim.set_faults(faults.clone());
            failing_since = Some(Duration::MAX / 2);
        }
        _ => {}
    };
    let run = run_traced(d, &args, None, metrics, &mut tick);
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status, Some(0), "{}", tail(&err));

    // The test is not vacuous: every output exists and saw the faults.
    let stats = sim.stats();
    assert!(stats.faults.values().sum::<u64>() >= 5, "{stats:?}");
    assert!(
        stats.rate_limited.values().sum::<u64>() > 0,
        "429s: {stats:?}"
    );
    assert!(stats.outage_pages + stats.faults.get("html_502").copied().unwrap_or(0) > 0);
    assert!(err.contains("TRACE"), "trace logs on stderr");
    assert!(err.contains("POST /v1/calls"), "request spans logged");
    assert!(err.contains("results:"), "the summary: {}", tail(&err));
    assert!(
        run.scrapes
            .iter()
            .any(|s| String::from_utf8_lossy(s).contains("redial_requests_total")),
        "/metrics scraped during the run ({} scrapes)",
        run.scrapes.len()
    );
    assert_eq!(common::results(&out).len(), 60);
    assert!(std::fs::metadata(&journal).unwrap().len() > 0);
    assert!(
        std::fs::metadata(&support).unwrap().len() > 0,
        "support reports written"
    );

    assert_outputs_clean("", &run, d);

    // A rejected key, from the environment, results on stdout: the halt path.
    let wrong = key(WRONG_SECRET);
    let metrics = free_addr();
    let mut args: Vec<String> = args
        .iter()
        .take_while(|a| *a != "--api-key")
        .cloned()
        .collect();
    args.extend(
        [
            "--config",
            config.to_str().unwrap(),
            "--out",
            "-",
            "--support-out",
            d.join("support-2.jsonl").to_str().unwrap(),
            "--metrics-addr",
            &metrics.to_string(),
            "--progress",
            "plain",
        ]
        .map(str::to_owned),
    );
    let run = run_traced(d, &args, Some(&wrong), metrics, &mut |_| {});
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status, Some(3), "{}", tail(&err));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("invalid_api_key"),
        "results on stdout"
    );
    assert_outputs_clean(" (rejected key)", &run, d);
}

/// Every output of a traced run is free of the secrets: its stdout, its stderr (logs at
/// `RUST_LOG=trace`, progress, summary), each `/metrics` scrape and every file in `dir`.
/// `label` tells the run apart in a failure.
fn assert_outputs_clean(label: &str, run: &Outputs, dir: &Path) {
    assert_clean(&format!("stdout{label}"), &run.stdout);
    assert_clean(
        &format!("stderr{label} (RUST_LOG=trace, progress, summary)"),
        &run.stderr,
    );
    for (i, s) in run.scrapes.iter().enumerate() {
        assert_clean(&format!("/metrics scrape {i}{label}"), s);
    }
    for (name, bytes) in written_files(dir) {
        assert_clean(&name, &bytes);
    }
}

/// The last lines of a long log, for assertion messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// What the process-wide `TRACE` subscriber has written.
fn trace_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        log
    })
    .clone()
}

/// A writer appending to the shared trace log.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide metrics recorder's snapshotter.
fn recorder() -> &'static metrics_util::debugging::Snapshotter {
    static SNAP: OnceLock<metrics_util::debugging::Snapshotter> = OnceLock::new();
    SNAP.get_or_init(|| {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        snapshotter
    })
}

/// Turns one fault on.
type SetFault = fn(&mut FaultConfig);

/// An import of `number` onto the agent without a number, with `token`.
fn import(number: &str, token: &str) -> NumberImport {
    NumberImport {
        agent_id: "agent_nophone".to_owned(),
        phone_number: number.to_owned(),
        twilio_account_sid: SID.to_owned(),
        twilio_auth_token: Secret::new(token),
    }
}

/// A client of `sim` with the test key, fast backoff and the breaker off.
fn client_of(sim: &SimHandle) -> Client {
    let mut c = Config::default();
    c.backoff.retry.base = Duration::from_millis(50);
    c.retry.attempt_timeout = Duration::from_secs(10);
    c.breaker.enabled = false;
    Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(&key(SECRET)).unwrap())
        .config(c)
        .build()
        .unwrap()
}

/// The number import sends the Twilio auth token (and the key) on every attempt: through
/// every fault, 429s, a refused token and the sender halt it causes, nothing the transport
/// logs, counts or returns shows either.
#[tokio::test(start_paused = true)]
async fn number_imports_never_show_the_twilio_token_or_the_key() {
    let log = trace_log();
    let snapshotter = recorder();
    let mut s = account(Scenario::default());
    s.limits.requests_per_second = 2.0;
    s.limits.burst = 1;
    let sim = Sim::builder().scenario(s).start().await.unwrap();
    let client = client_of(&sim);
    let mut shown: Vec<String> = Vec::new();
    let mut record =
        |what: &str, r: &Result<redial_transport::PhoneNumber, redial_transport::Error>| {
            shown.push(format!("{what}: {r:?} {r:#?}"));
            if let Err(e) = r {
                shown.push(format!("{e} {e:#} {:?}", e.detail()));
                if let Some(report) = e.support_report() {
                    shown.push(report.to_json());
                    shown.push(serde_json::to_string(report).unwrap());
                }
            }
        };

    // 429s: a burst of imports against 2 requests/s.
    let burst = futures::future::join_all((0..6).map(|_| {
        let imp = import("+14155550101", TWILIO_TOKEN);
        let client = client.clone();
        async move { client.numbers().import(&imp).await }
    }))
    .await;
    for r in &burst {
        record("burst", r);
    }
    assert!(burst.iter().any(Result::is_ok), "{shown:#?}");
    assert!(sim.stats().rate_limited.values().sum::<u64>() > 0);

    // Every fault on the import route, one at a time.
    let route = vec!["POST /v1/phone-numbers".to_owned()];
    let faults: [(&str, SetFault); 7] = [
        ("server_error", |f| f.server_error = 1.0),
        ("provider_error", |f| f.provider_error = 1.0),
        ("html_502", |f| f.html_502 = 1.0),
        ("truncated", |f| f.truncated = 1.0),
        ("non_json", |f| f.non_json = 1.0),
        ("reset_before", |f| f.reset_before = 1.0),
        ("reset_after", |f| f.reset_after = 1.0),
    ];
    for (name, set) in faults {
        let mut f = FaultConfig {
            routes: route.clone(),
            ..FaultConfig::default()
        };
        set(&mut f);
        sim.set_faults(f);
        let r = client
            .numbers()
            .import(&import("+14155550102", TWILIO_TOKEN))
            .await;
        record(name, &r);
        assert!(r.is_err(), "{name}: every attempt faulted");
    }
    sim.set_faults(FaultConfig::default());
    let ok = client
        .numbers()
        .import(&import("+14155550102", TWILIO_TOKEN))
        .await;
    record("ok", &ok);
    assert!(ok.is_ok(), "{ok:?}");

    // A refused token halts the sender; the next import with it fails fast.
    let refused = client
        .numbers()
        .import(&import("+14155550101", WRONG_TWILIO_TOKEN))
        .await;
    record("refused", &refused);
    assert!(refused.is_err());
    let halted = client
        .numbers()
        .import(&import("+14155550101", TWILIO_TOKEN))
        .await;
    record("halted", &halted);
    assert!(halted.is_err());

    // Debug of every public type holding a key or a token.
    let imp = import("+14155550101", TWILIO_TOKEN);
    shown.push(format!("{imp:?} {imp:#?}"));
    shown.push(format!("{:?}", Secret::new(TWILIO_TOKEN)));
    shown.push(format!("{:?}", ApiKey::parse(&key(SECRET)).unwrap()));
    shown.push(format!("{client:?} {client:#?}"));
    let builder = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(&key(SECRET)).unwrap());
    shown.push(format!("{builder:?}"));
    for bad in [
        SECRET.to_owned(),
        format!(":{SECRET}"),
        format!("id:{SECRET} "),
    ] {
        let e = ApiKey::parse(&bad).unwrap_err();
        shown.push(format!("{e} {e:?}"));
    }

    // Not vacuous: the trace log saw the imports and their failures, the recorder the metrics.
    let traced = log.lock().unwrap().clone();
    let traced_text = String::from_utf8_lossy(&traced);
    assert!(
        traced_text.contains("POST /v1/phone-numbers"),
        "spans logged"
    );
    assert!(traced_text.contains("attempt failed"), "failures logged");
    let metrics = format!("{:?}", snapshotter.snapshot().into_vec());
    assert!(metrics.contains("numbers"), "{metrics}");

    assert_clean("the trace log", &traced);
    assert_clean("the metrics", metrics.as_bytes());
    for (i, s) in shown.iter().enumerate() {
        assert_clean(&format!("shown[{i}]"), s.as_bytes());
    }
}
