//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use redial_sim::{Scenario, Sim, SimHandle};
use serde_json::Value;

/// The default key.
pub const AUTH: &str = "Bearer demo_key:demo_secret";

/// Starts a simulator on the test runtime.
pub async fn start(s: Scenario) -> SimHandle {
    Sim::builder()
        .scenario(s)
        .start()
        .await
        .expect("sim starts")
}

/// A client without retries or proxies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// `GET path` with the default key.
pub async fn get(sim: &SimHandle, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .expect("response")
}

/// `POST path` with a JSON body and the default key.
pub async fn post(sim: &SimHandle, path: &str, body: Value) -> reqwest::Response {
    try_post(sim, path, body, None).await.expect("response")
}

/// `POST path`, optionally with an Idempotency-Key; transport errors are returned.
pub async fn try_post(
    sim: &SimHandle,
    path: &str,
    body: Value,
    key: Option<&str>,
) -> reqwest::Result<reqwest::Response> {
    let mut req = client()
        .post(format!("{}{path}", sim.base_url()))
        .header("Authorization", AUTH)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await
}

/// A call to `to` from the demo agent.
pub fn call_to(to: &str) -> Value {
    serde_json::json!({"agent_id": "agent_demo", "to": to})
}

/// Asserts an error response's status, type and code; returns the error object.
pub async fn expect_error(resp: reqwest::Response, status: u16, kind: &str, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for {code}");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let body: Value = resp.json().await.expect("json body");
    let err = body["error"].clone();
    assert_eq!(err["type"], kind, "type in {body}");
    assert_eq!(err["code"], code, "code in {body}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(
        err["doc_url"],
        format!("https://docs.nixflex.example/errors/{code}")
    );
    assert!(err["details"].is_object());
    err
}

/// `GET path` on a given (reused, keep-alive) client.
pub async fn get_on(c: &reqwest::Client, sim: &SimHandle, path: &str) -> reqwest::Response {
    c.get(format!("{}{path}", sim.base_url()))
        .header("Authorization", AUTH)
        .send()
        .await
        .expect("response")
}

/// `POST path` with a JSON body on a given client.
pub async fn post_on(
    c: &reqwest::Client,
    sim: &SimHandle,
    path: &str,
    body: Value,
) -> reqwest::Response {
    c.post(format!("{}{path}", sim.base_url()))
        .header("Authorization", AUTH)
        .json(&body)
        .send()
        .await
        .expect("response")
}

/// `GET /v1/calls` + `query` (e.g. `"?limit=5"`): the listed calls.
pub async fn list_calls(sim: &SimHandle, query: &str) -> Vec<Value> {
    let resp = get(sim, &format!("/v1/calls{query}")).await;
    assert_eq!(resp.status(), 200, "list {query}");
    let body: Value = resp.json().await.expect("json list");
    body["data"].as_array().expect("data array").clone()
}

/// The `to` of each listed call, in order.
pub fn tos(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c["to"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A number for test call `i`: `+1415600` followed by four digits.
pub fn number(i: usize) -> String {
    format!("+1415600{i:04}")
}
