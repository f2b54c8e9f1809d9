//! Ctrl-C (SIGINT) during a campaign: no new contacts, the calls in flight finish, every
//! contact still gets exactly one result line, and the exit status is 130.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{AGENT, KEY, contacts, results, sim};

/// Review finding: SIGINT killed the process on the spot, with an empty results file.
#[test]
fn an_interrupted_campaign_reports_every_contact_once_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::fast_scenario();
    s.calls.duration_min = Duration::from_millis(300);
    s.calls.duration_max = Duration::from_millis(500);
    let sim = sim(s);
    let file = contacts(dir.path(), 60, &[]);
    let out = dir.path().join("r.jsonl");
    let journal = dir.path().join("j.jsonl");
    let args = common::campaign_args(
        dir.path(),
        &sim,
        &file,
        (AGENT, KEY),
        None,
        &[
            "--concurrency",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    let mut child = common::spawn_until_finished(dir.path(), &args, &journal, 4);
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let r = results(&out);
    assert_eq!(r.len(), 60, "every contact exactly once");
    let interrupted = r
        .iter()
        .filter(|l| l["error"]["code"] == "interrupted")
        .count();
    assert!(
        interrupted > 0,
        "contacts not dialled are reported interrupted"
    );
    assert!(r.iter().filter(|l| l["status"] == "completed").count() >= 4);
    assert!(sim.stats().calls_created < 60);
    assert_eq!(sim.stats().duplicate_dials, 0);
}
