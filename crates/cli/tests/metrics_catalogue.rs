//! The metrics catalogue is one list: `docs/metrics.md`, the code's tables
//! (`redial_cli::telemetry::METRICS`) and what a run actually emits agree on every name, type
//! and label set.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use redial_cli::telemetry::{self, all_metrics};
use redial_policy::catalog::{MetricDef, MetricKind};
use redial_policy::config::{BucketConfig, Config, RuleConfig};
use redial_sim::{Scenario, Sim, SimHandle};
use redial_transport::{ApiKey, Client, Error, NewCall};

const DOC: &str = include_str!("../../../docs/metrics.md");
/// The simulator's default key.
const KEY: &str = "demo_key:demo_secret";
/// The simulator's default agent (owns a number).
const AGENT: &str = "agent_demo";

/// One row of the document's tables: type and labels.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    kind: String,
    labels: BTreeSet<String>,
}

/// Parses every `` | `redial_…` | type | labels | meaning | `` row of the document.
fn document_rows(doc: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `redial_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 6, "a metric row has 4 cells: {line}");
        let name = cells[1].trim_matches('`').to_owned();
        let labels = match cells[3] {
            "—" => BTreeSet::new(),
            l => l.split(',').map(|l| l.trim().to_owned()).collect(),
        };
        assert!(!cells[4].is_empty(), "{name} has a meaning in the document");
        let row = Row {
            kind: cells[2].to_owned(),
            labels,
        };
        assert!(
            rows.insert(name.clone(), row).is_none(),
            "{name} is listed twice"
        );
    }
    rows
}

fn code_row(m: &MetricDef) -> Row {
    Row {
        kind: m.kind.as_str().to_owned(),
        labels: m.labels.iter().map(|l| (*l).to_owned()).collect(),
    }
}

#[test]
fn the_document_lists_exactly_the_metrics_of_the_code() {
    let doc = document_rows(DOC);
    let code: BTreeMap<String, Row> = all_metrics()
        .iter()
        .map(|m| (m.name.to_owned(), code_row(m)))
        .collect();
    assert!(!code.is_empty());
    let lacks: Vec<_> = code.keys().filter(|n| !doc.contains_key(*n)).collect();
    let extra: Vec<_> = doc.keys().filter(|n| !code.contains_key(*n)).collect();
    let differ: Vec<_> = code
        .iter()
        .filter_map(|(n, c)| {
            let d = doc.get(n)?;
            (d != c).then(|| format!("{n}: document says {d:?}, code says {c:?}"))
        })
        .collect();
    assert!(
        lacks.is_empty() && extra.is_empty() && differ.is_empty(),
        "docs/metrics.md is out of step with the code.\n\
         the document lacks: {lacks:?}\n\
         the document has extra: {extra:?}\n\
         type or labels differ: {differ:#?}"
    );
}

#[test]
fn the_row_parser_sees_missing_extra_and_changed_rows() {
    let doc = "| `redial_a_total` | counter | group, to | a |\n\
               | `redial_b_seconds` | histogram | — | b |\n\
               not a row: `redial_c_total`\n";
    let rows = document_rows(doc);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows["redial_a_total"],
        Row {
            kind: "counter".into(),
            labels: ["group".into(), "to".into()].into()
        }
    );
    assert!(rows["redial_b_seconds"].labels.is_empty());
}

/// A config for fast tests on the paused clock: short backoffs, no self-pacing to speak of,
/// breaker off (as in the workspace's `tests/common`).
fn config() -> Config {
    let mut c = Config::default();
    c.backoff.retry.base = Duration::from_millis(10);
    c.backoff.throttle.base = Duration::from_millis(100);
    c.retry.attempt_timeout = Duration::from_secs(5);
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 10_000.0,
        burst: 1_000,
    }];
    c.slots.max_concurrent_calls = 1_000;
    c.breaker.enabled = false;
    c.polling.initial = Duration::from_millis(200);
    c.polling.max = Duration::from_millis(500);
    c
}

async fn sim(scenario: Scenario) -> SimHandle {
    Sim::builder()
        .scenario(scenario)
        .start()
        .await
        .expect("simulator starts on 127.0.0.1")
}

fn client(sim: &SimHandle, config: Config) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(KEY).unwrap())
        .config(config)
        .jitter_seed(7)
        .build()
        .expect("client builds")
}

/// Throttles: the simulator allows 1 request/s, so the second and third get 429s with
/// Retry-After, which pause the bucket and lower its adaptive rate.
async fn throttles() {
    let mut s = Scenario::default();
    s.limits.requests_per_second = 1.0;
    s.limits.burst = 1;
    let sim = sim(s).await;
    let client = client(&sim, config());
    for _ in 0..3 {
        client
            .agents()
            .list()
            .await
            .expect("throttled, then served");
    }
    assert!(sim.stats().rate_limited.contains_key("rate_limit_exceeded"));
}

