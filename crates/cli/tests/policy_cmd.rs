//! `redial policy explain` and `redial policy check`.

mod common;

use common::{redial, stderr};

#[test]
fn explain_lists_every_documented_type_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let o = redial(dir.path(), &["policy", "explain"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 29, "8 types + 21 codes:\n{text}");
    assert_eq!(rows.iter().filter(|r| r.starts_with("type ")).count(), 8);
    let row = |name: &str| {
        *rows
            .iter()
            .find(|r| r.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(row("invalid_api_key").contains("halt(account)"));
    assert!(row("agent_no_phone").contains("halt(agent)"));
    assert!(row("recipient_unsubscribed").contains("opted_out"));
    assert!(row("rate_limit_exceeded").contains("throttle"));
    assert!(row("concurrent_call_limit").contains("wait_slot"));
}

#[test]
fn explain_follows_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        "[codes.server_error]\nmax_attempts = 7\n[types.server_error]\nmax_attempts = 7\n",
    )
    .unwrap();
    let o = redial(
        dir.path(),
        &["policy", "explain", "--config", path.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("type") && l.contains("server_error"))
        .unwrap();
    assert!(row.split_whitespace().any(|c| c == "7"), "{row}");
}

#[test]
fn check_accepts_a_good_file_and_names_the_problems_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[retry]\nmax_attempts = 4\ndeadline = \"90s\"\n").unwrap();
    let o = redial(dir.path(), &["policy", "check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap().trim(), "ok");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[codes.recipient_unsubscribed]\naction = \"retry\"\n").unwrap();
    let o = redial(dir.path(), &["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("recipient_unsubscribed"),
        "{}",
        stderr(&o)
    );

    let o = redial(
        dir.path(),
        &[
            "policy",
            "check",
            dir.path().join("none.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("none.toml"), "{}", stderr(&o));
}
