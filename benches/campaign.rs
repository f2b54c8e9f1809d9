//! The campaign benchmark: redial against the dialer a user would otherwise write, on the same
//! simulated account, over loopback. `cargo bench --bench campaign` (add `-- --contacts N`,
//! `-- --only a`); under `cargo test` it runs one small scenario as a smoke test.
//!
//! Every dialer meets the same account: a request-rate limit and a live-call limit. Reported
//! per dialer and scenario: makespan / lower bound (the bound: one create and one status read
//! per contact at the account's rate, or the calls' total length over the slots, whichever is
//! longer), requests per contact, the share of 429 answers, contacts lost (no terminal call
//! status) and duplicate dials (the simulator's own count). Scenarios:
//!
//! - `a` exact limits: each dialer is told the account's real limits;
//! - `b` blind: each is told three times the real limits;
//! - `c` faults: exact limits, 5% of requests answer `server_error`;
//! - `d` realistic: exact limits, calls of minutes, on tokio's paused clock (simulated time).

#[path = "support/naive_dialer.rs"]
mod naive_dialer;

use std::time::Duration;

use redial::campaign::{Campaign, Contact, MemorySink, MemorySource, OutcomeStatus};
use redial::policy::config::{ACCOUNT_BUCKET, BucketConfig, Config};
use redial::sim::{Scenario, Sim, SimHandle, SimStats, TalkTime};
use redial::{ApiKey, Client};

const KEY: &str = "demo_key:demo_secret";
const AGENT: &str = "agent_demo";
/// The account's real limits in every scenario: requests per second and live calls.
const RATE: f64 = 40.0;
const SLOTS: u32 = 20;

/// One run's measurements.
#[derive(Debug)]
struct Row {
    scenario: &'static str,
    dialer: &'static str,
    contacts: u64,
    makespan: Duration,
    bound: Duration,
    requests: u64,
    throttles: u64,
    lost: u64,
    duplicates: u64,
}

impl Row {
    fn print(&self) {
        let n = self.contacts as f64;
        println!(
            "| {} | {} | {} | {:.1} s | {:.1} s | **{:.2}** | {:.2} | {:.1}% | {} | {} |",
            self.scenario,
            self.dialer,
            self.contacts,
            self.makespan.as_secs_f64(),
            self.bound.as_secs_f64(),
            self.makespan.as_secs_f64() / self.bound.as_secs_f64(),
            self.requests as f64 / n,
            100.0 * self.throttles as f64 / self.requests.max(1) as f64,
            self.lost,
            self.duplicates,
        );
    }
}

/// Which dialer, told which limits.
#[derive(Debug, Clone, Copy)]
enum Dialer {
    Naive { told: f64 },
    Redial { told: f64 },
}

impl Dialer {
    fn name(self) -> &'static str {
        match self {
            Dialer::Naive { told } if told > 1.0 => "naive, told 3x",
            Dialer::Naive { .. } => "naive",
            Dialer::Redial { told } if told > 1.0 => "redial, told 3x",
            Dialer::Redial { .. } => "redial",
        }
    }
}

fn numbers(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("+4474460{i:05}")).collect()
}

/// The scenario's simulated account: the real limits, short calls, `faults` server errors.
fn account(faults: f64) -> Scenario {
    let mut s = Scenario::default();
    s.limits.requests_per_second = RATE;
    s.limits.burst = 10;
    s.limits.max_concurrent_calls = SLOTS;
    s.calls.ringing_after = Duration::from_millis(50);
    s.calls.answered_after = Duration::from_millis(100);
    s.calls.duration_min = Duration::from_millis(200);
    s.calls.duration_max = Duration::from_millis(600);
    s.faults.server_error = faults;
    s
}

/// A redial config told `told` times `account`'s limits.
fn redial_config(account: &Scenario, told: f64) -> Config {
    let mut c = Config::default();
    c.pacing.buckets = vec![BucketConfig {
        name: ACCOUNT_BUCKET.into(),
        routes: vec!["*".into()],
        rate: account.limits.requests_per_second * told,
        burst: 10,
    }];
    c.slots.max_concurrent_calls = (f64::from(account.limits.max_concurrent_calls) * told) as u32;
    c
}

