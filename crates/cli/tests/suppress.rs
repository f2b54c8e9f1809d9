//! The suppress list: listed numbers are never dialled and reported `opted_out`; opt-outs
//! met during the campaign are appended so the next campaign skips them.

mod common;

use common::{campaign, contacts, number, result_of, results, sim, stderr};

#[test]
fn suppressed_numbers_are_skipped_and_new_opt_outs_appended() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let suppress = dir.path().join("suppress.txt");
    std::fs::write(
        &suppress,
        format!("# consent list\n{}  # asked by phone\n", number(1)),
    )
    .unwrap();
    let file = contacts(dir.path(), 3, &["+14155559999,stop"]);
    let out = dir.path().join("r.jsonl");
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--suppress",
        suppress.to_str().unwrap(),
    ];
    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 4);
    let listed = result_of(&r, &number(1));
    assert_eq!(listed["status"], "opted_out");
    assert_eq!(listed["error"]["code"], "suppressed");
    assert_eq!(listed["attempts"], 0);
    assert_eq!(
        result_of(&r, "+14155559999")["error"]["code"],
        "recipient_unsubscribed"
    );
    let text = std::fs::read_to_string(&suppress).unwrap();
    assert!(
        text.lines().any(|l| l == "+14155559999"),
        "the opt-out was appended: {text}"
    );
    assert_eq!(sim.stats().calls_created, 2);
    let to_stop = sim.stats().requests_with("POST /v1/calls", "400");

    // The next campaign does not even ask the server about the opted-out number.
    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        result_of(&results(&out), "+14155559999")["error"]["code"],
        "suppressed"
    );
    assert_eq!(
        sim.stats().requests_with("POST /v1/calls", "400"),
        to_stop,
        "no second request to an opted-out number"
    );
    assert_eq!(
        std::fs::read_to_string(&suppress)
            .unwrap()
            .matches("+14155559999")
            .count(),
        1
    );
}

#[test]
fn a_bad_suppress_entry_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let suppress = dir.path().join("suppress.txt");
    std::fs::write(&suppress, "+14155559999\n555-0100\n").unwrap();
    let file = contacts(dir.path(), 1, &[]);
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &["--suppress", suppress.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert_eq!(sim.stats().calls_created, 0);
}

#[test]
fn a_suppress_file_with_a_utf8_bom_is_honoured() {
    // Defect: a BOM glued to the first entry made it "not E.164", and the campaign exited 2.
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let suppress = dir.path().join("suppress.txt");
    std::fs::write(&suppress, format!("\u{feff}{}\r\n", number(0))).unwrap();
    let file = contacts(dir.path(), 2, &[]);
    let out = dir.path().join("r.jsonl");
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--suppress",
        suppress.to_str().unwrap(),
    ];
    let o = campaign(dir.path(), &sim, &file, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(result_of(&r, &number(0))["error"]["code"], "suppressed");
    assert_eq!(result_of(&r, &number(1))["status"], "completed");
    assert_eq!(sim.stats().calls_created, 1);
}

#[test]
fn out_naming_the_suppress_file_exits_2_before_dialling() {
    // Defect: `--out` equal to `--suppress` was accepted; the results replaced the consent
    // list at the end of the campaign.
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let suppress = dir.path().join("suppress.txt");
    std::fs::write(&suppress, format!("{}\n", number(0))).unwrap();
    let file = contacts(dir.path(), 2, &[]);
    let path = suppress.to_str().unwrap();
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &["--suppress", path, "--out", path],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out") && stderr(&o).contains("--suppress"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&suppress).unwrap(),
        format!("{}\n", number(0))
    );
    assert_eq!(sim.stats().calls_created, 0);
}
