//! One test per documented error code: a realistic input produces it with the right HTTP
//! status and type. Also: bad input never panics the server.

mod common;

use common::*;
use redial_sim::{LimitsConfig, Scenario};
use serde_json::json;

async fn sim() -> redial_sim::SimHandle {
    start(Scenario::default()).await
}

async fn with_auth(sim: &redial_sim::SimHandle, auth: Option<&str>) -> reqwest::Response {
    let mut req = client().get(format!("{}/v1/agents", sim.base_url()));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn invalid_api_key() {
    let sim = sim().await;
    for auth in [
        None,
        Some("Bearer nope:x"),
        Some("Bearer demo_key:wrong"),
        Some("Basic abc"),
    ] {
        expect_error(
            with_auth(&sim, auth).await,
            401,
            "authentication_error",
            "invalid_api_key",
        )
        .await;
    }
    assert_eq!(with_auth(&sim, Some(AUTH)).await.status(), 200);
}

#[tokio::test]
async fn key_secret_required() {
    let sim = sim().await;
    let resp = with_auth(&sim, Some("Bearer demo_key")).await;
    expect_error(resp, 401, "authentication_error", "key_secret_required").await;
}

#[tokio::test]
async fn agent_not_found() {
    let sim = sim().await;
    expect_error(
        get(&sim, "/v1/agents/agent_nope").await,
        404,
        "not_found",
        "agent_not_found",
    )
    .await;
    let resp = post(
        &sim,
        "/v1/calls",
        json!({"agent_id": "agent_nope", "to": "+14155551234"}),
    )
    .await;
    expect_error(resp, 404, "not_found", "agent_not_found").await;
}

#[tokio::test]
async fn agent_not_owned() {
    let sim = sim().await;
    let resp = get(&sim, "/v1/agents/agent_foreign").await;
    expect_error(resp, 403, "permission_error", "agent_not_owned").await;
    let listed: serde_json::Value = get(&sim, "/v1/agents").await.json().await.unwrap();
    let ids: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("agent_demo"), json!("agent_nophone")]);
}

#[tokio::test]
async fn prompt_too_long() {
    let sim = sim().await;
    let body = json!({"name": "x", "system_prompt": "a".repeat(10_001), "voice_id": "alloy"});
    expect_error(
        post(&sim, "/v1/agents", body).await,
        400,
        "invalid_request",
        "prompt_too_long",
    )
    .await;
    let ok = json!({"name": "x", "system_prompt": "a".repeat(10_000), "voice_id": "alloy"});
    let resp = post(&sim, "/v1/agents", ok).await;
    assert_eq!(resp.status(), 201);
    let agent: serde_json::Value = resp.json().await.unwrap();
    assert!(agent["id"].as_str().unwrap().starts_with("agent_"));
}

#[tokio::test]
async fn invalid_voice_id() {
    let sim = sim().await;
    let body = json!({"name": "x", "system_prompt": "hi", "voice_id": "robot9000"});
    expect_error(
        post(&sim, "/v1/agents", body).await,
        400,
        "invalid_request",
        "invalid_voice_id",
    )
    .await;
}

fn import(number: &str, sid: &str, token: &str) -> serde_json::Value {
    json!({"agent_id": "agent_nophone", "phone_number": number,
           "twilio_account_sid": sid, "twilio_auth_token": token})
}

const SID: &str = "AC0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn invalid_phone_format() {
    let sim = sim().await;
    let resp = post(&sim, "/v1/calls", call_to("07446 466847")).await;
    let err = expect_error(resp, 400, "invalid_request", "invalid_phone_format").await;
    assert_eq!(err["details"]["field"], "to");
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("4155550101", SID, "twilio_demo_token"),
    )
    .await;
    expect_error(resp, 400, "invalid_request", "invalid_phone_format").await;
}

#[tokio::test]
async fn invalid_twilio_sid() {
    let sim = sim().await;
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155550101", "AC123", "t"),
    )
    .await;
    expect_error(resp, 400, "invalid_request", "invalid_twilio_sid").await;
}

