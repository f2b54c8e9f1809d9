//! `redial campaign` end to end against a simulator: every contact exactly once with the
//! right status, statuses of calls, metadata, and the limits the runtime keeps.

mod common;

use common::{campaign, contacts, number, result_of, results, sim, stderr};

#[test]
fn every_contact_appears_exactly_once_with_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(
        dir.path(),
        40,
        &[
            "+14155559999,stop",
            "+15005550001,twilio",
            "+19005550000,premium",
        ],
    );
    let out = dir.path().join("r.jsonl");
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &["--out", out.to_str().unwrap(), "--concurrency", "5"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 43);
    for i in 0..40 {
        let line = result_of(&r, &number(i));
        assert_eq!(line["status"], "completed", "{line}");
        assert!(line["call_id"].as_str().unwrap().starts_with("call_"));
        assert!(
            ["completed", "busy", "no_answer", "failed"]
                .contains(&line["call_status"].as_str().unwrap()),
            "{line}"
        );
        assert!(line["error"].is_null());
    }
    assert_eq!(result_of(&r, "+14155559999")["status"], "opted_out");
    let twilio = result_of(&r, "+15005550001");
    assert_eq!(twilio["status"], "failed");
    assert_eq!(twilio["error"]["code"], "outbound_failed");
    assert_eq!(result_of(&r, "+19005550000")["status"], "failed");
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 40);
    assert_eq!(stats.duplicate_dials, 0);
    assert!(
        stats.max_live_calls <= 5,
        "--concurrency 5 holds live calls to 5: {}",
        stats.max_live_calls
    );
    assert!(stderr(&o).contains("campaign summary"), "{}", stderr(&o));
}

#[test]
fn a_number_listed_twice_is_dialled_once() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let first = number(0);
    let file = contacts(dir.path(), 3, &[&format!("{first},again")]);
    let out = dir.path().join("r.jsonl");
    let o = campaign(dir.path(), &sim, &file, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 4);
    let dup: Vec<_> = r
        .iter()
        .filter(|l| l["error"]["code"] == "duplicate_contact")
        .collect();
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0]["line"], 5);
    assert_eq!(sim.stats().calls_created, 3);
    assert_eq!(sim.stats().duplicate_dials, 0);
}

#[test]
fn results_can_go_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 3, &[]);
    let o = campaign(dir.path(), &sim, &file, &["--out", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["status"] == "completed"));
}

/// Keys ignored and half the creates answered by a reset after the call was placed: every
/// such create is reconciled through the call list (adopted), none is sent twice, none is
/// left ambiguous.
#[test]
fn ambiguous_creates_are_reconciled_not_redialled_when_keys_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::fast_scenario();
    s.idempotency.honoured = false;
    s.faults.reset_after = 0.5;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s);
    let file = contacts(dir.path(), 30, &[]);
    let out = dir.path().join("r.jsonl");
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &["--out", out.to_str().unwrap(), "--idempotency", "ignored"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 30);
    let completed = r.iter().filter(|l| l["status"] == "completed").count();
    assert_eq!(
        completed, 30,
        "every ambiguous create was found in the list"
    );
    let stats = sim.stats();
    assert!(
        stats.faults.values().sum::<u64>() > 0,
        "resets after the create happened"
    );
    assert_eq!(
        stats.duplicate_dials, 0,
        "an ambiguous create is never sent again"
    );
    assert_eq!(
        stats.calls_created, 30,
        "every contact was created exactly once, reset or not"
    );
}
