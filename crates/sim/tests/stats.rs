//! Stats over HTTP and in process, reset, and scenario loading.

mod common;

use std::path::Path;

use common::*;
use redial_sim::{FaultKind, LimitsConfig, Scenario, SimError, SimStats};

#[tokio::test]
async fn stats_count_routes_statuses_and_creations() {
    let s = Scenario {
        limits: LimitsConfig {
            max_concurrent_calls: 1,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155557001"))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155557002"))
            .await
            .status(),
        429
    );
    let sms = serde_json::json!({"to": "+14155557003", "body": "hi", "agent_id": "agent_demo"});
    assert_eq!(post(&sim, "/v1/messages", sms).await.status(), 201);
    assert_eq!(get(&sim, "/nowhere").await.status(), 404);

    let over_http: SimStats = get(&sim, "/__sim/stats").await.json().await.unwrap();
    let direct = sim.stats();
    for st in [&over_http, &direct] {
        assert_eq!(st.requests_with("GET /v1/agents", "200"), 1);
        assert_eq!(st.requests_with("POST /v1/calls", "201"), 1);
        assert_eq!(st.requests_with("POST /v1/calls", "429"), 1);
        assert_eq!(st.requests_with("POST /v1/messages", "201"), 1);
        assert_eq!(st.requests_with("unmatched", "404"), 1);
        assert_eq!(st.rate_limited["concurrent_call_limit"], 1);
        assert_eq!(st.calls_created, 1);
        assert_eq!(st.messages_created, 1);
        assert_eq!(st.live_calls, 1);
        assert_eq!(st.max_live_calls, 1);
        assert_eq!(st.limits.max_concurrent_calls, 1);
        assert_eq!(st.total_requests(), 5);
    }
    let raw: serde_json::Value = get(&sim, "/__sim/stats").await.json().await.unwrap();
    assert_eq!(raw["requests"]["POST /v1/calls"]["429"], 1);
}

#[tokio::test]
async fn reset_restores_seed_data_and_zeroes_counters() {
    let sim = start(Scenario::default()).await;
    let body = serde_json::json!({"name": "n", "system_prompt": "p", "voice_id": "echo"});
    let agent: serde_json::Value = post(&sim, "/v1/agents", body).await.json().await.unwrap();
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155557004"))
            .await
            .status(),
        201
    );
    assert_eq!(sim.stats().agents_created, 1);
    let resp = client()
        .post(format!("{}/__sim/reset", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let st = sim.stats();
    assert_eq!(st.total_requests(), 0);
    assert_eq!(st.calls_created, 0);
    assert_eq!(st.live_calls, 0);
    let id = agent["id"].as_str().unwrap();
    assert_eq!(get(&sim, &format!("/v1/agents/{id}")).await.status(), 404);
    let calls: serde_json::Value = get(&sim, "/v1/calls").await.json().await.unwrap();
    assert_eq!(calls["data"].as_array().unwrap().len(), 0);
    sim.reset();
    assert_eq!(sim.stats().total_requests(), 0);
}

#[test]
fn demo_scenario_file_loads_and_matches_the_preset() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/demo.toml");
    let s = Scenario::from_file(&p).unwrap();
    let demo = Scenario::demo();
    assert_eq!(s.limits, demo.limits);
    assert_eq!(s.calls, demo.calls);
    assert_eq!(s.faults, demo.faults);
    assert_eq!(s.seed, demo.seed);
    assert_eq!(s.account, demo.account);
}

#[test]
fn empty_toml_is_the_default_scenario() {
    let s = Scenario::from_toml_str("").unwrap();
    assert_eq!(s.account.api_keys[0].id, "demo_key");
    assert!(s.idempotency.honoured);
    assert_eq!(s.faults.twilio_errors, vec![20429, 20500, 20503]);
}

#[test]
fn errors_name_the_key() {
    let e = Scenario::from_toml_str("[faults]\nserver_eror = 0.1\n").unwrap_err();
    assert!(
        matches!(&e, SimError::Parse { key, .. } if key == "faults.server_eror"),
        "{e}"
    );
    assert!(e.to_string().contains("server_eror"), "{e}");
    let e = Scenario::from_toml_str("[faults]\nserver_error = 1.5\n").unwrap_err();
    assert!(
        matches!(&e, SimError::Invalid { key, .. } if key == "faults.server_error"),
        "{e}"
    );
    let e = Scenario::from_toml_str("[calls]\nduration_min = \"fast\"\n").unwrap_err();
    assert!(
        matches!(&e, SimError::Parse { key, .. } if key == "calls.duration_min"),
        "{e}"
    );
    let e = Scenario::from_toml_str(
        "[[faults.scheduled]]\nstart = \"1s\"\nend = \"2s\"\nkind = \"meteor\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("faults.scheduled[0].kind"), "{e}");
    let e = Scenario::from_file(Path::new("/nonexistent/s.toml")).unwrap_err();
    assert!(matches!(e, SimError::Io { .. }));
}

#[test]
fn scheduled_kinds_parse() {
    let s = Scenario::from_toml_str(
        "[[faults.scheduled]]\nstart = \"5s\"\nend = \"8s\"\nkind = \"reset_after\"\nrate = 0.5\n",
    )
    .unwrap();
    assert_eq!(s.faults.scheduled[0].kind, FaultKind::ResetAfter);
}

#[tokio::test]
async fn stats_name_the_numbers_dialled_twice_and_count_reads() {
    let s = Scenario {
        idempotency: redial_sim::IdempotencyConfig { honoured: false },
        ..Scenario::default()
    };
    let sim = start(s).await;
    for to in [
        "+14155557201",
        "+14155557202",
        "+14155557201",
        "+14155557201",
    ] {
        assert_eq!(post(&sim, "/v1/calls", call_to(to)).await.status(), 201);
    }
    let listed: serde_json::Value = get(&sim, "/v1/calls").await.json().await.unwrap();
    let id = listed["data"][0]["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(get(&sim, &format!("/v1/calls/{id}")).await.status(), 200);
    }
    let st = sim.stats();
    assert_eq!(st.duplicate_dials, 2);
    assert_eq!(
        st.duplicate_numbers,
        [("+14155557201".to_owned(), 3)].into_iter().collect()
    );
    assert_eq!(sim.calls_placed_to("+14155557201"), 3);
    assert_eq!(sim.calls_placed_to("+14155557202"), 1);
    assert_eq!(sim.calls_placed_to("+14155557203"), 0);
    assert_eq!(sim.calls_placed_to("not a number"), 0);
    assert_eq!(st.list_requests(), 1);
    assert_eq!(st.status_reads(), 3);
    assert_eq!(st.max_live_calls, 4);
    assert_eq!(st.live_calls, 4);
    let over_http: SimStats = get(&sim, "/__sim/stats").await.json().await.unwrap();
    assert_eq!(over_http.duplicate_numbers, st.duplicate_numbers);
    sim.reset();
    assert_eq!(sim.calls_placed_to("+14155557201"), 0);
    assert!(sim.stats().duplicate_numbers.is_empty());
}