#[tokio::test]
async fn twilio_invalid_credentials() {
    let sim = sim().await;
    let sid = "ACffffffffffffffffffffffffffffffff";
    let resp = post(&sim, "/v1/phone-numbers", import("+14155550101", sid, "t")).await;
    expect_error(resp, 400, "invalid_request", "twilio_invalid_credentials").await;
}

#[tokio::test]
async fn twilio_auth_failed() {
    let sim = sim().await;
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155550101", SID, "stale"),
    )
    .await;
    let err = expect_error(resp, 400, "invalid_request", "twilio_auth_failed").await;
    assert_eq!(err["details"]["twilio_error"], 20003);
}

#[tokio::test]
async fn number_not_in_twilio() {
    let sim = sim().await;
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155557777", SID, "twilio_demo_token"),
    )
    .await;
    expect_error(resp, 400, "invalid_request", "number_not_in_twilio").await;
}

#[tokio::test]
async fn number_already_imported() {
    let sim = sim().await;
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155550100", SID, "twilio_demo_token"),
    )
    .await;
    expect_error(resp, 409, "conflict", "number_already_imported").await;
    // After deleting it from agent_demo the import succeeds.
    let del = client()
        .delete(format!("{}/v1/phone-numbers/+14155550100", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155550100", SID, "twilio_demo_token"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"phone_number": "+14155550100", "agent_id": "agent_nophone"})
    );
}

#[tokio::test]
async fn call_not_found() {
    let sim = sim().await;
    let resp = get(&sim, "/v1/calls/call_0000000000000000").await;
    expect_error(resp, 404, "not_found", "call_not_found").await;
}

#[tokio::test]
async fn outbound_failed() {
    let sim = sim().await;
    let resp = post(&sim, "/v1/calls", call_to("+15005550001")).await;
    let err = expect_error(resp, 502, "provider_error", "outbound_failed").await;
    assert_eq!(err["details"]["twilio_error"], 21211);
    let resp = post(&sim, "/v1/calls", call_to("+19005550123")).await;
    expect_error(resp, 502, "provider_error", "outbound_failed").await;
    assert_eq!(sim.stats().calls_created, 0);
}

#[tokio::test]
async fn from_number_not_owned() {
    let sim = sim().await;
    let body =
        json!({"agent_id": "agent_demo", "to": "+14155551234", "from_number": "+14155550102"});
    expect_error(
        post(&sim, "/v1/calls", body).await,
        403,
        "permission_error",
        "from_number_not_owned",
    )
    .await;
    let sms = json!({"to": "+14155551234", "body": "hi", "from_number": "+14155550102"});
    expect_error(
        post(&sim, "/v1/messages", sms).await,
        403,
        "permission_error",
        "from_number_not_owned",
    )
    .await;
}

#[tokio::test]
async fn agent_no_phone() {
    let sim = sim().await;
    let body = json!({"agent_id": "agent_nophone", "to": "+14155551234"});
    expect_error(
        post(&sim, "/v1/calls", body).await,
        400,
        "invalid_request",
        "agent_no_phone",
    )
    .await;
}

