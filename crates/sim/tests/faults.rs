//! Every fault kind as a client observes it, route filters, scheduled windows, run-time
//! changes and determinism.

mod common;

use std::time::Duration;

use common::*;
use redial_sim::{
    FaultConfig, FaultKind, FirstFault, RetryAfterFormat, Scenario, ScheduledFault, SimHandle,
};

async fn with_faults(f: FaultConfig) -> SimHandle {
    start(Scenario {
        faults: f,
        ..Scenario::default()
    })
    .await
}

fn only(kind: FaultKind) -> FaultConfig {
    let mut f = FaultConfig::default();
    match kind {
        FaultKind::ServerError => f.server_error = 1.0,
        FaultKind::ProviderError => f.provider_error = 1.0,
        FaultKind::OutboundFailed => f.outbound_failed = 1.0,
        FaultKind::Html502 => f.html_502 = 1.0,
        FaultKind::Truncated => f.truncated = 1.0,
        FaultKind::NonJson => f.non_json = 1.0,
        FaultKind::ResetBefore => f.reset_before = 1.0,
        FaultKind::ResetAfter => f.reset_after = 1.0,
        FaultKind::Hang => f.hang = 1.0,
        FaultKind::ServerErrorAfter => f.server_error_after = 1.0,
        FaultKind::RateLimited => f.rate_limited = 1.0,
        _ => unreachable!("all kinds covered"),
    }
    f
}

#[tokio::test]
async fn server_error() {
    let sim = with_faults(only(FaultKind::ServerError)).await;
    expect_error(
        get(&sim, "/v1/agents").await,
        500,
        "server_error",
        "internal_error",
    )
    .await;
    assert_eq!(sim.stats().faults_of(FaultKind::ServerError), 1);
}

#[tokio::test]
async fn provider_error() {
    let sim = with_faults(only(FaultKind::ProviderError)).await;
    expect_error(
        get(&sim, "/v1/agents").await,
        502,
        "provider_error",
        "provider_unavailable",
    )
    .await;
}

#[tokio::test]
async fn outbound_failed_fault_only_hits_call_creation() {
    let sim = with_faults(only(FaultKind::OutboundFailed)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    let resp = post(&sim, "/v1/calls", call_to("+14155554000")).await;
    let err = expect_error(resp, 502, "provider_error", "outbound_failed").await;
    let code = err["details"]["twilio_error"].as_u64().unwrap();
    assert!([20429, 20500, 20503].contains(&code), "{code}");
    assert_eq!(sim.stats().calls_created, 0);
}

#[tokio::test]
async fn html_502() {
    let sim = with_faults(only(FaultKind::Html502)).await;
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("<h1>502 Bad Gateway</h1>")
    );
}

#[tokio::test]
async fn non_json() {
    let sim = with_faults(only(FaultKind::NonJson)).await;
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert!(serde_json::from_str::<serde_json::Value>(&resp.text().await.unwrap()).is_err());
}

#[tokio::test]
async fn truncated_body_is_a_body_error() {
    let sim = with_faults(only(FaultKind::Truncated)).await;
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let err = resp.bytes().await.expect_err("body must fail");
    assert!(err.is_body() || err.is_decode(), "{err:?}");
}

#[tokio::test]
async fn reset_before_creates_nothing() {
    let sim = with_faults(only(FaultKind::ResetBefore)).await;
    let err = try_post(&sim, "/v1/calls", call_to("+14155554001"), None)
        .await
        .expect_err("reset");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    let st = sim.stats();
    assert_eq!(st.calls_created, 0);
    assert_eq!(st.requests_with("POST /v1/calls", "reset"), 1);
}

