//! Shared helpers: a fast simulator on its own thread, a fast policy config, and a way to
//! run the real `redial` binary and read its results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use redial_sim::{Scenario, Sim, SimHandle};
use serde_json::Value;

/// The simulator's seeded key.
pub(crate) const KEY: &str = "demo_key:demo_secret";
/// The simulator's seeded agent.
pub(crate) const AGENT: &str = "agent_demo";

/// A scenario whose calls end within ~100 ms, with no limits and no faults.
pub(crate) fn fast_scenario() -> Scenario {
    let mut s = Scenario::default();
    s.calls.ringing_after = Duration::from_millis(10);
    s.calls.answered_after = Duration::from_millis(20);
    s.calls.duration_min = Duration::from_millis(10);
    s.calls.duration_max = Duration::from_millis(60);
    s
}

/// A simulator on its own thread and runtime (the binary runs in another process).
pub(crate) fn sim(scenario: Scenario) -> SimHandle {
    Sim::builder()
        .scenario(scenario)
        .start_background()
        .expect("simulator starts on 127.0.0.1")
}

/// A policy config for tests: fast polling and backoff, generous pacing, breaker off.
pub(crate) fn fast_config(dir: &Path) -> PathBuf {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        r#"
[retry]
attempt_timeout = "5s"
reconcile_settle = "100ms"

[backoff.retry]
base = "10ms"

[backoff.throttle]
base = "50ms"

[[pacing.buckets]]
name = "account"
routes = ["*"]
rate = 2000.0
burst = 200

[slots]
max_concurrent_calls = 20

[breaker]
enabled = false

[polling]
initial = "40ms"
max = "100ms"
multiplier = 1.5
"#,
    )
    .unwrap();
    path
}

/// Runs the binary with `args` in `dir`, without an inherited API key.
pub(crate) fn redial(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redial"))
        .args(args)
        .current_dir(dir)
        .env_remove("NIXFLEX_API_KEY")
        .output()
        .expect("the redial binary runs")
}

/// The flags of `redial campaign` against `sim` as `agent` with `key` and the fast config
/// (or `config`), without a progress display, plus `extra`.
pub(crate) fn campaign_args(
    dir: &Path,
    sim: &SimHandle,
    contacts: &Path,
    who: (&str, &str),
    config: Option<&Path>,
    extra: &[&str],
) -> Vec<String> {
    let config = config.map_or_else(|| fast_config(dir), Path::to_path_buf);
    let (agent, key) = who;
    let mut args: Vec<String> = [
        "campaign",
        "--contacts",
        contacts.to_str().unwrap(),
        "--agent",
        agent,
        "--api-url",
        &sim.base_url(),
        "--api-key",
        key,
        "--config",
        config.to_str().unwrap(),
        "--progress",
        "none",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

/// `redial campaign` against `sim` as the seeded agent and key, plus `extra` flags.
pub(crate) fn campaign(dir: &Path, sim: &SimHandle, contacts: &Path, extra: &[&str]) -> Output {
    campaign_as(dir, sim, contacts, (AGENT, KEY), extra)
}

/// `redial campaign` against `sim` as `who` = (agent, key), plus `extra` flags.
pub(crate) fn campaign_as(
    dir: &Path,
    sim: &SimHandle,
    contacts: &Path,
    who: (&str, &str),
    extra: &[&str],
) -> Output {
    let args = campaign_args(dir, sim, contacts, who, None, extra);
    redial(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The JSON lines of a results file.
pub(crate) fn results(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The result line of `phone`.
pub(crate) fn result_of<'a>(results: &'a [Value], phone: &str) -> &'a Value {
    let hits: Vec<&Value> = results.iter().filter(|r| r["phone"] == phone).collect();
    assert_eq!(hits.len(), 1, "{phone} appears exactly once: {results:?}");
    hits[0]
}

/// Writes a contacts file of `n` numbers `+4420799xxxxx` (plus `extra` raw lines).
pub(crate) fn contacts(dir: &Path, n: usize, extra: &[&str]) -> PathBuf {
    let path = dir.join("contacts.csv");
    let mut s = String::from("phone,name\n");
    for i in 0..n {
        s.push_str(&format!("{},c{i}\n", number(i)));
    }
    for line in extra {
        s.push_str(line);
        s.push('\n');
    }
    std::fs::write(&path, s).unwrap();
    path
}

/// The i-th generated number.
pub(crate) fn number(i: usize) -> String {
    format!("+4420799{i:05}")
}

/// Stderr as text (for assertion messages).
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Finished records in a journal so far.
pub(crate) fn finished_in_journal(journal: &Path) -> usize {
    std::fs::read_to_string(journal).map_or(0, |t| t.matches("\"kind\":\"finished\"").count())
}

/// Starts `redial` with `args` in `dir` and returns once the journal holds `finished`
/// finished records, with the campaign still running (it has more contacts than that).
pub(crate) fn spawn_until_finished(
    dir: &Path,
    args: &[String],
    journal: &Path,
    finished: usize,
) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redial"))
        .args(args)
        .current_dir(dir)
        .env_remove("NIXFLEX_API_KEY")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the redial binary runs");
    // Bounded wait for progress the campaign reports itself (the journal), not a guess at
    // how long it takes.
    let mut waited = Duration::ZERO;
    while finished_in_journal(journal) < finished {
        assert!(
            waited < Duration::from_secs(30),
            "the campaign makes progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the campaign is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    }
    child
}

/// A campaign slow enough to stop mid-way: calls of 300–600 ms, 4 at a time, results in
/// `r.jsonl` and a journal in `j.jsonl` under `dir`.
pub(crate) struct JournaledRun {
    /// The simulator it dials.
    pub(crate) sim: SimHandle,
    /// The results file.
    pub(crate) out: PathBuf,
    /// The journal.
    pub(crate) journal: PathBuf,
    /// The `redial` arguments.
    pub(crate) args: Vec<String>,
}

/// A [`JournaledRun`] of `n` generated contacts, plus `extra` flags.
pub(crate) fn journaled_run(dir: &Path, n: usize, extra: &[&str]) -> JournaledRun {
    let mut s = fast_scenario();
    s.calls.duration_min = Duration::from_millis(300);
    s.calls.duration_max = Duration::from_millis(600);
    let sim = sim(s);
    let file = contacts(dir, n, &[]);
    let out = dir.join("r.jsonl");
    let journal = dir.join("j.jsonl");
    let mut flags = vec![
        "--concurrency",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ];
    flags.extend_from_slice(extra);
    let args = campaign_args(dir, &sim, &file, (AGENT, KEY), None, &flags);
    JournaledRun {
        sim,
        out,
        journal,
        args,
    }
}

/// Starts `redial` with `args` in `dir` (no inherited API key, stdout discarded, stderr to
/// the file `log`, so a process nobody reads from never blocks on a full pipe) and returns
/// at once.
pub(crate) fn spawn_redial(dir: &Path, args: &[String], log: &Path) -> std::process::Child {
    let log = std::fs::File::create(log).expect("create the stderr log");
    Command::new(env!("CARGO_BIN_EXE_redial"))
        .args(args)
        .current_dir(dir)
        .env_remove("NIXFLEX_API_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the redial binary runs")
}

/// The file a results file `out` is written as until its campaign ends (`<out>.partial`).
pub(crate) fn partial_of(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}
