//! docs/errors.md and `Policy::default()` stay in step: every documented type and code has a
//! catalogue row whose action, side-effect rule and attempts match what the policy does.

use std::path::Path;

use redial_policy::Policy;

fn catalogue_rows() -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let text = std::fs::read_to_string(&path).expect("docs/errors.md exists");
    text.lines()
        .filter(|l| l.starts_with("| type ") || l.starts_with("| code "))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn errors_md_matches_the_default_policy() {
    let rows = catalogue_rows();
    let explained = Policy::default().explain();
    assert_eq!(
        rows.len(),
        explained.len(),
        "docs/errors.md has {} catalogue rows, the policy {}",
        rows.len(),
        explained.len()
    );
    for (row, e) in rows.iter().zip(&explained) {
        let want = [
            e.kind,
            &e.name,
            &e.action,
            e.side_effect,
            &e.max_attempts.to_string(),
        ];
        assert_eq!(
            &row[..5],
            &want,
            "docs/errors.md row for {} {}",
            e.kind,
            e.name
        );
        assert!(
            row.len() >= 6 && !row[5].is_empty(),
            "row for {} gives a reason",
            e.name
        );
    }
}