/// Mean time a call holds a slot in `s`, over the outcome shares: an answered call rings and
/// talks (the talk time's mean: uniform, or log-normal `median·e^(σ²/2)`, its cap ignored),
/// the others ring until their terminal status.
fn mean_hold(s: &Scenario) -> Duration {
    let c = &s.calls;
    let talk = match &c.duration {
        Some(TalkTime::LogNormal { median, sigma, .. }) => {
            median.mul_f64((sigma * sigma / 2.0).exp())
        }
        Some(TalkTime::Uniform { min, max }) => (*min + *max) / 2,
        _ => (c.duration_min + c.duration_max) / 2,
    };
    let w = &c.outcomes;
    let total = f64::from(w.completed + w.busy + w.no_answer + w.failed).max(1.0);
    let share = |n: u32, d: Duration| d.as_secs_f64() * f64::from(n) / total;
    Duration::from_secs_f64(
        share(w.completed, c.answered_after + talk)
            + share(w.busy, c.busy_after.unwrap_or(c.answered_after))
            + share(w.no_answer, c.no_answer_after.unwrap_or(c.answered_after))
            + share(w.failed, c.failed_after.unwrap_or(c.answered_after)),
    )
}

fn bound(n: u64, s: &Scenario) -> Duration {
    let by_rate = Duration::from_secs_f64(2.0 * n as f64 / s.limits.requests_per_second);
    let by_slots =
        mean_hold(s) * u32::try_from(n).unwrap_or(u32::MAX) / s.limits.max_concurrent_calls;
    by_rate.max(by_slots)
}

fn throttles(stats: &SimStats) -> u64 {
    stats.rate_limited.values().sum()
}

/// Runs `dialer` over `n` contacts against `sim` and measures it.
async fn measure(
    scenario: &'static str,
    dialer: Dialer,
    sim: &SimHandle,
    account: &Scenario,
    n: u64,
) -> Row {
    sim.reset();
    let start = redial::limiter::clock::now();
    let lost = match dialer {
        Dialer::Naive { told } => {
            let workers = (f64::from(account.limits.max_concurrent_calls) * told) as usize;
            let o = naive_dialer::run(&sim.base_url(), KEY, AGENT, numbers(n), workers).await;
            n - o.completed
        }
        Dialer::Redial { told } => {
            let client = Client::builder()
                .base_url(sim.base_url())
                .api_key(ApiKey::parse(KEY).expect("key"))
                .config(redial_config(account, told))
                .build()
                .expect("client builds");
            let sink = MemorySink::new();
            let contacts = numbers(n).into_iter().map(Contact::new);
            let summary = Campaign::builder(client)
                .agent(AGENT)
                .build()
                .expect("campaign builds")
                .run(MemorySource::from_contacts(contacts), sink.clone())
                .await
                .expect("campaign runs");
            n - summary.count(OutcomeStatus::Completed)
        }
    };
    let makespan = start.elapsed();
    let stats = sim.stats();
    Row {
        scenario,
        dialer: dialer.name(),
        contacts: n,
        makespan,
        bound: bound(n, account),
        requests: stats.total_requests(),
        throttles: throttles(&stats),
        lost,
        duplicates: stats.duplicate_dials,
    }
}

/// Scenarios `a`–`c`: the real clock, the simulator on its own thread.
fn run_real(scenario: &'static str, faults: f64, told: f64, n: u64) -> Vec<Row> {
    let account = account(faults);
    let sim = Sim::builder()
        .scenario(account.clone())
        .start_background()
        .expect("simulator starts");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = [Dialer::Naive { told }, Dialer::Redial { told }]
        .into_iter()
        .map(|d| rt.block_on(measure(scenario, d, &sim, &account, n)))
        .collect();
    drop(sim);
    rows
}

/// Scenario `d`: the simulator's `realistic` preset (calls of minutes with a long tail, faults
/// and gateway outages whose 502s sometimes placed the call, keys not honoured) without its
/// daily quota, on the paused clock with the simulator in the same runtime: hours of
/// simulated time in seconds. The dialers are told the preset's limits.
fn run_realistic(n: u64) -> Vec<Row> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut account = Scenario::realistic();
        account.quota.calls = 0;
        let sim = Sim::builder()
            .scenario(account.clone())
            .start()
            .await
            .expect("simulator starts");
        let mut rows = Vec::new();
        for d in [Dialer::Naive { told: 1.0 }, Dialer::Redial { told: 1.0 }] {
            rows.push(measure("d realistic (simulated time)", d, &sim, &account, n).await);
        }
        sim.shutdown().await;
        rows
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: u64 = arg("--contacts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 600 } else { 20 });
    let only = arg("--only");
    let wanted = |s: &str| only.as_deref().is_none_or(|o| o == s);
    println!(
        "| scenario | dialer | contacts | makespan | bound | makespan / bound | requests / contact | 429s | lost | duplicates |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    if wanted("a") {
        rows.extend(run_real("a exact limits", 0.0, 1.0, n));
    }
    if benching && wanted("b") {
        rows.extend(run_real("b blind (told 3x)", 0.0, 3.0, n));
    }
    if benching && wanted("c") {
        rows.extend(run_real("c 5% server faults", 0.05, 1.0, n));
    }
    if benching && wanted("d") {
        rows.extend(run_realistic(n));
    }
    for r in &rows {
        r.print();
    }
}