#[tokio::test]
async fn sms_not_supported_in_region() {
    let sim = sim().await;
    let resp = post(
        &sim,
        "/v1/phone-numbers",
        import("+14155550101", SID, "twilio_demo_token"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let sms = json!({"to": "+14155551234", "body": "hi", "from_number": "+14155550101"});
    expect_error(
        post(&sim, "/v1/messages", sms).await,
        400,
        "invalid_request",
        "sms_not_supported_in_region",
    )
    .await;
    let ok = json!({"to": "+14155551234", "body": "hi", "from_number": "+14155550100"});
    let resp = post(&sim, "/v1/messages", ok).await;
    assert_eq!(resp.status(), 201);
    let msg: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(msg["status"], "queued");
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
}

#[tokio::test]
async fn message_too_long() {
    let sim = sim().await;
    let sms = json!({"to": "+14155551234", "body": "x".repeat(1601), "agent_id": "agent_demo"});
    expect_error(
        post(&sim, "/v1/messages", sms).await,
        400,
        "invalid_request",
        "message_too_long",
    )
    .await;
}

#[tokio::test]
async fn recipient_unsubscribed() {
    let sim = sim().await;
    let sms = json!({"to": "+14155559999", "body": "hi", "agent_id": "agent_demo"});
    expect_error(
        post(&sim, "/v1/messages", sms).await,
        400,
        "invalid_request",
        "recipient_unsubscribed",
    )
    .await;
    let resp = post(&sim, "/v1/calls", call_to("+14155559999")).await;
    expect_error(resp, 400, "invalid_request", "recipient_unsubscribed").await;
}

#[tokio::test]
async fn rate_limit_exceeded() {
    let s = Scenario {
        limits: LimitsConfig {
            requests_per_second: 1.0,
            burst: 2,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.headers()["retry-after"], "1");
    expect_error(resp, 429, "rate_limit_error", "rate_limit_exceeded").await;
}

#[tokio::test]
async fn concurrent_call_limit() {
    let s = Scenario {
        limits: LimitsConfig {
            max_concurrent_calls: 1,
            ..LimitsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155551001"))
            .await
            .status(),
        201
    );
    let resp = post(&sim, "/v1/calls", call_to("+14155551002")).await;
    expect_error(resp, 429, "rate_limit_error", "concurrent_call_limit").await;
}

// ---- bad input never panics -------------------------------------------------------------

#[tokio::test]
async fn malformed_and_missing_fields() {
    let sim = sim().await;
    let url = format!("{}/v1/calls", sim.base_url());
    for raw in ["{not json", "[1,2]", "\"str\"", ""] {
        let resp = client()
            .post(&url)
            .header("Authorization", AUTH)
            .body(raw)
            .send()
            .await
            .unwrap();
        let err = expect_error(resp, 400, "invalid_request", "invalid_body").await;
        assert_eq!(err["details"]["field"], "body");
    }
    let resp = post(&sim, "/v1/calls", json!({"agent_id": "agent_demo"})).await;
    let err = expect_error(resp, 400, "invalid_request", "invalid_body").await;
    assert_eq!(err["details"]["field"], "to");
    let resp = post(
        &sim,
        "/v1/calls",
        json!({"agent_id": 5, "to": "+14155551234"}),
    )
    .await;
    let err = expect_error(resp, 400, "invalid_request", "invalid_body").await;
    assert_eq!(err["details"]["field"], "agent_id");
    let resp = post(
        &sim,
        "/v1/agents",
        json!({"name": "x", "voice_id": "alloy"}),
    )
    .await;
    let err = expect_error(resp, 400, "invalid_request", "invalid_body").await;
    assert_eq!(err["details"]["field"], "system_prompt");
    // Still alive.
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
}

#[tokio::test]
async fn huge_body_is_413_json() {
    let sim = sim().await;
    let big = "x".repeat(1024 * 1024 + 10);
    let resp = client()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("Authorization", AUTH)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    expect_error(resp, 413, "invalid_request", "request_too_large").await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200);
}

#[tokio::test]
async fn unknown_route_and_wrong_method() {
    let sim = sim().await;
    expect_error(
        get(&sim, "/v1/nothing").await,
        404,
        "not_found",
        "route_not_found",
    )
    .await;
    expect_error(get(&sim, "/").await, 404, "not_found", "route_not_found").await;
    let resp = client()
        .delete(format!("{}/v1/agents", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .unwrap();
    expect_error(resp, 405, "invalid_request", "method_not_allowed").await;
    let del = client()
        .delete(format!("{}/v1/phone-numbers/+14155550199", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .unwrap();
    expect_error(del, 404, "not_found", "phone_number_not_found").await;
}
