//! `redial demo`: a campaign of a few hundred generated contacts against the embedded
//! simulator, tuned to show the runtime at work in well under a minute — pacing (a client
//! ceiling above the server's rate, so the adaptive rate meets real 429s), retries (random
//! faults and a scheduled outage), a slot-limit hit (campaign concurrency above the server's
//! live-call limit) and the per-contact outcomes (malformed rows, an opted-out number, a
//! number Twilio rejects).

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use redial_policy::Config;
use redial_policy::config::{BucketConfig, Idempotency};
use redial_sim::Scenario;
use redial_transport::ApiKey;

use crate::args::DemoArgs;
use crate::campaign::{self, Plan, Target, plan};
use crate::exit::{Status, usage};
use redial_campaign::{FileJournal, SuppressList, default_in_flight};

/// Where the demo serves metrics unless told otherwise.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9898";
/// The demo's agent (the simulator's seeded agent).
pub const AGENT: &str = "agent_demo";
/// A number on the simulator's STOP list.
pub const OPTED_OUT: &str = "+14155559999";
/// A number Twilio rejects (21211) in the simulator.
pub const TWILIO_REJECTED: &str = "+15005550001";
/// Live calls the demo campaign asks for: above the simulator's 20, to show the slot gate
/// meeting `concurrent_call_limit` and shrinking to what the server allows.
pub const DEMO_CONCURRENCY: u32 = 30;
/// The demo's account-bucket ceiling, requests per second: above the simulator's 40 so the
/// adaptive rate meets real 429s and backs off.
pub const DEMO_ACCOUNT_RATE: f64 = 48.0;
/// The demo's call-creation ceiling, creates per second.
pub const DEMO_CALLS_RATE: f64 = 12.0;

/// Runs `redial demo`.
///
/// # Errors
/// A usage error for a bad `--metrics-addr`; I/O errors writing the demo files.
pub async fn command(args: DemoArgs) -> anyhow::Result<Status> {
    let dir = std::env::temp_dir().join(format!("redial-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let contacts = dir.join("contacts.csv");
    std::fs::write(&contacts, contacts_csv(args.contacts))
        .with_context(|| format!("cannot write {}", contacts.display()))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("demo-results.jsonl"));
    let journal = dir.join("journal.jsonl");
    let suppress = dir.join("suppress.txt");
    let metrics_addr = if args.no_metrics {
        None
    } else {
        Some(match &args.metrics_addr {
            Some(raw) => plan::parse_addr(raw)?,
            None => free_metrics_addr()?,
        })
    };
    eprintln!(
        "redial demo: {} contacts ({}), agent {AGENT}",
        args.contacts,
        contacts.display()
    );
    eprintln!(
        "  concurrency {DEMO_CONCURRENCY} against a server limit of 20 live calls; account ceiling {DEMO_ACCOUNT_RATE} rps against the server's 40"
    );
    eprintln!("  faults: ~7% random errors and resets, a server_error outage from 8 s to 10 s");
    let plan = Plan {
        contacts: contacts.clone(),
        agent: AGENT.to_owned(),
        from: None,
        target: Target::Embedded {
            scenario: Box::new(scenario()),
            key: ApiKey::parse(plan::SIM_KEY).map_err(|e| usage(e.to_string()))?,
        },
        config: config(),
        out: out.clone(),
        journal: Some(
            FileJournal::open(&journal, AGENT, &contacts).map_err(|e| usage(e.to_string()))?,
        ),
        metrics_addr,
        suppress: SuppressList::load(&suppress).map_err(|e| usage(e.to_string()))?,
        progress: args.progress,
        in_flight: default_in_flight(DEMO_CONCURRENCY as usize),
        support_out: None,
        fleet: None,
    };
    let summary = campaign::execute(plan).await?;
    eprintln!(
        "journal: {}   suppress list: {}",
        journal.display(),
        suppress.display()
    );
    if let Some(addr) = metrics_addr {
        eprintln!("metrics were served at http://{addr}/metrics (the process has ended)");
    }
    show_files(&out);
    Ok(if summary.halted_campaign() {
        Status::Halted
    } else {
        Status::Ok
    })
}

fn show_files(out: &Path) {
    eprintln!("see the results with: head -3 {}", out.display());
}

/// The simulator's demo scenario (40 rps, 20 live calls, random faults, an outage at
/// 8–10 s), with talk times of 1–3 s so 300 contacts finish in about half a minute.
pub fn scenario() -> Scenario {
    let mut s = Scenario::demo();
    s.calls.duration_min = Duration::from_secs(1);
    s.calls.duration_max = Duration::from_secs(3);
    s
}

/// The demo's runtime config: keys honoured (the simulator honours them), pacing above the
/// server's limits, brisk polling.
pub fn config() -> Config {
    let mut c = Config::default();
    c.retry.idempotency = Idempotency::Honoured;
    // Enough attempts, spaced enough, to ride out the simulator's 2 s outage.
    c.retry.max_attempts = 6;
    c.backoff.retry.base = Duration::from_millis(250);
    c.slots.max_concurrent_calls = DEMO_CONCURRENCY;
    // A breaker sized to a 300-call demo: it opens in the outage and closes soon after,
    // instead of remembering the outage for the default 30 s window.
    c.breaker.sampling_window = Duration::from_secs(4);
    c.breaker.break_duration = Duration::from_secs(2);
    c.pacing.buckets = vec![
        BucketConfig {
            name: "calls".into(),
            routes: vec!["POST /v1/calls".into()],
            rate: DEMO_CALLS_RATE,
            burst: 5,
        },
        BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate: DEMO_ACCOUNT_RATE,
            burst: 10,
        },
    ];
    c.polling.initial = Duration::from_millis(700);
    c.polling.max = Duration::from_millis(1200);
    c.polling.multiplier = 1.3;
    c
}

