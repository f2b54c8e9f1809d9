//! The `realistic` preset and calls at real time scales, on tokio's paused clock: calls that
//! ring for seconds and talk for minutes, with a long-tailed talk time.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use redial_sim::{FaultConfig, LimitsConfig, QuotaConfig, Scenario, SimError, TalkTime};
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn the_realistic_file_is_the_preset_and_every_preset_validates() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/realistic.toml");
    let file = Scenario::from_file(&p).unwrap();
    let preset = Scenario::realistic();
    assert_eq!(file.seed, preset.seed);
    assert_eq!(file.limits, preset.limits);
    assert_eq!(file.calls, preset.calls);
    assert_eq!(file.faults, preset.faults);
    assert_eq!(file.quota, preset.quota);
    assert_eq!(file.account, preset.account);
    assert_eq!(file.idempotency.honoured, preset.idempotency.honoured);
    for name in Scenario::PRESET_NAMES {
        let s = Scenario::preset(name).unwrap_or_else(|| panic!("preset {name}"));
        s.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(Scenario::preset("realistic").is_some());
    assert!(Scenario::preset("nope").is_none());
    assert_eq!(preset.limits.requests_per_second, 20.0);
    assert_eq!(preset.limits.max_concurrent_calls, 50);
    assert!(preset.quota.calls > 0 && preset.quota.window >= Duration::from_secs(3600));
    assert!(preset.faults.outages.iter().all(|o| o.acted > 0.0));
}

