//! A real `kill -9` of the `redial campaign` binary at a moment chosen by a seed, then a
//! rerun to completion: every contact exactly once in the results, nobody dialled twice,
//! under idempotency keys honoured (even seeds) and ignored (odd seeds: the rerun
//! reconciles with `GET /v1/calls`).
//!
//! - **One process** (`--journal`): the process is killed once its journal holds N lines, N
//!   drawn from the seed over the whole campaign (header, then `started`, `placed` and
//!   `finished` per contact), plus a drawn delay of up to 30 ms, so the kill lands anywhere
//!   in a contact's life, including in the middle of writing a record. The rerun (same
//!   command) must leave `--out` with every contact exactly once, each `completed` on its one
//!   call; what the killed process had written to its `.partial` file stands unchanged.
//! - **Fleet** (`--redis --campaign`): two processes on one list; one, drawn by the seed, is
//!   killed once the simulator has placed N calls (N drawn) plus a drawn delay; the other
//!   finishes the run, taking over the killed process's contacts after `fleet.claim_timeout`.
//!   No contact may have two different outcomes across the survivor's results and the killed
//!   process's `.partial` file; then a rerun of the campaign (its next run) writes every
//!   contact exactly once, `completed`, and dials nobody. (The survivor's file and the
//!   killed process's `.partial` together need not hold every contact: the killed process's
//!   last results may be lost with its unflushed buffer. Its journal has them; the rerun
//!   writes them. The test prints how many were missing.)
//!
//! The normal run takes [`DEFAULT_SEEDS`] seeds of each. The long form, many seeds:
//!
//! ```sh
//! REDIAL_CRASH_SEEDS=50 cargo test -p redial-cli --test crash_kill -- --ignored --nocapture
//! ```
//!
//! `REDIAL_CRASH_FIRST_SEED=S` starts at seed S (with `REDIAL_CRASH_SEEDS=1`: one seed, to
//! replay a failure; a failing seed is named in the failure message).

mod common;
#[path = "../../limiter/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use redial_sim::{Scenario, SimHandle};
use serde_json::Value;
use support::RedisServer;

use common::{AGENT, KEY};

/// Seeds of each kind in the normal test run.
const DEFAULT_SEEDS: u64 = 3;
/// Seeds of each kind in the long (`--ignored`) run unless `REDIAL_CRASH_SEEDS` says.
const LONG_SEEDS: u64 = 50;
/// Contacts per campaign.
const CONTACTS: usize = 24;
/// How often the test looks at the journal or the simulator.
const POLL: Duration = Duration::from_millis(2);
/// Longest wait for a process or a condition.
const LIMIT: Duration = Duration::from_secs(45);

/// A small seeded generator (SplitMix64): the kill moments of a seed are the same on every
/// machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// Calls of 200–500 ms, keys honoured or not.
fn scenario(honoured: bool) -> Scenario {
    let mut s = common::fast_scenario();
    s.calls.duration_min = Duration::from_millis(200);
    s.calls.duration_max = Duration::from_millis(500);
    s.idempotency.honoured = honoured;
    s
}

fn idempotency(honoured: bool) -> &'static str {
    if honoured { "honoured" } else { "ignored" }
}