/// Slot-limit hits: the account allows 2 live calls, the client believes 6; creates wait for
/// slots and the gate shrinks.
async fn slots() {
    let mut s = Scenario::default();
    s.limits.max_concurrent_calls = 2;
    s.calls.duration_min = Duration::from_secs(1);
    s.calls.duration_max = Duration::from_secs(2);
    let sim = sim(s).await;
    let mut c = config();
    c.slots.max_concurrent_calls = 6;
    c.codes.insert(
        "concurrent_call_limit".into(),
        RuleConfig {
            max_attempts: Some(50),
            ..Default::default()
        },
    );
    let client = client(&sim, c);
    // Joined on this task, not spawned: a request future is not `Send` (see the report).
    let jobs = (0..6).map(|i| {
        let client = client.clone();
        async move {
            let placed = client
                .calls()
                .create(&NewCall::new(AGENT, format!("+4474464669{i:02}")))
                .await?;
            let done = client.calls().wait_until_done(&placed.call.id).await?;
            drop(placed.slot);
            Ok::<_, Error>(done)
        }
    });
    for r in futures::future::join_all(jobs).await {
        r.expect("every call is placed and ends");
    }
    assert!(
        sim.stats()
            .rate_limited
            .contains_key("concurrent_call_limit")
    );
}

/// A halt: an agent without a number halts its scope; the next create fails fast.
async fn halts() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    for to in ["+447446466847", "+447446466848"] {
        let err = client
            .calls()
            .create(&NewCall::new("agent_nophone", to))
            .await
            .unwrap_err();
        assert!(err.halt_scope().is_some(), "{err}");
    }
}

/// The breaker opens after 3 server errors and fails the next request fast; a retry budget
/// of zero refuses the retries of another client. Server errors also ask for support reports.
async fn breaker_and_budget() {
    let mut s = Scenario::default();
    s.faults.server_error = 1.0;
    let sim = sim(s).await;
    let mut c = config();
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 3;
    c.breaker.break_duration = Duration::from_secs(2);
    c.retry.max_attempts = 10;
    let breaking = client(&sim, c);
    let err = breaking.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
    let err = breaking.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");

    let mut c = config();
    c.budget.ratio = 0.0;
    c.budget.min_per_second = 0;
    let broke = client(&sim, c);
    let err = broke.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::BudgetExhausted { .. }), "{err}");
}

/// Ambiguous creates: the server dials, then resets the connection; without an honoured
/// idempotency key the create is not retried.
async fn ambiguous() {
    let mut s = Scenario::default();
    s.idempotency.honoured = false;
    s.faults.reset_after = 1.0;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    // Without reconciliation, so the create stays ambiguous (its metrics are the point).
    let mut c = config();
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466851"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
}

/// Whether the workload above is expected to count or record `name`. The CLI's own metrics
/// ([`telemetry::cli_metrics`]) are emitted by the campaign runner, which a bare `Client` does
/// not run; every other catalogued metric must be exercised.
fn exercised_by_the_workload(name: &str) -> bool {
    // Fleet mode's metrics need a Redis: the fleet tests (crates/cli/tests/fleet.rs and the
    // limiter's and campaign's redis tests) emit them.
    let fleet = name.starts_with("redial_redis_") || name.starts_with("redial_fleet_");
    !fleet && !telemetry::cli_metrics().iter().any(|m| m.name == name)
}

/// Runs a little of everything through a real client against the simulator, with a
/// debugging recorder as this thread's recorder, and checks that every metric emitted is
/// catalogued with its type and labels, has a description, and that the run exercised every
/// catalogued metric (counters counted, histograms recorded).
#[tokio::test(start_paused = true)]
async fn every_metric_a_run_emits_is_catalogued() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    {
        // The paused runtime is current-thread: the client, the limiter and the simulator
        // all run on this thread, so a thread-local recorder sees everything. Clients are
        // built inside this scope because the limiter registers its handles when built.
        let _recorder = metrics::set_default_local_recorder(&recorder);
        telemetry::describe();
        throttles().await;
        slots().await;
        halts().await;
        breaker_and_budget().await;
        ambiguous().await;
    }

    let catalogue: BTreeMap<&str, MetricDef> =
        all_metrics().into_iter().map(|m| (m.name, m)).collect();
    let mut problems = Vec::new();
    // Per catalogued name: whether some series of it counted or recorded something.
    let mut exercised: BTreeMap<&str, bool> = BTreeMap::new();
    for (key, _unit, description, value) in snapshotter.snapshot().into_vec() {
        let name = key.key().name().to_owned();
        let Some(def) = catalogue.get(name.as_str()) else {
            problems.push(format!("{name} is emitted but not in the catalogue"));
            continue;
        };
        let kind = match key.kind() {
            metrics_util::MetricKind::Counter => MetricKind::Counter,
            metrics_util::MetricKind::Gauge => MetricKind::Gauge,
            metrics_util::MetricKind::Histogram => MetricKind::Histogram,
        };
        if kind != def.kind {
            problems.push(format!(
                "{name} is emitted as a {} but catalogued as a {}",
                kind.as_str(),
                def.kind.as_str()
            ));
        }
        let labels: BTreeSet<&str> = key.key().labels().map(|l| l.key()).collect();
        let declared: BTreeSet<&str> = def.labels.iter().copied().collect();
        if labels != declared {
            problems.push(format!(
                "{name} is emitted with labels {labels:?}, catalogued with {declared:?}"
            ));
        }
        if description.is_none() {
            problems.push(format!("{name} has no description (no # HELP line)"));
        }
        let counted = match value {
            DebugValue::Counter(n) => n > 0,
            DebugValue::Histogram(samples) => !samples.is_empty(),
            DebugValue::Gauge(_) => true,
        };
        *exercised.entry(def.name).or_default() |= counted;
    }
    for def in catalogue.values() {
        if !exercised_by_the_workload(def.name) {
            continue;
        }
        match exercised.get(def.name) {
            None => problems.push(format!("{} was never emitted by the run", def.name)),
            Some(false) => problems.push(format!(
                "{} was registered but never counted or recorded by the run",
                def.name
            )),
            Some(true) => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
