//! Fleet mode end to end: several `redial campaign` processes (the real binary) with the same
//! `--redis` and `--campaign`, on one contact list, against the simulator with the account's
//! limits (40 rps, 20 live calls) and calls of 1–3 s, on a real `redis-server` on loopback.
//! Real clock: the processes, Redis and the simulator all run on it.

mod common;
#[path = "../../limiter/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use redial_sim::{Scenario, SimHandle};
use serde_json::Value;
use support::RedisServer;

use common::{AGENT, KEY};

/// The account's request rate (the simulator's limit).
const SIM_RPS: f64 = 40.0;
/// The account's live calls (the simulator's limit, and the fleet's `--concurrency`).
const LIVE_CALLS: u32 = 20;
/// One fleet at a time: each test runs three processes, a simulator and a Redis, which is all
/// a 2-core machine can run without starving the processes' heartbeats.
static ONE_FLEET_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes the machine for one fleet test.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_FLEET_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Longest any fleet process may run before the test gives up on it.
const PROCESS_LIMIT: Duration = Duration::from_secs(45);

/// The account's limits; calls of 1–3 s (ringing at 0.1 s, answered at 0.3 s, talk 0.7–2.7 s).
fn scenario() -> Scenario {
    let mut s = Scenario::default();
    s.limits.requests_per_second = SIM_RPS;
    s.limits.burst = 10;
    s.limits.max_concurrent_calls = LIVE_CALLS;
    s.calls.ringing_after = Duration::from_millis(100);
    s.calls.answered_after = Duration::from_millis(300);
    s.calls.duration_min = Duration::from_millis(700);
    s.calls.duration_max = Duration::from_millis(2700);
    s
}

/// The fleet's policy file in `dir`: [`POLICY`], unless the test wrote its own there first.
fn policy(dir: &Path) -> PathBuf {
    let path = dir.join("fleet.toml");
    if !path.exists() {
        std::fs::write(&path, POLICY).unwrap();
    }
    path
}

/// The fleet's policy: the account rate a little under the server's, polls every 0.5–1 s,
/// a short claim timeout and lease so a killed process's work comes back within seconds.
const POLICY: &str = r#"
[retry]
attempt_timeout = "5s"

[backoff.retry]
base = "50ms"

[[pacing.buckets]]
name = "account"
routes = ["*"]
rate = 32.0
burst = 5

[breaker]
enabled = false

[polling]
initial = "500ms"
max = "1s"
multiplier = 1.5

[fleet]
claim_timeout = "5s"
lease = "3s"
redis_wait = "20s"
"#;

/// `n` contacts `+4474464xxxxx` in `dir`.
fn contacts(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("contacts.csv");
    let mut s = String::from("phone,name\n");
    for i in 0..n {
        s.push_str(&format!("+4474464{i:05},c{i}\n"));
    }
    std::fs::write(&path, s).unwrap();
    path
}

