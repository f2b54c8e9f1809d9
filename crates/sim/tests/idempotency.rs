//! Idempotency-Key honoured and ignored, and the duplicate counters a dialer is judged by.

mod common;

use common::*;
use redial_sim::{FaultConfig, IdempotencyConfig, Scenario};

#[tokio::test]
async fn honoured_key_replays_and_creates_once() {
    let sim = start(Scenario::default()).await;
    let first = try_post(&sim, "/v1/calls", call_to("+14155556000"), Some("k1"))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = try_post(&sim, "/v1/calls", call_to("+14155556000"), Some("k1"))
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first, again);
    let st = sim.stats();
    assert_eq!(st.calls_created, 1);
    assert_eq!(st.idempotent_replays, 1);
    assert_eq!(st.duplicate_dials, 0);
    assert_eq!(st.duplicate_creates_per_key, 0);
}

/// Regression: a 429 `concurrent_call_limit` was stored under its key and replayed to every
/// retry, so a dialer that waited for a slot could never place the call. Only answers of a
/// request that acted (2xx) are stored; refusals are executed afresh.
#[tokio::test]
async fn refusals_are_not_replayed() {
    let sim = start(Scenario::default()).await;
    let a = try_post(&sim, "/v1/calls", call_to("not-a-number"), Some("retry-me"))
        .await
        .unwrap();
    assert_eq!(a.status(), 400);
    let b = try_post(&sim, "/v1/calls", call_to("+14155556001"), Some("retry-me"))
        .await
        .unwrap();
    assert_eq!(
        b.status(),
        201,
        "the refused request created nothing, so the key is free"
    );
    assert!(b.headers().get("idempotent-replayed").is_none());
    assert_eq!(sim.stats().calls_created, 1);
}

#[tokio::test]
async fn ignored_key_creates_duplicates_and_counts_them() {
    let s = Scenario {
        idempotency: IdempotencyConfig { honoured: false },
        ..Scenario::default()
    };
    let sim = start(s).await;
    let a: serde_json::Value = try_post(&sim, "/v1/calls", call_to("+14155556002"), Some("k1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: serde_json::Value = try_post(&sim, "/v1/calls", call_to("+14155556002"), Some("k1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(a["id"], b["id"]);
    let st = sim.stats();
    assert_eq!(st.calls_created, 2);
    assert_eq!(st.duplicate_creates_per_key, 1);
    assert_eq!(st.duplicate_dials, 1);
    assert_eq!(st.idempotent_replays, 0);
}

#[tokio::test]
async fn dialling_the_same_number_twice_without_keys_counts() {
    let sim = start(Scenario::default()).await;
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155556003"))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155556003"))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155556004"))
            .await
            .status(),
        201
    );
    let st = sim.stats();
    assert_eq!(st.duplicate_dials, 1);
    assert_eq!(st.duplicate_creates_per_key, 0);
}

#[tokio::test]
async fn retry_after_reset_after_gets_the_original_call() {
    let f = FaultConfig {
        reset_after: 1.0,
        ..FaultConfig::default()
    };
    let sim = start(Scenario {
        faults: f,
        ..Scenario::default()
    })
    .await;
    let err = try_post(&sim, "/v1/calls", call_to("+14155556005"), Some("r1")).await;
    assert!(err.is_err());
    sim.set_faults(FaultConfig::default());
    let retry = try_post(&sim, "/v1/calls", call_to("+14155556005"), Some("r1"))
        .await
        .unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let st = sim.stats();
    assert_eq!(st.calls_created, 1);
    assert_eq!(st.duplicate_dials, 0);
}

#[tokio::test]
async fn keys_apply_to_messages_and_not_to_gets() {
    let sim = start(Scenario::default()).await;
    let sms = serde_json::json!({"to": "+14155556006", "body": "hi", "agent_id": "agent_demo"});
    let a: serde_json::Value = try_post(&sim, "/v1/messages", sms.clone(), Some("m1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: serde_json::Value = try_post(&sim, "/v1/messages", sms, Some("m1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(sim.stats().messages_created, 1);
}