#[test]
fn the_duration_keys_parse_and_validate() {
    let s = Scenario::from_toml_str(
        "[calls]\nduration = { kind = \"uniform\", min = \"1s\", max = \"3s\" }\n",
    )
    .unwrap();
    assert_eq!(
        s.calls.duration,
        Some(TalkTime::Uniform {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3)
        })
    );
    let s = Scenario::from_toml_str(
        "[calls]\nduration = { kind = \"lognormal\", median = \"90s\", max = \"15m\" }\n",
    )
    .unwrap();
    assert_eq!(
        s.calls.duration,
        Some(TalkTime::LogNormal {
            median: Duration::from_secs(90),
            sigma: redial_sim::DEFAULT_LOGNORMAL_SIGMA,
            min: Duration::ZERO,
            max: 15 * MINUTE,
        })
    );
    for (toml, key) in [
        (
            "duration = { kind = \"lognormal\", median = \"20m\", max = \"15m\" }",
            "calls.duration.median",
        ),
        (
            "duration = { kind = \"lognormal\", median = \"90s\", sigma = 0.0, max = \"15m\" }",
            "calls.duration.sigma",
        ),
        (
            "duration = { kind = \"uniform\", min = \"3s\", max = \"1s\" }",
            "calls.duration.min",
        ),
        (
            "duration_max = \"9s\"\nduration = { kind = \"uniform\", min = \"1s\", max = \"3s\" }",
            "calls.duration",
        ),
    ] {
        let e = Scenario::from_toml_str(&format!("[calls]\n{toml}\n")).unwrap_err();
        assert!(
            matches!(&e, SimError::Invalid { key: k, .. } if k == key),
            "{toml}: {e}"
        );
    }
    let e = Scenario::from_toml_str("[calls]\nduration = { kind = \"pareto\", max = \"1s\" }\n")
        .unwrap_err();
    assert!(matches!(e, SimError::Parse { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn the_realistic_preset_serves_at_its_limits() {
    let sim = start(Scenario::realistic()).await;
    let c = client();
    assert_eq!(get_on(&c, &sim, "/v1/agents").await.status(), 200);
    let mut statuses = Vec::new();
    for i in 0..70 {
        let body = json!({"agent_id": "agent_demo", "to": number(i), "metadata": {"row": i}});
        let resp = post_on(&c, &sim, "/v1/calls", body).await;
        let status = resp.status().as_u16();
        if status == 429 {
            let err: Value = resp.json().await.unwrap();
            statuses.push(err["error"]["code"].as_str().unwrap().to_owned());
        } else {
            statuses.push(status.to_string());
        }
        // Slower than 20 requests/s, so only the call limit refuses.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let created = statuses.iter().filter(|s| *s == "201").count();
    let at_limit = statuses
        .iter()
        .filter(|s| *s == "concurrent_call_limit")
        .count();
    let st = sim.stats();
    assert_eq!(st.calls_created as usize, created, "{statuses:?}");
    assert!(
        st.max_live_calls <= 50,
        "the call limit holds: {}",
        st.max_live_calls
    );
    assert!(
        at_limit > 0,
        "70 calls in ~15 s meet the 50-call limit: {statuses:?}"
    );
    assert_eq!(st.rate_limited_with("rate_limit_exceeded"), 0);
    // Minutes later the slots are free again, and statuses are terminal or talking.
    tokio::time::advance(16 * MINUTE).await;
    let st = sim.stats();
    assert_eq!(st.live_calls, 0, "every call ended within 10 s + 15 min");
    assert_eq!(st.duplicate_dials, 0);
}

/// A realistic call mix without limits, faults or quota, to look at lifecycles alone.
fn long_calls_only() -> Scenario {
    let mut s = Scenario::realistic();
    s.limits = LimitsConfig::default();
    s.faults = FaultConfig::default();
    s.quota = QuotaConfig::default();
    s
}

fn count(calls: &[Value], status: &str) -> usize {
    calls.iter().filter(|c| c["status"] == status).count()
}

/// A thousand calls lasting minutes, followed on the paused clock: outcome shares, the
/// median talk time (a ratio over a seeded sample), the long tail, and every slot freed at
/// the end — in well under a second of real time.
#[tokio::test(start_paused = true)]
async fn a_thousand_calls_lasting_minutes_on_the_paused_clock() {
    let sim = start(long_calls_only()).await;
    let c = client();
    let n = 1000;
    for i in 0..n {
        assert_eq!(
            post_on(&c, &sim, "/v1/calls", call_to(&number(i)))
                .await
                .status(),
            201
        );
    }
    assert_eq!(sim.stats().max_live_calls, n as u64);
    let all = || list_calls(&sim, "?limit=1000");

    tokio::time::advance(Duration::from_millis(500)).await;
    let calls = all().await;
    assert_eq!(count(&calls, "queued"), n, "ringing starts after 1 s");

    // At 10 s + 90 s: busy (4 s), failed (6 s) and no_answer (30 s) have ended; of the
    // answered calls, those talking 90 s or less (half of them: the median) are completed.
    tokio::time::advance(Duration::from_millis(99_500)).await;
    let calls = all().await;
    let share = |s: &str| count(&calls, s) as f64 / n as f64;
    assert!(
        (share("busy") - 0.10).abs() < 0.03,
        "busy {}",
        share("busy")
    );
    assert!(
        (share("no_answer") - 0.15).abs() < 0.035,
        "no_answer {}",
        share("no_answer")
    );
    assert!(
        (share("failed") - 0.05).abs() < 0.025,
        "failed {}",
        share("failed")
    );
    let talking = count(&calls, "in_progress");
    let done = count(&calls, "completed");
    let below_median = done as f64 / (done + talking) as f64;
    assert!(
        (below_median - 0.5).abs() < 0.06,
        "{done} of {} answered calls ended by the 90 s median",
        done + talking
    );
    assert_eq!(sim.stats().live_calls as usize, talking);

    // The long tail: minutes later some calls still talk (about 7 % exceed 4m50s)...
    tokio::time::advance(3 * MINUTE + Duration::from_secs(20)).await;
    let live = sim.stats().live_calls;
    assert!((15..=100).contains(&live), "still talking at 5 min: {live}");
    // ...and the cap ends every one of them by 10 s + 15 min.
    tokio::time::advance(10 * MINUTE).await;
    assert_eq!(sim.stats().live_calls, 0);
    let calls = all().await;
    assert_eq!(count(&calls, "in_progress") + count(&calls, "ringing"), 0);
    assert_eq!(sim.stats().calls_created, n as u64);
}