/// One fleet process's `redial campaign` command writing `out`.
fn process(
    dir: &Path,
    sim: &SimHandle,
    redis: &str,
    campaign: &str,
    out: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redial"));
    let policy = policy(dir);
    cmd.args(["campaign", "--contacts"])
        .arg(dir.join("contacts.csv"))
        .args([
            "--agent",
            AGENT,
            "--api-url",
            &sim.base_url(),
            "--api-key",
            KEY,
        ])
        .arg("--config")
        .arg(&policy)
        .args(["--rate", "32", "--concurrency", &LIVE_CALLS.to_string()])
        .args(["--progress", "none", "--out", out])
        .args(["--redis", redis, "--campaign", campaign])
        .args(extra)
        .current_dir(dir)
        .env_remove("NIXFLEX_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Starts `n` processes writing `results-<i>.jsonl`.
fn fleet(
    dir: &Path,
    sim: &SimHandle,
    redis: &RedisServer,
    campaign: &str,
    n: usize,
    extra: &[&str],
) -> Vec<Child> {
    (0..n)
        .map(|i| {
            process(
                dir,
                sim,
                &redis.url(),
                campaign,
                &format!("results-{i}.jsonl"),
                extra,
            )
            .spawn()
            .expect("the redial binary starts")
        })
        .collect()
}

/// How often the test looks at a process or a condition.
const POLL: Duration = Duration::from_millis(50);

/// Polls of `POLL` that fit in `limit` (the test counts them: it reads no clock).
fn polls(limit: Duration) -> u128 {
    limit.as_millis() / POLL.as_millis()
}

/// Waits for a process, killing it past [`PROCESS_LIMIT`].
fn finish(mut child: Child) -> Output {
    for _ in 0..polls(PROCESS_LIMIT) {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(POLL);
    }
    if child.try_wait().expect("try_wait").is_none() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("the process output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lines of a results file (a `.partial` one may end in a torn line: it is skipped).
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Outcomes by contact line across `files`.
fn by_line(files: &[Vec<Value>]) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for r in files.iter().flatten() {
        *seen.entry(r["line"].as_u64().unwrap()).or_insert(0) += 1;
    }
    seen
}

/// Waits for every process of a fleet and asserts each succeeded.
fn finish_all(children: Vec<Child>) {
    for (i, o) in children.into_iter().map(finish).enumerate() {
        assert!(o.status.success(), "process {i}: {}", stderr(&o));
    }
}

/// The results files of a fleet of `processes`, asserting that together they hold each of
/// the `n` contacts exactly once: nothing lost, nothing doubled.
fn results_exactly_once(dir: &Path, processes: usize, n: usize) -> Vec<Vec<Value>> {
    let files: Vec<Vec<Value>> = (0..processes)
        .map(|i| lines(&dir.join(format!("results-{i}.jsonl"))))
        .collect();
    let seen = by_line(&files);
    assert_eq!(seen.len(), n, "every contact has an outcome (nothing lost)");
    assert!(
        seen.values().all(|&c| c == 1),
        "each exactly once (nothing doubled): {seen:?}"
    );
    files
}

/// `redis-cli -p PORT args...` (its raw output).
fn redis_cli(redis: &RedisServer, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &redis.port().to_string(), "--raw"])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `cond` holds (polling), at most `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..polls(limit) {
        if cond() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    cond()
}

/// Asserts the simulator saw nobody dialled twice, live calls within the limit and few 429s.
fn assert_account_ok(sim: &SimHandle) {
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "nobody dialled twice: {stats:?}");
    assert!(
        stats.duplicate_numbers.is_empty(),
        "{:?}",
        stats.duplicate_numbers
    );
    assert!(
        stats.max_live_calls <= u64::from(LIVE_CALLS),
        "live calls {} over the limit",
        stats.max_live_calls
    );
    let requests: u64 = stats.requests.values().flat_map(|m| m.values()).sum();
    let throttled = stats
        .rate_limited
        .get("rate_limit_exceeded")
        .copied()
        .unwrap_or(0);
    let share = throttled as f64 / requests.max(1) as f64;
    assert!(
        share < 0.02,
        "429 share {share:.3} ({throttled} of {requests})"
    );
}

#[test]
fn three_processes_share_the_limits_and_the_list() {
    let _machine = one_at_a_time();
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sim = common::sim(scenario());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 90;
    contacts(d, n);
    finish_all(fleet(d, &sim, &redis, "share", 3, &[]));
    let files = results_exactly_once(d, 3, n);
    for (i, f) in files.iter().enumerate() {
        assert!(f.len() >= n / 10, "process {i} did a share: {}", f.len());
        assert!(f.iter().all(|r| r["status"] == "completed"), "{f:?}");
    }
    assert_eq!(sim.stats().calls_created, n as u64);
    assert_account_ok(&sim);
}

#[test]
fn a_killed_process_contacts_are_finished_by_the_others_and_its_slots_return() {
    let _machine = one_at_a_time();
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sim = common::sim(scenario());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 90;
    contacts(d, n);
    let honoured = ["--idempotency", "honoured"];
    let mut children = fleet(d, &sim, &redis, "kill", 3, &honoured);
    // Mid-campaign: the victim holds contacts and live calls.
    assert!(
        wait_for(Duration::from_secs(20), || sim.stats().calls_created >= 20),
        "the campaign got going"
    );
    let mut victim = children.remove(0);
    let pid = victim.id();
    victim.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
    let _ = victim.wait();
    // Its slot leases (members "<pid>-...") are not renewed: expired within the lease (3 s).
    let prefix = format!("{pid}-");
    let expired = wait_for(Duration::from_secs(8), || {
        let time = redis_cli(&redis, &["TIME"]);
        let mut t = time.lines();
        let now_ms = t.next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) * 1000
            + t.next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) / 1000;
        let leases = redis_cli(
            &redis,
            &["ZRANGE", "redial:{kill}:slots", "0", "-1", "WITHSCORES"],
        );
        let l: Vec<&str> = leases.lines().collect();
        l.chunks(2).all(|m| {
            !m[0].starts_with(&prefix)
                || m.get(1).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0) < now_ms as f64
        })
    });
    assert!(
        expired,
        "the killed process's slot leases lapse within the lease"
    );
    let outputs: Vec<Output> = children.into_iter().map(finish).collect();
    for (i, o) in outputs.iter().enumerate() {
        assert!(o.status.success(), "survivor {i}: {}", stderr(o));
    }
    // The survivors' results, and what of the victim's reached its partial file: nobody twice.
    let survivors: Vec<Vec<Value>> = (1..3)
        .map(|i| lines(&d.join(format!("results-{i}.jsonl"))))
        .collect();
    let victim_partial = lines(&d.join("results-0.jsonl.partial"));
    let seen = by_line(&survivors);
    assert!(seen.values().all(|&c| c == 1), "{seen:?}");
    for r in &victim_partial {
        let line = r["line"].as_u64().unwrap();
        assert!(
            !seen.contains_key(&line),
            "line {line} done by the victim and a survivor"
        );
    }
    assert_account_ok(&sim);
    let created = sim.stats().calls_created;
    assert!(created <= n as u64, "{created} calls for {n} contacts");
    // Every contact's outcome is in the journal: a rerun (the campaign's next run) writes each
    // exactly once from it, and dials nobody.
    let rerun = process(d, &sim, &redis.url(), "kill", "rerun.jsonl", &honoured)
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let all = lines(&d.join("rerun.jsonl"));
    let seen = by_line(std::slice::from_ref(&all));
    assert_eq!(
        seen.len(),
        n,
        "the fleet finished every contact, the victim's too"
    );
    assert!(seen.values().all(|&c| c == 1));
    assert!(all.iter().all(|r| r["status"] == "completed"), "{all:?}");
    assert_eq!(
        sim.stats().calls_created,
        created,
        "the rerun dialled nobody"
    );
}

#[test]
fn redis_restarted_without_persistence_stops_the_fleet_instead_of_redialling() {
    let _machine = one_at_a_time();
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let sim = common::sim(scenario());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    contacts(d, 90);
    let children = fleet(d, &sim, &redis, "amnesia", 3, &[]);
    assert!(wait_for(Duration::from_secs(20), || sim
        .stats()
        .calls_created
        >= 15));
    redis.restart(); // empty: the list, the journal and the marker are gone
    let outputs: Vec<Output> = children.into_iter().map(finish).collect();
    for (i, o) in outputs.iter().enumerate() {
        let e = stderr(o);
        assert_eq!(o.status.code(), Some(1), "process {i} stops: {e}");
        assert!(e.contains("state in Redis is lost"), "process {i}: {e}");
    }
    let created = sim.stats().calls_created;
    assert!(created < 90, "stopped before the end: {created}");
    assert_account_ok(&sim);
    // A rerun is refused too (the tombstone), and dials nobody.
    let rerun = process(d, &sim, &redis.url(), "amnesia", "rerun.jsonl", &[])
        .output()
        .unwrap();
    assert_eq!(rerun.status.code(), Some(1), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("state in Redis is lost"),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(sim.stats().calls_created, created);
}

#[test]
fn redis_restarted_with_persistence_loses_and_doubles_nothing() {
    let _machine = one_at_a_time();
    let Some(mut redis) = RedisServer::start_persistent() else {
        return;
    };
    let sim = common::sim(scenario());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 60;
    contacts(d, n);
    // No process dies here: a claim timeout longer than the restart (on a loaded machine)
    // keeps every contact with the process that holds it.
    std::fs::write(
        d.join("fleet.toml"),
        POLICY.replace(r#"claim_timeout = "5s""#, r#"claim_timeout = "30s""#),
    )
    .unwrap();
    let children = fleet(d, &sim, &redis, "durable", 3, &[]);
    assert!(wait_for(Duration::from_secs(20), || sim
        .stats()
        .calls_created
        >= 15));
    redis.restart(); // with its AOF (appendfsync always): every acknowledged write is back
    finish_all(children);
    results_exactly_once(d, 3, n);
    assert_eq!(sim.stats().calls_created, n as u64);
    assert_account_ok(&sim);
}
