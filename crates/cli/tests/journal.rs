//! The journal: a rerun after a crash never dials a finished contact again, resends an
//! unfinished create under the same idempotency key (or reports it `ambiguous` when keys are
//! not honoured), and leaves an out file with every contact exactly once.

mod common;

use std::path::Path;

use common::{AGENT, campaign, contacts, number, result_of, results, sim, stderr};
use serde_json::{Value, json};

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_records(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_rerun_resends_unfinished_creates_under_the_same_key_and_skips_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 8, &[]);
    let out = dir.path().join("r.jsonl");
    let journal = dir.path().join("j.jsonl");
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--idempotency",
        "honoured",
    ];
    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(sim.stats().calls_created, 8);

    // As if the process died after sending the creates of two contacts but before their
    // results were written: drop their `finished` records, keep their `started` ones. One of
    // them had its answer (`placed`: the rerun follows that call); the other had not (the
    // rerun resends its create under the same key, and the server replays the call).
    let lost = [number(2), number(5)];
    let unanswered = number(5);
    let kept: Vec<Value> = records(&journal)
        .into_iter()
        .filter(|r| {
            let finished =
                r["kind"] == "finished" && lost.iter().any(|p| r["result"]["phone"] == *p.as_str());
            let placed = r["kind"] == "placed" && r["contact"] == *unanswered.as_str();
            !(finished || placed)
        })
        .collect();
    write_records(&journal, &kept);
    std::fs::write(&out, "garbage from the crashed run\n").unwrap();
    let replays_before = sim.stats().idempotent_replays;

    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 8, "no contact was created twice");
    assert_eq!(stats.duplicate_dials, 0);
    assert_eq!(
        stats.idempotent_replays - replays_before,
        1,
        "the unanswered create was resent with its key; the placed call was followed"
    );
    let r = results(&out);
    assert_eq!(r.len(), 8, "every contact exactly once: {r:?}");
    for i in 0..8 {
        assert_eq!(result_of(&r, &number(i))["status"], "completed");
    }
    // A third run dials nobody and re-emits everything.
    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        sim.stats().total_requests(),
        stats.total_requests(),
        "nothing was sent"
    );
    assert_eq!(results(&out).len(), 8);
}

/// Keys ignored: a contact an earlier run left `started` is reconciled through the call list
/// before anything is sent — here the list shows no call to it, so it is dialled, once.
#[test]
fn with_keys_ignored_an_unfinished_contact_is_reconciled_before_it_is_redialled() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 3, &[]);
    let out = dir.path().join("r.jsonl");
    let journal = dir.path().join("j.jsonl");
    let finished = json!({"line": 3, "phone": number(1), "status": "completed", "call_id": "call_0123456789abcdef",
        "call_status": "no_answer", "attempts": 1, "error": null});
    write_records(
        &journal,
        &[
            json!({"kind": "header", "version": 1, "campaign_id": "0d9f4b4e-2c3a-4f7e-9a51-6a1b2c3d4e5f", "agent": AGENT, "contacts": "contacts.csv", "created_at": 0}),
            json!({"kind": "started", "line": 2, "phone": number(0), "key": "k-line-2"}),
            json!({"kind": "started", "line": 3, "phone": number(1), "key": "k-line-3"}),
            json!({"kind": "finished", "result": finished}),
        ],
    );
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &[
            "--out",
            out.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 3);
    let unfinished = result_of(&r, &number(0));
    assert_eq!(unfinished["status"], "completed", "{unfinished}");
    assert_eq!(
        result_of(&r, &number(1)),
        &finished,
        "the finished result is re-emitted as recorded"
    );
    assert_eq!(result_of(&r, &number(2))["status"], "completed");
    let stats = sim.stats();
    assert_eq!(
        stats.calls_created, 2,
        "the reconciled contact and the one never started"
    );
    assert_eq!(stats.duplicate_dials, 0);
    assert!(stats.list_requests() >= 1, "the server was asked first");
}

#[test]
fn a_kill_9_mid_campaign_loses_nothing_and_dials_nobody_twice() {
    let dir = tempfile::tempdir().unwrap();
    let common::JournaledRun {
        sim,
        out,
        journal,
        args,
    } = common::journaled_run(dir.path(), 40, &["--idempotency", "honoured"]);
    // Kill once a few contacts have finished (the journal says so), while others are live.
    let mut child = common::spawn_until_finished(dir.path(), &args, &journal, 8);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = common::finished_in_journal(&journal);
    assert!(before < 40, "killed mid-campaign");

    let o = common::redial(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 40, "every contact exactly once");
    for i in 0..40 {
        assert_eq!(result_of(&r, &number(i))["status"], "completed");
    }
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 40, "{stats:?}");
    assert_eq!(stats.duplicate_dials, 0);
}

/// Review finding: contacts were known by (line, phone), so inserting a row at the top of the
/// file between runs gave every contact a new key and dialled them all again.
#[test]
fn editing_the_contacts_file_between_runs_dials_nobody_twice() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 3, &[]);
    let out = dir.path().join("r.jsonl");
    let journal = dir.path().join("j.jsonl");
    let flags = [
        "--out",
        out.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ];
    let o = campaign(dir.path(), &sim, &file, &flags);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(sim.stats().calls_created, 3);
    // A new contact goes in at the top: every original row moves down a line.
    let text = std::fs::read_to_string(&file).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    std::fs::write(&file, format!("{header}\n+447446466999,new\n{rows}")).unwrap();
    let o = campaign(dir.path(), &sim, &file, &flags);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 4, "only the new contact was dialled");
    assert_eq!(stats.duplicate_dials, 0);
    let r = results(&out);
    assert_eq!(r.len(), 4, "every contact exactly once");
}
