//! Malformed contacts rows become `failed`/`invalid_input` results with their line numbers,
//! never a crash and never a silent drop; a file that cannot be used at all exits 2.

mod common;

use std::io::Write;

use common::{campaign, results, sim, stderr};

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
