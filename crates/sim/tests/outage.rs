//! Gateway outages: HTML pages in a time window, some of them after the API acted (the call
//! was placed, is live and listed with its metadata), the rest before anything happened.

mod common;

use std::time::Duration;

use common::*;
use redial_sim::{FaultConfig, IdempotencyConfig, Outage, Scenario, SimError};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn outage(start: Duration, end: Duration, acted: f64, status: u16, routes: &[&str]) -> Outage {
    Outage {
        start,
        end,
        rate: 1.0,
        acted,
        status,
        routes: routes.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn with_outages(outages: Vec<Outage>) -> Scenario {
    Scenario {
        faults: FaultConfig {
            outages,
            ..FaultConfig::default()
        },
        ..Scenario::default()
    }
}

async fn is_gateway_page(resp: reqwest::Response, status: u16) {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "text/html");
    let body = resp.text().await.unwrap();
    assert!(body.contains("<html>") && body.contains("nginx"), "{body}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_err(),
        "not JSON"
    );
}

#[tokio::test(start_paused = true)]
async fn some_502s_placed_the_call_and_the_list_shows_them() {
    let sim = start(with_outages(vec![outage(
        5 * MINUTE,
        8 * MINUTE,
        0.4,
        502,
        &["POST /v1/calls"],
    )]))
    .await;
    let c = client();
    // Before the window: normal.
    assert_eq!(
        post_on(&c, &sim, "/v1/calls", call_to(&number(0)))
            .await
            .status(),
        201
    );
    tokio::time::advance(5 * MINUTE).await;
    let c = client();
    let n = 100;
    for i in 1..=n {
        let body = json!({"agent_id": "agent_demo", "to": number(i), "metadata": {"i": i}});
        is_gateway_page(post_on(&c, &sim, "/v1/calls", body).await, 502).await;
    }
    // Reads are not in the window's routes: the client can ask what happened.
    let st = sim.stats();
    let acted = st.outage_pages_after_acting;
    assert_eq!(st.outage_pages, 100);
    assert!((25..=55).contains(&acted), "about 40 % acted: {acted}");
    assert_eq!(st.calls_created, 1 + acted);
    assert_eq!(st.requests_with("POST /v1/calls", "502"), 100);
    let listed = list_calls(&sim, "?limit=1000").await;
    assert_eq!(listed.len() as u64, 1 + acted);
    let mut placed = 0;
    for i in 1..=n {
        let to = number(i);
        let count = sim.calls_placed_to(&to);
        placed += count;
        let found: Vec<_> = listed.iter().filter(|c| c["to"] == to.as_str()).collect();
        assert_eq!(found.len() as u64, count, "{to}");
        if let Some(call) = found.first() {
            assert_eq!(call["metadata"], json!({"i": i}), "metadata kept");
            assert_ne!(call["status"], "completed", "the call is live");
        }
    }
    assert_eq!(placed, acted);
    assert_eq!(
        st.live_calls, acted,
        "the first call ended long ago; the acted ones are live"
    );
    assert_eq!(st.duplicate_dials, 0);

    // After the window: creates are answered again.
    tokio::time::advance(3 * MINUTE).await;
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(1000)))
            .await
            .status(),
        201
    );
}

#[tokio::test(start_paused = true)]
async fn an_outage_that_did_not_act_comes_before_auth_limits_and_quota() {
    let mut s = with_outages(vec![outage(Duration::ZERO, MINUTE, 0.0, 503, &[])]);
    s.quota.calls = 1;
    let sim = start(s).await;
    // No Authorization header: the gateway answers first.
    let resp = client()
        .get(format!("{}/v1/agents", sim.base_url()))
        .send()
        .await
        .unwrap();
    is_gateway_page(resp, 503).await;
    is_gateway_page(post(&sim, "/v1/calls", call_to(&number(1))).await, 503).await;
    let st = sim.stats();
    assert_eq!(st.calls_created, 0);
    assert_eq!(st.outage_pages, 2);
    assert_eq!(st.outage_pages_after_acting, 0);
    assert_eq!(st.quota_used, 0);
    assert_eq!(st.requests_with("GET /v1/agents", "503"), 1);
}

#[tokio::test(start_paused = true)]
async fn an_acted_create_under_an_honoured_key_replays_after_the_outage() {
    let mut s = with_outages(vec![outage(Duration::ZERO, MINUTE, 1.0, 504, &[])]);
    s.idempotency = IdempotencyConfig { honoured: true };
    let sim = start(s).await;
    let resp = try_post(&sim, "/v1/calls", call_to(&number(7)), Some("k7"))
        .await
        .unwrap();
    is_gateway_page(resp, 504).await;
    // A read during an all-routes outage never acts: still a page, nothing changes.
    is_gateway_page(get(&sim, "/v1/agents").await, 504).await;
    assert_eq!(sim.stats().outage_pages_after_acting, 1);
    tokio::time::advance(MINUTE).await;
    let again = try_post(&sim, "/v1/calls", call_to(&number(7)), Some("k7"))
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let call: serde_json::Value = again.json().await.unwrap();
    assert_eq!(call["to"], number(7));
    assert_eq!(
        call["status"], "queued",
        "replayed as it was answered at creation"
    );
    assert_eq!(sim.calls_placed_to(&number(7)), 1);
}

#[test]
fn outage_keys_parse_and_validate() {
    let s = Scenario::from_toml_str(
        "[[faults.outages]]\nstart = \"5m\"\nend = \"8m\"\nacted = 0.3\nroutes = [\"POST /v1/calls\"]\n",
    )
    .unwrap();
    let o = &s.faults.outages[0];
    assert_eq!((o.rate, o.acted, o.status), (1.0, 0.3, 502), "defaults");
    for (toml, key) in [
        ("acted = 1.5", "faults.outages[0].acted"),
        ("rate = -1.0", "faults.outages[0].rate"),
        ("status = 500", "faults.outages[0].status"),
    ] {
        let e = Scenario::from_toml_str(&format!(
            "[[faults.outages]]\nstart = \"1s\"\nend = \"2s\"\n{toml}\n"
        ))
        .unwrap_err();
        assert!(
            matches!(&e, SimError::Invalid { key: k, .. } if k == key),
            "{toml}: {e}"
        );
    }
    let e =
        Scenario::from_toml_str("[[faults.outages]]\nstart = \"2s\"\nend = \"1s\"\n").unwrap_err();
    assert!(e.to_string().contains("faults.outages[0].start"), "{e}");
}
