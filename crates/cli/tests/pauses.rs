//! `redial campaign` against an account whose quota answers "come back in an hour": the
//! campaign stops at once with exit status 3, the contacts left `halted` with `retry_at`, and
//! the summary says when to rerun. And `--support-out`.

mod common;

use std::time::Duration;

use common::{AGENT, KEY, campaign, campaign_args, contacts, redial, results, sim, stderr};

#[test]
fn a_quota_longer_than_max_pause_stops_the_campaign_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::fast_scenario();
    s.quota.calls = 5;
    s.quota.window = Duration::from_secs(3600);
    let sim = sim(s);
    let file = contacts(dir.path(), 20, &[]);
    let out = dir.path().join("r.jsonl");
    let journal = dir.path().join("j.jsonl");
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &[
            "--out",
            out.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
            "--max-pause",
            "30m",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rerun with the same journal after"),
        "{}",
        stderr(&o)
    );
    let r = results(&out);
    assert_eq!(r.len(), 20);
    assert_eq!(r.iter().filter(|l| l["status"] == "failed").count(), 0);
    let halted: Vec<_> = r.iter().filter(|l| l["status"] == "halted").collect();
    assert!(halted.len() >= 10, "{r:#?}");
    for l in halted {
        assert_eq!(l["error"]["code"], "rate_limit_exceeded", "{l}");
        assert!(
            l["error"]["retry_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{l}"
        );
    }
    // The simulator checks its quota when a request arrives and counts it when the call is
    // placed, so creates already admitted may overshoot it a little; none is sent after the
    // first refusal.
    let created = sim.stats().calls_created;
    assert!((5..=10).contains(&created), "{created} calls placed");
}

#[test]
fn support_reports_go_to_the_results_and_to_support_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::fast_scenario();
    s.faults.server_error = 1.0;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s);
    let file = contacts(dir.path(), 3, &[]);
    let out = dir.path().join("r.jsonl");
    let support = dir.path().join("support.jsonl");
    // Two attempts per create, so the failures end quickly on the real clock.
    let config = common::fast_config(dir.path());
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("[retry]\n", "[retry]\nmax_attempts = 2\n"),
    )
    .unwrap();
    let args = campaign_args(
        dir.path(),
        &sim,
        &file,
        (AGENT, KEY),
        Some(&config),
        &[
            "--out",
            out.to_str().unwrap(),
            "--support-out",
            support.to_str().unwrap(),
        ],
    );
    let o = redial(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("support reports"), "{}", stderr(&o));
    let r = results(&out);
    assert!(
        r.iter()
            .all(|l| l["error"]["support"]["operation"] == "POST /v1/calls"),
        "{r:#?}"
    );
    let reports = results(&support);
    assert_eq!(reports.len(), 3);
    for report in reports {
        assert_eq!(report["error"]["type"], "server_error");
        assert!(report["timestamp"].as_str().is_some());
    }
    // --support-out may not be one of the campaign's files.
    let o = campaign(
        dir.path(),
        &sim,
        &file,
        &["--support-out", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--support-out"), "{}", stderr(&o));
}