#[tokio::test]
async fn reset_after_creates_the_call() {
    let sim = with_faults(only(FaultKind::ResetAfter)).await;
    let err = try_post(&sim, "/v1/calls", call_to("+14155554002"), None)
        .await
        .expect_err("reset");
    assert!(err.is_request(), "{err:?}");
    let st = sim.stats();
    assert_eq!(st.calls_created, 1);
    assert_eq!(st.faults_of(FaultKind::ResetAfter), 1);
    // The call exists; the dialer must reconcile rather than dial again.
    sim.set_faults(FaultConfig::default());
    let list: serde_json::Value = get(&sim, "/v1/calls").await.json().await.unwrap();
    assert_eq!(list["data"][0]["to"], "+14155554002");
}

#[tokio::test]
async fn server_error_after_creates_then_answers_500_and_an_honoured_key_replays_the_creation() {
    let sim = with_faults(only(FaultKind::ServerErrorAfter)).await;
    let resp = try_post(&sim, "/v1/calls", call_to("+14155554010"), Some("k-after"))
        .await
        .unwrap();
    expect_error(resp, 500, "server_error", "internal_error").await;
    let message = serde_json::json!({"to": "+14155554011", "body": "hello"});
    let resp = post(&sim, "/v1/messages", message).await;
    expect_error(resp, 500, "server_error", "internal_error").await;
    let import = serde_json::json!({
        "agent_id": "agent_demo",
        "phone_number": "+14155550101",
        "twilio_account_sid": "AC0123456789abcdef0123456789abcdef",
        "twilio_auth_token": "twilio_demo_token",
    });
    let resp = post(&sim, "/v1/phone-numbers", import.clone()).await;
    expect_error(resp, 500, "server_error", "internal_error").await;
    let st = sim.stats();
    let created = (st.calls_created, st.messages_created, st.numbers_imported);
    assert_eq!(created, (1, 1, 1), "all three acted");
    assert_eq!(st.faults_of(FaultKind::ServerErrorAfter), 3);
    // The creation was stored under its key: the retry gets the call, and creates nothing.
    sim.set_faults(FaultConfig::default());
    let resp = try_post(&sim, "/v1/calls", call_to("+14155554010"), Some("k-after"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(sim.stats().calls_created, 1);
    assert_eq!(sim.calls_placed_to("+14155554010"), 1);
    // Importing the number again onto the same agent adds nothing.
    assert_eq!(post(&sim, "/v1/phone-numbers", import).await.status(), 201);
    assert_eq!(sim.stats().numbers_imported, 1);
}

#[tokio::test]
async fn rate_limited_asks_for_its_wait_in_the_configured_form() {
    let mut f = only(FaultKind::RateLimited);
    f.rate_limited_wait = Duration::from_secs(7);
    let sim = with_faults(f.clone()).await;
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.headers()["retry-after"], "7");
    let body = expect_error(resp, 429, "rate_limit_error", "rate_limit_exceeded").await;
    assert_eq!(body["details"]["retry_after_ms"], 7000);
    let st = sim.stats();
    assert_eq!(st.rate_limited_with("rate_limit_exceeded"), 1);
    assert_eq!(st.faults_of(FaultKind::RateLimited), 1);

    // Without a Retry-After header (`limits.retry_after = "none"`).
    let mut s = Scenario {
        faults: f,
        ..Scenario::default()
    };
    s.limits.retry_after = RetryAfterFormat::None;
    let sim = start(s).await;
    let resp = post(&sim, "/v1/calls", call_to("+14155554012")).await;
    assert!(resp.headers().get("retry-after").is_none());
    expect_error(resp, 429, "rate_limit_error", "rate_limit_exceeded").await;
    assert_eq!(sim.stats().calls_created, 0, "a throttle acts on nothing");
}

#[tokio::test]
async fn first_faults_hit_the_first_requests_of_a_route_then_the_server_behaves() {
    let s = Scenario::from_toml_str(
        r#"
        [[faults.first]]
        kind = "server_error_after"
        count = 2
        routes = ["POST /v1/calls"]
        "#,
    )
    .unwrap();
    assert_eq!(
        s.faults.first,
        vec![FirstFault {
            kind: FaultKind::ServerErrorAfter,
            count: 2,
            routes: vec!["POST /v1/calls".into()],
        }]
    );
    let sim = start(s).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200, "another route");
    let statuses = [
        post(&sim, "/v1/calls", call_to("+14155554013"))
            .await
            .status(),
        post(&sim, "/v1/calls", call_to("+14155554014"))
            .await
            .status(),
        post(&sim, "/v1/calls", call_to("+14155554015"))
            .await
            .status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [500, 500, 201]);
    assert_eq!(sim.stats().calls_created, 3, "each acted");
    // A reset counts from zero again.
    sim.reset();
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155554016"))
            .await
            .status(),
        500
    );
    let zero = Scenario::from_toml_str("[[faults.first]]\nkind = \"hang\"\ncount = 0\n");
    assert!(
        zero.unwrap_err()
            .to_string()
            .contains("faults.first[0].count"),
        "a count of 0 is refused, naming the key"
    );
}

