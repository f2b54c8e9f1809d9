//! Exit statuses: 0 when the campaign ran to the end, 2 for bad usage or config (with a
//! message naming the problem), 3 when an account- or agent-scope halt stopped it.

mod common;

use common::{AGENT, campaign, campaign_args, campaign_as, contacts, redial, results, sim, stderr};

#[test]
fn a_rejected_key_halts_the_account_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 20, &[]);
    let out = dir.path().join("r.jsonl");
    let o = campaign_as(
        dir.path(),
        &sim,
        &file,
        (AGENT, "demo_key:wrong"),
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 20, "every contact is reported, halted ones too");
    assert!(
        r.iter()
            .all(|l| l["status"] == "halted" && l["error"]["scope"] == "account"),
        "{r:?}"
    );
    assert!(r.iter().any(|l| l["error"]["code"] == "invalid_api_key"));
    assert!(sim.stats().requests_with("POST /v1/calls", "401") <= 20);
    assert_eq!(sim.stats().calls_created, 0);
}

#[test]
fn an_unknown_agent_halts_the_agent_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 10, &[]);
    let out = dir.path().join("r.jsonl");
    let o = campaign_as(
        dir.path(),
        &sim,
        &file,
        ("agent_nope", common::KEY),
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r.len(), 10);
    assert!(
        r.iter()
            .all(|l| l["status"] == "halted" && l["error"]["scope"] == "agent"),
        "{r:?}"
    );
}

#[test]
fn a_campaign_with_failed_contacts_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 2, &["+15005550001,rejected", "nonsense,x"]);
    let o = campaign(dir.path(), &sim, &file, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        results(&dir.path().join("results.jsonl")).len(),
        4,
        "default --out is results.jsonl in the working directory"
    );
}

#[test]
fn bad_usage_and_config_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 1, &[]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--rate", "0"], "--rate"),
        (vec!["--concurrency", "0"], "--concurrency"),
        (vec!["--idempotency", "sometimes"], "--idempotency"),
        (vec!["--frobnicate"], "--frobnicate"),
        (vec!["--metrics-addr", "not an address"], "--metrics-addr"),
        (vec!["--from", "12345"], "--from"),
    ];
    for (extra, named) in cases {
        let o = campaign(dir.path(), &sim, &file, &extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(named),
            "{extra:?} names {named}: {}",
            stderr(&o)
        );
    }
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[retry]\nmax_atempts = 3\n").unwrap();
    let args = campaign_args(
        dir.path(),
        &sim,
        &file,
        (AGENT, common::KEY),
        Some(&bad_config),
        &[],
    );
    let o = redial(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("max_atempts"), "{}", stderr(&o));
    let url = sim.base_url();
    let o = redial(
        dir.path(),
        &[
            "campaign",
            "--contacts",
            file.to_str().unwrap(),
            "--agent",
            AGENT,
            "--api-url",
            &url,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "a remote API needs a key");
    assert!(stderr(&o).contains("NIXFLEX_API_KEY"), "{}", stderr(&o));
    assert_eq!(
        redial(dir.path(), &["no-such-command"]).status.code(),
        Some(2)
    );
    assert_eq!(sim.stats().calls_created, 0, "nothing was dialled");
}

#[test]
fn the_key_may_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(common::fast_scenario());
    let file = contacts(dir.path(), 2, &[]);
    let config = common::fast_config(dir.path());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_redial"))
        .args([
            "campaign",
            "--contacts",
            file.to_str().unwrap(),
            "--agent",
            AGENT,
            "--api-url",
            &sim.base_url(),
            "--config",
            config.to_str().unwrap(),
            "--progress",
            "none",
        ])
        .current_dir(dir.path())
        .env("NIXFLEX_API_KEY", common::KEY)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(sim.stats().calls_created, 2);
}