/// Lines of a file so far (0 when it does not exist).
fn lines_in(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Waits until `cond` holds, polling; panics past [`LIMIT`] or when `child` exits first.
fn wait_until(child: &mut Child, what: &str, mut cond: impl FnMut() -> bool) {
    let mut waited = Duration::ZERO;
    while !cond() {
        assert!(waited < LIMIT, "timed out waiting for {what}");
        if child.try_wait().unwrap().is_some() {
            return; // It finished first: the kill comes too late to matter.
        }
        std::thread::sleep(POLL);
        waited += POLL;
    }
}

/// SIGKILLs `child`; whether it died of it (not of having finished first).
fn kill_9(mut child: Child) -> bool {
    let _ = child.kill(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    status.signal() == Some(9)
}

/// Waits for `child` (bounded, killed past [`LIMIT`]); whether it succeeded, and its stderr
/// (from the file `log`).
fn finish(mut child: Child, log: &Path) -> (bool, String) {
    let mut waited = Duration::ZERO;
    while child.try_wait().unwrap().is_none() && waited < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    (
        status.success(),
        std::fs::read_to_string(log).unwrap_or_default(),
    )
}

/// The parseable lines of a results file (a killed process may leave a torn last line).
fn outcomes(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Outcomes by number; `repeats` allows a number twice with the same outcome.
fn by_number(outcomes: &[Value], repeats: bool) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for o in outcomes {
        let phone = o["phone"].as_str().unwrap().to_owned();
        if let Some(first) = map.get(&phone) {
            assert!(repeats, "{phone} written twice");
            assert_eq!(first, o, "{phone} has two different outcomes");
        } else {
            map.insert(phone, o.clone());
        }
    }
    map
}

/// Asserts `results` holds every contact once, `completed` on its one call, and the
/// simulator placed exactly one call to each number.
fn assert_complete(results: &BTreeMap<String, Value>, sim: &SimHandle) {
    assert_eq!(results.len(), CONTACTS, "every contact: {results:?}");
    for i in 0..CONTACTS {
        let phone = common::number(i);
        let r = &results[&phone];
        assert_eq!(r["status"], "completed", "{r}");
        assert!(r["call_id"].is_string(), "{r}");
        assert_eq!(sim.calls_placed_to(&phone), 1, "{phone} dialled once");
    }
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "{stats:?}");
    assert!(stats.duplicate_numbers.is_empty(), "{stats:?}");
}

/// What one seed did, for the printed summary.
#[derive(Debug)]
struct Seeded {
    seed: u64,
    /// Where the kill landed (journal lines or calls placed).
    at: String,
    /// Whether the process died of the kill (else it had finished).
    killed: bool,
    /// Contacts missing from the survivor's and the killed process's files (fleet only).
    missing: Option<usize>,
}

/// One process, killed after a seeded number of journal lines, then rerun.
fn single_process(seed: u64) -> Seeded {
    let mut rng = Rng::new(seed);
    let honoured = seed.is_multiple_of(2);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = common::sim(scenario(honoured));
    let list = common::contacts(d, CONTACTS, &[]);
    let out = d.join("r.jsonl");
    let journal = d.join("j.jsonl");
    let args = common::campaign_args(
        d,
        &sim,
        &list,
        (AGENT, KEY),
        None,
        &[
            "--concurrency",
            "6",
            "--out",
            out.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
            "--idempotency",
            idempotency(honoured),
        ],
    );
    // A header, then started, placed, finished per contact.
    let records = 1 + 3 * CONTACTS as u64;
    let kill_at = 2 + rng.below(records - 2) as usize;
    let delay = Duration::from_millis(rng.below(30));
    let mut child = common::spawn_redial(d, &args, &d.join("killed.log"));
    wait_until(&mut child, "journal lines", || {
        lines_in(&journal) >= kill_at
    });
    std::thread::sleep(delay);
    let killed = kill_9(child);
    let torn = !std::fs::read(&journal).unwrap().ends_with(b"\n");
    let at = format!(
        "journal line {kill_at} + {delay:?} ({} lines{})",
        lines_in(&journal),
        if torn { ", the last one torn" } else { "" }
    );
    let seen = outcomes(&common::partial_of(&out));

    let o = common::redial(d, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "the rerun: {}", common::stderr(&o));
    let results = by_number(&outcomes(&out), false);
    assert_complete(&results, &sim);
    for line in &seen {
        let phone = line["phone"].as_str().unwrap();
        assert_eq!(&results[phone], line, "what the killed run wrote stands");
    }
    Seeded {
        seed,
        at,
        killed,
        missing: None,
    }
}

/// The policy of a fleet test in `dir`: the fast config, and a claim timeout and lease of
/// 2 s so the killed process's contacts and slots come back soon.
fn fleet_policy(dir: &Path) -> PathBuf {
    let path = common::fast_config(dir);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[fleet]\nclaim_timeout = \"2s\"\nlease = \"2s\"\nredis_wait = \"10s\"\n");
    std::fs::write(&path, text).unwrap();
    path
}