/// `count` generated contacts with a few rows that show the per-contact outcomes: three
/// malformed rows, a duplicate, an opted-out number and a number Twilio rejects.
pub fn contacts_csv(count: u32) -> String {
    let mut s = String::from("phone,name,segment\n");
    for i in 0..count {
        let _ = match i {
            10 => writeln!(s, "{OPTED_OUT},Opted Out,stop-list"),
            20 => writeln!(s, "{TWILIO_REJECTED},Twilio Reject,bad-number"),
            30 => writeln!(s, "0207 946 0000,Not E164,malformed"),
            40 => writeln!(s, "+44207946,too,many,fields"),
            50 => writeln!(s, "not-a-number,Bad Phone,malformed"),
            60 => writeln!(s, "+442079400001,Duplicate,dup"),
            _ => writeln!(
                s,
                "+4420794{:05},Contact {i},{}",
                i + 1,
                ["a", "b", "c"][i as usize % 3]
            ),
        };
    }
    s
}

/// 127.0.0.1:9898, or a free port of 127.0.0.1 when that is taken.
fn free_metrics_addr() -> anyhow::Result<SocketAddr> {
    let preferred: SocketAddr = DEFAULT_METRICS_ADDR
        .parse()
        .context("default metrics address")?;
    if TcpListener::bind(preferred).is_ok() {
        return Ok(preferred);
    }
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port for metrics")?;
    let addr = l.local_addr().context("cannot read the metrics port")?;
    eprintln!("{DEFAULT_METRICS_ADDR} is taken; serving metrics on {addr}");
    Ok(addr)
}

/// The path of the demo's temporary files (for docs and tests).
pub fn temp_dir() -> PathBuf {
    std::env::temp_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_contacts_hold_every_showcase_row() {
        let csv = contacts_csv(300);
        assert_eq!(csv.lines().count(), 301);
        for needle in [
            OPTED_OUT,
            TWILIO_REJECTED,
            "not-a-number",
            "+442079400001,Duplicate",
        ] {
            assert!(csv.contains(needle), "{needle}");
        }
        Config::validate(&config()).unwrap();
        scenario().validate().unwrap();
    }
}
