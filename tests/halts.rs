//! Halt scopes end to end: a halting error stops its scope; later requests in the scope fail
//! fast without reaching the server; requests outside the scope go on.

mod common;

use common::{AGENT, client, config, requests, sim};
use redial::policy::HaltScope;
use redial::sim::Scenario;
use redial::transport::{ApiKey, Client, Error, NewCall};

#[tokio::test(start_paused = true)]
async fn an_agent_halt_stops_that_agent_only() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let err = client
        .calls()
        .create(&NewCall::new("agent_nophone", "+447446466847"))
        .await
        .unwrap_err();
    assert_eq!(
        err.halt_scope(),
        Some(&HaltScope::Agent("agent_nophone".into())),
        "{err}"
    );
    assert_eq!(err.attempts(), 1);
    let sent = requests(&sim, "POST /v1/calls");

    for to in ["+447446466848", "+447446466849"] {
        let err = client
            .calls()
            .create(&NewCall::new("agent_nophone", to))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Halted { .. }));
        assert_eq!(err.attempts(), 0, "failed fast, not sent");
    }
    assert_eq!(
        requests(&sim, "POST /v1/calls"),
        sent,
        "nothing more reached the server"
    );

    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466850"))
        .await
        .expect("other agents go on");
    drop(placed);
}

#[tokio::test(start_paused = true)]
async fn a_bad_key_halts_the_whole_account() {
    let sim = sim(Scenario::default()).await;
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse("demo_key:wrong_secret").unwrap())
        .config(config())
        .build()
        .unwrap();
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.halt_scope(), Some(&HaltScope::Account));
    let before = sim
        .stats()
        .requests
        .values()
        .flat_map(|m| m.values())
        .sum::<u64>();
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466847"))
        .await
        .unwrap_err();
    assert_eq!(err.halt_scope(), Some(&HaltScope::Account));
    assert_eq!(err.attempts(), 0);
    let after = sim
        .stats()
        .requests
        .values()
        .flat_map(|m| m.values())
        .sum::<u64>();
    assert_eq!(before, after);
    assert!(client.halts().is_halted(&HaltScope::Account));
    assert!(
        !format!("{err} {err:?} {client:?}").contains("wrong_secret"),
        "the key is never printed"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_in_a_halted_scope_reach_the_server_at_most_once_each() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    // 20 creates for an agent that does not exist, 4 at a time: only the first wave (the
    // in-flight ones) may reach the server.
    let mut results = Vec::new();
    for wave in 0..5 {
        let futures = (0..4).map(|i| {
            let client = client.clone();
            async move {
                client
                    .calls()
                    .create(&NewCall::new(
                        "agent_missing",
                        format!("+4474464668{wave}{i}"),
                    ))
                    .await
            }
        });
        results.extend(futures::future::join_all(futures).await);
    }
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::Halted { .. })))
    );
    assert!(
        requests(&sim, "POST /v1/calls") <= 4,
        "at most the first in-flight wave was sent"
    );
}
