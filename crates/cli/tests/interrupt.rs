//! Ctrl-C (SIGINT) during a campaign: no new contacts, the calls in flight finish, every
//! contact still gets exactly one result line, and the exit status is 130.

mod common;

use std::process::Command;

use common::results;

/// Review finding: SIGINT killed the process on the spot, with an empty results file.
#[test]
fn an_interrupted_campaign_reports_every_contact_once_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let common::JournaledRun {
        sim,
        out,
        journal,
        args,
    } = common::journaled_run(dir.path(), 60, &[]);
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