#[tokio::test]
async fn hang_then_504() {
    let mut f = only(FaultKind::Hang);
    f.hang_duration = Duration::from_millis(300);
    let sim = with_faults(f).await;
    let timeout = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = timeout
        .get(format!("{}/v1/agents", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .expect_err("hangs");
    assert!(err.is_timeout(), "{err:?}");
    expect_error(
        get(&sim, "/v1/agents").await,
        504,
        "server_error",
        "gateway_timeout",
    )
    .await;
}

#[tokio::test]
async fn latency_is_added() {
    let f = FaultConfig {
        latency: Duration::from_millis(120),
        ..FaultConfig::default()
    };
    let sim = with_faults(f).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(60))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}/v1/agents", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .expect_err("slower than the timeout");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    assert_eq!(sim.stats().faults["latency"], 2);
}

#[tokio::test]
async fn route_filter_limits_faults() {
    let f = FaultConfig {
        routes: vec!["POST /v1/calls".to_owned()],
        ..only(FaultKind::ServerError)
    };
    let sim = with_faults(f).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155554003"))
            .await
            .status(),
        500
    );
}

#[tokio::test]
async fn sim_routes_never_get_faults() {
    let sim = with_faults(only(FaultKind::ResetBefore)).await;
    assert_eq!(get(&sim, "/__sim/stats").await.status(), 200);
    let resp = client()
        .post(format!("{}/__sim/reset", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn scheduled_window() {
    let f = FaultConfig {
        scheduled: vec![ScheduledFault {
            start: Duration::from_millis(200),
            end: Duration::from_millis(600),
            kind: FaultKind::ServerError,
            rate: 1.0,
            routes: Vec::new(),
        }],
        ..FaultConfig::default()
    };
    let sim = with_faults(f).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 500);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    // A reset restarts the schedule.
    sim.reset();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 500);
}

#[tokio::test]
async fn set_faults_at_run_time() {
    let sim = start(Scenario::default()).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    sim.set_faults(only(FaultKind::ProviderError));
    assert_eq!(get(&sim, "/v1/agents").await.status(), 502);
    sim.set_faults(FaultConfig::default());
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
}

async fn statuses(seed: u64) -> Vec<u16> {
    let f = FaultConfig {
        server_error: 0.3,
        provider_error: 0.2,
        ..FaultConfig::default()
    };
    let sim = start(Scenario {
        seed,
        faults: f,
        ..Scenario::default()
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(get(&sim, "/v1/agents").await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn seeded_faults_are_deterministic() {
    let a = statuses(7).await;
    assert_eq!(a, statuses(7).await);
    assert_ne!(a, statuses(8).await);
    assert!(
        a.contains(&200) && a.contains(&500) && a.contains(&502),
        "{a:?}"
    );
}

#[tokio::test]
async fn keep_alive_survives_between_requests() {
    let sim = start(Scenario::default()).await;
    let c = client();
    for _ in 0..50 {
        let r = c
            .get(format!("{}/v1/agents", sim.base_url()))
            .header("Authorization", AUTH)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    sim.shutdown().await;
}
