//! The installed exporter serves valid Prometheus text during a real campaign: every
//! `_seconds` metric is a histogram with the explicit buckets (never a summary), everything
//! exported is catalogued and described, no label leaks a number, id or key, and
//! `promtool check metrics` accepts the exposition.
//!
//! One test function: the global recorder can be installed once per process.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use redial_cli::telemetry::{self, SECONDS_BUCKETS, TelemetryError, all_metrics};
use redial_policy::config::{BucketConfig, Config};
use redial_sim::{Scenario, Sim};
use redial_transport::{ApiKey, Client, NewCall};

/// The simulator's default key.
const KEY: &str = "demo_key:demo_secret";
/// The simulator's default agent (owns a number).
const AGENT: &str = "agent_demo";
/// Calls the campaign places.
const CALLS: usize = 30;
/// Calls in flight at once.
const CONCURRENCY: usize = 10;
/// Prefix of the campaign's phone numbers, which must never appear in the exposition.
const NUMBER_PREFIX: &str = "+44744646";

/// Installs the exporter on a free loopback port (retrying if another process takes the port
/// between the probe and the bind).
fn install() -> SocketAddr {
    for _ in 0..5 {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port");
        match telemetry::install(addr) {
            Ok(()) => return addr,
            Err(TelemetryError::Bind { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free loopback port for the exporter");
}

async fn scrape(addr: SocketAddr) -> String {
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("the exporter answers");
    assert!(
        response.status().is_success(),
        "GET /metrics: {}",
        response.status()
    );
    response.text().await.expect("a text body")
}

/// Runs a short campaign with throttles, server errors and resets: `CALLS` creates (each
/// waited until done) and a list of agents every few calls.
async fn campaign(client: Client) {
    let semaphore = tokio::sync::Semaphore::new(CONCURRENCY);
    let jobs = (0..CALLS).map(|i| {
        let client = client.clone();
        let semaphore = &semaphore;
        async move {
            let _permit = semaphore.acquire().await.unwrap();
            if i % 5 == 0 {
                let _ = client.agents().list().await;
            }
            let mut call = NewCall::new(AGENT, format!("{NUMBER_PREFIX}{i:04}"));
            call.idempotency_key = Some(format!("prometheus-test-{i}"));
            if let Ok(placed) = client.calls().create(&call).await {
                let _ = client.calls().wait_until_done(&placed.call.id).await;
                drop(placed.slot);
            }
        }
    });
    // Joined on the test's task rather than spawned: a request future is not `Send`.
    futures::future::join_all(jobs).await;
}

/// `# TYPE` of each metric family in an exposition.
fn types(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect()
}

/// The `le` bounds of the first series of `name`'s buckets, in order.
fn bucket_bounds<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}_bucket{{");
    let mut first_series = None;
    let mut bounds = Vec::new();
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let (labels, _) = line.split_once('}').expect("closed labels");
        let (rest, le) = labels.rsplit_once("le=\"").expect("an le label");
        if *first_series.get_or_insert(rest) != rest {
            break;
        }
        bounds.push(le.trim_end_matches('"'));
    }
    bounds
}

/// Every label value of every sample line (values hold no escaped quotes here).
fn label_values(text: &str) -> Vec<&str> {
    let mut values = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, mut rest)) = line.split_once('{') else {
            continue;
        };
        while let Some((_, after)) = rest.split_once("=\"") {
            let (value, tail) = after.split_once('"').expect("a closed label value");
            values.push(value);
            rest = tail;
        }
    }
    values
}

