//! Account rate limit, concurrent-call limit and call lifecycles.

mod common;

use std::time::Duration;

use common::*;
use redial_sim::{CallsConfig, LimitsConfig, OutcomeWeights, RetryAfterFormat, Scenario};

fn quick_calls(talk: Duration) -> CallsConfig {
    CallsConfig {
        ringing_after: Duration::from_millis(50),
        answered_after: Duration::from_millis(150),
        duration_min: talk,
        duration_max: talk,
        outcomes: OutcomeWeights {
            completed: 1,
            busy: 0,
            no_answer: 0,
            failed: 0,
        },
        ..CallsConfig::default()
    }
}

#[tokio::test]
async fn burst_then_429_with_retry_after_then_recovers() {
    let s = Scenario {
        limits: LimitsConfig {
            requests_per_second: 2.0,
            burst: 5,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    for _ in 0..5 {
        assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    }
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    // Status polls count too, and /__sim does not.
    assert_eq!(get(&sim, "/v1/calls/call_x").await.status(), 429);
    assert_eq!(get(&sim, "/__sim/stats").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    let st = sim.stats();
    assert_eq!(st.rate_limited["rate_limit_exceeded"], 2);
    assert_eq!(st.requests_with("GET /v1/agents", "429"), 1);
    assert_eq!(st.limits.requests_per_second, 2.0);
}

#[tokio::test]
async fn unauthenticated_requests_do_not_use_the_budget() {
    let s = Scenario {
        limits: LimitsConfig {
            requests_per_second: 1.0,
            burst: 1,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    for _ in 0..5 {
        let resp = client()
            .get(format!("{}/v1/agents", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let s = Scenario {
        limits: LimitsConfig {
            requests_per_second: 0.5,
            burst: 1,
            retry_after: RetryAfterFormat::HttpDate,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 429);
    let date = resp.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(date.ends_with(" GMT"), "{date}");
}

#[tokio::test]
async fn concurrent_calls_limit_then_slots_free() {
    let s = Scenario {
        limits: LimitsConfig {
            max_concurrent_calls: 3,
            ..LimitsConfig::default()
        },
        calls: quick_calls(Duration::from_millis(100)),
        ..Scenario::default()
    };
    let sim = start(s).await;
    for i in 0..3 {
        let resp = post(&sim, "/v1/calls", call_to(&format!("+1415555200{i}"))).await;
        assert_eq!(resp.status(), 201);
    }
    assert_eq!(sim.stats().live_calls, 3);
    let resp = post(&sim, "/v1/calls", call_to("+14155552009")).await;
    expect_error(resp, 429, "rate_limit_error", "concurrent_call_limit").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.stats().live_calls, 0);
    let resp = post(&sim, "/v1/calls", call_to("+14155552009")).await;
    assert_eq!(resp.status(), 201);
    let st = sim.stats();
    assert_eq!(st.max_live_calls, 3);
    assert_eq!(st.rate_limited["concurrent_call_limit"], 1);
    assert_eq!(st.calls_created, 4);
}

#[tokio::test]
async fn call_statuses_progress_and_end_terminal() {
    let s = Scenario {
        calls: quick_calls(Duration::from_millis(100)),
        ..Scenario::default()
    };
    let sim = start(s).await;
    let created: serde_json::Value = post(&sim, "/v1/calls", call_to("+14155553000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "queued");
    assert_eq!(created["agent_id"], "agent_demo");
    assert_eq!(created["from_number"], "+14155550100");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("call_") && id.len() == 21, "{id}");
    let mut seen = vec!["queued".to_owned()];
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let call: serde_json::Value = get(&sim, &format!("/v1/calls/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let status = call["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
    }
    assert_eq!(seen, ["queued", "ringing", "in_progress", "completed"]);
    let list: serde_json::Value = get(&sim, "/v1/calls").await.json().await.unwrap();
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert_eq!(list["data"][0]["status"], "completed");
}

#[tokio::test]
async fn unanswered_outcomes_go_straight_from_ringing() {
    let mut calls = quick_calls(Duration::from_millis(10));
    calls.outcomes = OutcomeWeights {
        completed: 0,
        busy: 1,
        no_answer: 0,
        failed: 0,
    };
    let sim = start(Scenario {
        calls,
        ..Scenario::default()
    })
    .await;
    let created: serde_json::Value = post(&sim, "/v1/calls", call_to("+14155553001"))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(90)).await;
    let call: serde_json::Value = get(&sim, &format!("/v1/calls/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(call["status"], "ringing");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let call: serde_json::Value = get(&sim, &format!("/v1/calls/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(call["status"], "busy");
}

#[tokio::test]
async fn unlimited_calls_are_instant() {
    let sim = start(Scenario::unlimited()).await;
    let created: serde_json::Value = post(&sim, "/v1/calls", call_to("+14155553002"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "completed");
    assert_eq!(sim.stats().live_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_follows_a_paused_clock() {
    // Sim on the test runtime: its GCRA runs on the paused clock.
    let s = Scenario {
        limits: LimitsConfig {
            requests_per_second: 1.0,
            burst: 1,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    assert_eq!(get(&sim, "/v1/agents").await.status(), 429);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
}

#[tokio::test(start_paused = true)]
async fn background_sim_runs_on_the_real_clock() {
    let sim = redial_sim::Sim::builder()
        .scenario(Scenario {
            calls: quick_calls(Duration::from_millis(20)),
            ..Scenario::default()
        })
        .start_background()
        .unwrap();
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155553003"))
            .await
            .status(),
        201
    );
    assert_eq!(sim.stats().live_calls, 1);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(sim.stats().live_calls, 0);
    sim.shutdown().await;
}