/// Two fleet processes, one killed after a seeded number of calls; the other finishes the
/// run; then a rerun.
fn fleet(seed: u64, redis: &RedisServer) -> Seeded {
    let mut rng = Rng::new(seed);
    let honoured = seed.is_multiple_of(2);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = common::sim(scenario(honoured));
    let list = common::contacts(d, CONTACTS, &[]);
    let policy = fleet_policy(d);
    let campaign = format!("kill-{seed}");
    let args = |out: &str| {
        common::campaign_args(
            d,
            &sim,
            &list,
            (AGENT, KEY),
            Some(&policy),
            &[
                "--concurrency",
                "4",
                "--out",
                out,
                "--redis",
                &redis.url(),
                "--campaign",
                &campaign,
                "--idempotency",
                idempotency(honoured),
            ],
        )
    };
    let outs = [d.join("results-0.jsonl"), d.join("results-1.jsonl")];
    let logs = [d.join("0.log"), d.join("1.log")];
    let mut children: Vec<Child> = outs
        .iter()
        .zip(&logs)
        .map(|(o, log)| common::spawn_redial(d, &args(o.to_str().unwrap()), log))
        .collect();
    let victim = rng.below(2) as usize;
    let kill_at = 1 + rng.below(CONTACTS as u64 - 1);
    let delay = Duration::from_millis(rng.below(300));
    wait_until(&mut children[victim], "calls placed", || {
        sim.stats().calls_created >= kill_at
    });
    std::thread::sleep(delay);
    let survivor = children.remove(1 - victim);
    let killed = kill_9(children.remove(0));
    let at = format!("process {victim} at call {kill_at} + {delay:?}");
    let (ok, err) = finish(survivor, &logs[1 - victim]);
    assert!(ok, "the survivor finishes the run: {err}");

    let survived = outcomes(&outs[1 - victim]);
    let mut both = outcomes(&common::partial_of(&outs[victim]));
    both.extend(outcomes(&outs[victim])); // it may have finished before the kill
    both.extend(survived);
    let union = by_number(&both, true);
    let missing = CONTACTS - union.len();
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "{stats:?}");
    assert!(stats.duplicate_numbers.is_empty(), "{stats:?}");

    // The campaign's next run writes every contact once from the journal, dials nobody.
    let rerun = d.join("rerun.jsonl");
    let log = d.join("rerun.log");
    let rerun_child = common::spawn_redial(d, &args(rerun.to_str().unwrap()), &log);
    let (ok, err) = finish(rerun_child, &log);
    assert!(ok, "the rerun: {err}");
    let results = by_number(&outcomes(&rerun), false);
    assert_complete(&results, &sim);
    for (phone, o) in &union {
        assert_eq!(&results[phone], o, "what the fleet wrote stands");
    }
    assert_eq!(
        sim.stats().calls_created,
        stats.calls_created,
        "nobody dialled"
    );
    Seeded {
        seed,
        at,
        killed,
        missing: Some(missing),
    }
}

/// The seeds to run: `REDIAL_CRASH_FIRST_SEED`.. (`REDIAL_CRASH_SEEDS` of them, else `n`).
fn seeds(n: u64) -> std::ops::Range<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let first = env("REDIAL_CRASH_FIRST_SEED").unwrap_or(0);
    first..first + env("REDIAL_CRASH_SEEDS").unwrap_or(n)
}

/// Runs `one` over `seeds`, prints what each did, and fails naming every failing seed.
fn over_seeds(kind: &str, seeds: std::ops::Range<u64>, mut one: impl FnMut(u64) -> Seeded) {
    let mut failed = Vec::new();
    let mut report = String::new();
    for seed in seeds {
        match std::panic::catch_unwind(AssertUnwindSafe(|| one(seed))) {
            Ok(s) => report.push_str(&format!(
                "{kind} seed {}: kill at {}, {}{}: ok\n",
                s.seed,
                s.at,
                if s.killed { "killed" } else { "had finished" },
                s.missing.map_or_else(String::new, |m| format!(
                    ", {m} contacts in no process's file before the rerun"
                ))
            )),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                report.push_str(&format!("{kind} seed {seed}: FAILED\n"));
                failed.push(format!(
                    "seed {seed}: {why}\n  replay: REDIAL_CRASH_FIRST_SEED={seed} REDIAL_CRASH_SEEDS=1 \
                     cargo test -p redial-cli --test crash_kill -- --ignored --nocapture {kind}"
                ));
            }
        }
    }
    println!("{report}");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_killed_campaign_rerun_loses_and_doubles_nothing() {
    over_seeds("single", seeds(DEFAULT_SEEDS), single_process);
}

#[test]
fn a_killed_fleet_process_loses_and_doubles_nothing() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    over_seeds("fleet", seeds(DEFAULT_SEEDS), |seed| fleet(seed, &redis));
}

#[test]
#[ignore = "long form: REDIAL_CRASH_SEEDS=50 (see the module doc)"]
fn many_seeds_single() {
    over_seeds("single", seeds(LONG_SEEDS), single_process);
}

#[test]
#[ignore = "long form: REDIAL_CRASH_SEEDS=50 (see the module doc)"]
fn many_seeds_fleet() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    over_seeds("fleet", seeds(LONG_SEEDS), |seed| fleet(seed, &redis));
}