/// Runs `promtool check metrics` on `text`; `None` when promtool is not installed.
fn promtool(text: &str) -> Option<std::process::Output> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    Some(child.wait_with_output().expect("promtool runs"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_exported_as_valid_prometheus_histograms() {
    let addr = install();

    let mut s = Scenario {
        seed: 2026,
        ..Scenario::default()
    };
    s.limits.requests_per_second = 50.0;
    s.limits.burst = 10;
    s.calls.ringing_after = Duration::from_millis(20);
    s.calls.answered_after = Duration::from_millis(50);
    s.calls.duration_min = Duration::from_millis(100);
    s.calls.duration_max = Duration::from_millis(300);
    s.idempotency.honoured = true;
    s.faults.server_error = 0.1;
    s.faults.reset_before = 0.05;
    let sim = Sim::builder()
        .scenario(s)
        .start()
        .await
        .expect("simulator starts on 127.0.0.1");

    let mut c = Config::default();
    c.backoff.retry.base = Duration::from_millis(10);
    c.backoff.throttle.base = Duration::from_millis(50);
    c.retry.max_attempts = 6;
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 1_000.0,
        burst: 100,
    }];
    c.polling.initial = Duration::from_millis(50);
    c.polling.max = Duration::from_millis(200);
    // Built after install(): the limiter registers its handles with the recorder at build.
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(KEY).unwrap())
        .config(c)
        .build()
        .expect("client builds");

    let scrape_during = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        scrape(addr).await
    };
    let ((), during) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(campaign(client), scrape_during)
    })
    .await
    .expect("the campaign ends");
    assert!(
        during.contains("# TYPE redial_slots_limit gauge"),
        "served while the campaign runs:\n{during}"
    );
    let stats = sim.stats();
    assert!(
        stats.rate_limited.contains_key("rate_limit_exceeded"),
        "throttled: {stats:?}"
    );
    assert!(
        stats.faults.values().sum::<u64>() > 0,
        "faults fired: {stats:?}"
    );
    let text = scrape(addr).await;

    // Every exported family is catalogued with its type and has a # HELP line; every
    // `_seconds` family is a histogram with the explicit buckets.
    let catalogue: BTreeMap<&str, &str> = all_metrics()
        .iter()
        .map(|m| (m.name, m.kind.as_str()))
        .collect();
    let exported = types(&text);
    for must in [
        "redial_request_duration_seconds",
        "redial_backoff_delay_seconds",
        "redial_pacer_pause_seconds",
        "redial_requests_total",
        "redial_attempts_total",
    ] {
        assert!(exported.contains_key(must), "{must} is exported:\n{text}");
    }
    let expected_bounds: Vec<String> = SECONDS_BUCKETS
        .iter()
        .map(f64::to_string)
        .chain(["+Inf".to_owned()])
        .collect();
    for (name, kind) in &exported {
        assert_eq!(
            catalogue.get(name),
            Some(kind),
            "{name} is exported as a {kind}; catalogue: {:?}",
            catalogue.get(name)
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has a # HELP line"
        );
        if name.ends_with("_seconds") {
            assert_eq!(*kind, "histogram", "{name} is a histogram, not a summary");
            assert_eq!(
                bucket_bounds(&text, name),
                expected_bounds,
                "{name} has the explicit buckets"
            );
            for part in ["_sum", "_count"] {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with(&format!("{name}{part}"))),
                    "{name}{part}"
                );
            }
        }
    }
    assert!(!text.contains("quantile="), "no summaries:\n{text}");
    let values = label_values(&text);
    assert!(
        values.contains(&"POST /v1/calls"),
        "labels parsed: {values:?}"
    );
    for value in values {
        // Call ids look like `call_2cf3…`; `call_status` is an endpoint group.
        let call_id = value.starts_with("call_") && value != "call_status";
        let leaks = value.contains(NUMBER_PREFIX)
            || value.contains("prometheus-test-")
            || value.contains("demo_")
            || value.starts_with("agent_")
            || call_id;
        assert!(
            !leaks,
            "a label carries a phone number, id or key: {value:?}"
        );
    }

    match promtool(&text) {
        Some(out) => assert!(
            out.status.success(),
            "promtool check metrics failed ({}):\n{}{}\n--- exposition ---\n{text}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        None if std::env::var_os("CI").is_some() => {
            panic!("promtool is not on PATH and CI is set: install Debian's `prometheus` package")
        }
        None => eprintln!(
            "SKIPPED promtool check: promtool is not on PATH (apt-get install prometheus); \
             the other checks ran"
        ),
    }
}
