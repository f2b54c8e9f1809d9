//! Malformed contacts rows become `failed`/`invalid_input` results with their line numbers,
//! never a crash and never a silent drop; a file that cannot be used at all exits 2.

mod common;

use std::io::Write;

use common::{campaign, contacts, results, sim, stderr};

#[test]
fn malformed_rows_are_failed_invalid_input_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let path = dir.path().join("c.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"phone,name,city\n+442079460101,Ada,London\n0207 946 0102,Bob,London\n+442079460103,Cy\n+4420794601\xff4,Di,Leeds\n+442079460105,Ed,York\n").unwrap();
    drop(f);
    let out = dir.path().join("r.jsonl");
    let o = campaign(dir.path(), &sim, &path, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 5, "every row appears: {r:?}");
    let by_line = |n: u64| {
        r.iter()
            .find(|l| l["line"] == n)
            .unwrap_or_else(|| panic!("line {n} in {r:?}"))
    };
    for bad in [3, 4, 5] {
        let l = by_line(bad);
        assert_eq!(l["status"], "failed", "{l}");
        assert_eq!(l["error"]["code"], "invalid_input", "{l}");
        assert!(
            l["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("line {bad}")),
            "{l}"
        );
        assert!(
            stderr(&o).contains(&format!("line {bad}:")),
            "stderr names line {bad}: {}",
            stderr(&o)
        );
    }
    assert_eq!(by_line(2)["status"], "completed");
    assert_eq!(by_line(6)["status"], "completed");
    assert_eq!(
        sim.stats().calls_created,
        2,
        "malformed rows are never dialled"
    );
}

#[test]
fn an_unusable_contacts_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let missing = dir.path().join("missing.csv");
    let o = campaign(dir.path(), &sim, &missing, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.csv"), "{}", stderr(&o));
    let no_phone = dir.path().join("nophone.csv");
    std::fs::write(&no_phone, "name,number\nAda,+442079460101\n").unwrap();
    let o = campaign(dir.path(), &sim, &no_phone, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("phone"), "{}", stderr(&o));
}

#[test]
fn a_stray_quote_fails_its_own_line_and_the_rest_is_dialled() {
    // Defect: an unclosed quote on line 3 ran to the end of the file: line 3 was dialled with
    // lines 4+ in its metadata and lines 4+ silently vanished from the results.
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        "phone,name\n+447446466801,a\n+447446466802,\"bob\n+447446466803,c\n+447446466804,d\n",
    )
    .unwrap();
    let out = dir.path().join("r.jsonl");
    let o = campaign(dir.path(), &sim, &path, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 4, "every line appears once: {r:?}");
    let stray = r.iter().find(|l| l["line"] == 3).expect("line 3");
    assert_eq!(stray["status"], "failed", "{stray}");
    assert_eq!(stray["error"]["code"], "invalid_input", "{stray}");
    assert!(
        stray["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not closed"),
        "{stray}"
    );
    for (line, phone) in [
        (2, "+447446466801"),
        (4, "+447446466803"),
        (5, "+447446466804"),
    ] {
        let l = r.iter().find(|l| l["line"] == line).expect("a result");
        assert_eq!(
            (l["phone"].as_str(), &l["status"]),
            (Some(phone), &"completed".into())
        );
    }
    assert_eq!(sim.stats().calls_created, 3);
}

#[test]
fn out_naming_the_contacts_file_exits_2_and_leaves_it_alone() {
    // Defect: `--out` was only used at the end, when the results were renamed over the
    // contacts file after every contact had been dialled.
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 2, &[]);
    let before = std::fs::read(&file).unwrap();
    let o = campaign(dir.path(), &sim, &file, &["--out", "./contacts.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out") && stderr(&o).contains("--contacts"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(sim.stats().calls_created, 0);
    let o = campaign(dir.path(), &sim, &file, &["--out", "missing/r.jsonl"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out missing/r.jsonl"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sim.stats().calls_created, 0, "refused before dialling");
}
