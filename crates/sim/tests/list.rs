//! `GET /v1/calls` as the contract assumes it: filters `to` and `agent_id`, `limit`
//! (default 100, at most 1000), newest first, calls with their metadata as sent; a server
//! that ignores the filters; a simulator that forgets old finished calls.

mod common;

use common::*;
use redial_sim::{CallsConfig, IdempotencyConfig, Scenario, UNLIMITED_KEEP_FINISHED};
use serde_json::json;

const A: &str = "+14155557101";
const B: &str = "+14155557102";
const C: &str = "+14155557103";

/// `A` (demo agent), `B` (demo agent), `A` again, `C` from `agent_nophone`, each with
/// metadata naming its order.
async fn four_calls(sim: &redial_sim::SimHandle) {
    for (i, (to, agent)) in [
        (A, "agent_demo"),
        (B, "agent_demo"),
        (A, "agent_demo"),
        (C, "agent_nophone"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({
            "agent_id": agent,
            "to": to,
            "from_number": "+14155550100",
            "metadata": {"n": i, "redial_key": format!("key-{i}"), "tags": ["a", {"b": null}]},
        });
        assert_eq!(post(sim, "/v1/calls", body).await.status(), 201);
    }
}

#[tokio::test]
async fn filters_order_limit_and_metadata() {
    let sim = start(Scenario::default()).await;
    four_calls(&sim).await;

    let all = list_calls(&sim, "").await;
    assert_eq!(tos(&all), [C, A, B, A], "newest first");
    for (call, n) in all.iter().zip([3, 2, 1, 0]) {
        assert_eq!(
            call["metadata"],
            json!({"n": n, "redial_key": format!("key-{n}"), "tags": ["a", {"b": null}]}),
            "metadata returned as sent"
        );
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert!(["queued", "ringing"].contains(&call["status"].as_str().unwrap()));
        let created = call["created_at"].as_str().unwrap();
        humantime::parse_rfc3339(created).expect("created_at is RFC 3339");
    }
    assert_eq!(all[0]["agent_id"], "agent_nophone");

    let to_a = list_calls(&sim, "?to=%2B14155557101").await;
    assert_eq!(tos(&to_a), [A, A]);
    assert_eq!(to_a[0]["metadata"]["n"], 2);
    assert_eq!(to_a[1]["metadata"]["n"], 0);
    assert_eq!(tos(&list_calls(&sim, "?agent_id=agent_nophone").await), [C]);
    assert_eq!(
        tos(&list_calls(&sim, "?agent_id=agent_demo&limit=2").await),
        [A, B]
    );
    assert!(
        list_calls(&sim, "?to=%2B14155557101&agent_id=agent_nophone")
            .await
            .is_empty()
    );
    assert!(list_calls(&sim, "?to=%2B14155550000").await.is_empty());
    assert!(list_calls(&sim, "?agent_id=agent_nobody").await.is_empty());
    // An unencoded `+` decodes to a space, as in any form-encoded query: no match.
    assert!(list_calls(&sim, "?to=+14155557101").await.is_empty());
    assert_eq!(tos(&list_calls(&sim, "?limit=1").await), [C]);
    assert_eq!(list_calls(&sim, "?limit=3&unknown=x").await.len(), 3);

    // A status read agrees with the list.
    let id = all[1]["id"].as_str().unwrap();
    let one: serde_json::Value = get(&sim, &format!("/v1/calls/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one, all[1]);

    for bad in ["?limit=0", "?limit=abc", "?limit=-1"] {
        let err = expect_error(
            get(&sim, &format!("/v1/calls{bad}")).await,
            400,
            "invalid_request",
            "invalid_query",
        )
        .await;
        assert_eq!(err["details"]["field"], "limit", "{bad}");
    }
    let st = sim.stats();
    assert_eq!(st.list_requests(), 13);
    assert_eq!(st.status_reads(), 1);
}

#[tokio::test]
async fn default_limit_is_100_and_at_most_1000_come_back() {
    let sim = start(Scenario::unlimited()).await;
    let c = client();
    for i in 0..1100 {
        assert_eq!(
            post_on(&c, &sim, "/v1/calls", call_to(&number(i)))
                .await
                .status(),
            201
        );
    }
    let page = list_calls(&sim, "").await;
    assert_eq!(page.len(), 100);
    assert_eq!(page[0]["to"], number(1099));
    assert_eq!(page[99]["to"], number(1000));
    let big = list_calls(&sim, "?limit=5000").await;
    assert_eq!(big.len(), 1000, "limit is capped at 1000");
    assert_eq!(big[999]["to"], number(100));
    // A filter reaches calls older than any page of the unfiltered list.
    assert_eq!(
        tos(&list_calls(&sim, &format!("?to={}", number(3).replace('+', "%2B"))).await),
        [number(3)]
    );
}

#[tokio::test]
async fn a_server_that_ignores_filters_returns_the_newest_calls() {
    let s = Scenario {
        calls: CallsConfig {
            list_ignores_filters: true,
            ..CallsConfig::default()
        },
        ..Scenario::default()
    };
    let sim = start(s).await;
    four_calls(&sim).await;
    assert_eq!(
        tos(&list_calls(&sim, "?to=%2B14155557102").await),
        [C, A, B, A]
    );
    assert_eq!(
        tos(&list_calls(&sim, "?agent_id=agent_nophone&limit=2").await),
        [C, A]
    );
    assert_eq!(
        tos(&list_calls(&sim, "?to=%2B14155557102&limit=1").await),
        [C]
    );
}

#[tokio::test]
async fn keep_finished_forgets_old_finished_calls_and_their_keys() {
    let mut s = Scenario::unlimited();
    s.calls.keep_finished = Some(3);
    s.idempotency = IdempotencyConfig { honoured: true };
    let sim = start(s).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let resp = try_post(
            &sim,
            "/v1/calls",
            call_to(&number(i)),
            Some(&format!("k{i}")),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 201);
        let call: serde_json::Value = resp.json().await.unwrap();
        ids.push(call["id"].as_str().unwrap().to_owned());
    }
    // The next request prunes: calls 0 and 1 are forgotten.
    expect_error(
        get(&sim, &format!("/v1/calls/{}", ids[0])).await,
        404,
        "not_found",
        "call_not_found",
    )
    .await;
    assert_eq!(
        get(&sim, &format!("/v1/calls/{}", ids[2])).await.status(),
        200
    );
    assert_eq!(
        tos(&list_calls(&sim, "").await),
        [number(4), number(3), number(2)]
    );
    assert!(
        list_calls(&sim, &format!("?to={}", number(0).replace('+', "%2B")))
            .await
            .is_empty()
    );
    let st = sim.stats();
    assert_eq!(st.calls_forgotten, 2);
    assert_eq!(
        sim.calls_placed_to(&number(0)),
        1,
        "dial counts are never forgotten"
    );
    // A kept call's key replays; a forgotten call's key is forgotten too.
    let again = try_post(&sim, "/v1/calls", call_to(&number(4)), Some("k4"))
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let fresh = try_post(&sim, "/v1/calls", call_to(&number(0)), Some("k0"))
        .await
        .unwrap();
    assert_eq!(fresh.status(), 201);
    assert!(fresh.headers().get("idempotent-replayed").is_none());
    assert_eq!(sim.calls_placed_to(&number(0)), 2);
    assert_eq!(sim.stats().duplicate_dials, 1);
}

#[test]
fn the_unlimited_preset_keeps_a_bounded_number_of_finished_calls() {
    assert_eq!(
        Scenario::unlimited().calls.keep_finished,
        Some(UNLIMITED_KEEP_FINISHED)
    );
    assert_eq!(Scenario::default().calls.keep_finished, None);
    assert_eq!(Scenario::realistic().calls.keep_finished, None);
}
