//! The circuit breaker opens on repeated server errors and closes after a probe; the retry
//! budget refuses retries once spent; a new config applies to a running client.

mod common;

use std::time::Duration;

use common::{client, config, requests, sim};
use redial::sim::{FaultConfig, Scenario};
use redial::transport::Error;

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_fails_fast_and_closes_after_a_probe() {
    let mut s = Scenario::default();
    s.faults.server_error = 1.0;
    let sim = sim(s).await;
    let mut c = config();
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 3;
    c.breaker.break_duration = Duration::from_secs(2);
    c.retry.max_attempts = 10;
    let client = client(&sim, c);

    let err = client.agents().list().await.unwrap_err();
    assert!(
        matches!(err, Error::CircuitOpen { .. }),
        "the 4th attempt met an open circuit: {err}"
    );
    assert_eq!(err.attempts(), 3);
    assert_eq!(requests(&sim, "GET /v1/agents"), 3);

    let err = client.agents().list().await.unwrap_err();
    let Error::CircuitOpen {
        retry_in, group, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(group, "agents");
    assert!(*retry_in <= Duration::from_secs(2));
    assert_eq!(
        requests(&sim, "GET /v1/agents"),
        3,
        "failed fast, nothing sent"
    );
    // Other endpoint groups are not affected.
    let other = client.calls().get("call_unknown").await.unwrap_err();
    assert_eq!(
        other.attempts(),
        3,
        "the calls group was closed, so its requests were sent: {other}"
    );

    sim.set_faults(FaultConfig::default());
    tokio::time::sleep(Duration::from_secs(2)).await;
    client
        .agents()
        .list()
        .await
        .expect("the half-open probe succeeds and closes the circuit");
    client.agents().list().await.expect("closed");
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_refuses_retries() {
    let mut s = Scenario::default();
    s.faults.server_error = 1.0;
    let sim = sim(s).await;
    let mut c = config();
    c.budget.ratio = 0.0;
    c.budget.min_per_second = 0;
    let client = client(&sim, c);
    let err = client.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::BudgetExhausted { .. }), "{err}");
    assert_eq!(err.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_new_config_applies_to_the_running_client() {
    let mut s = Scenario::default();
    s.faults.server_error = 1.0;
    let sim = sim(s).await;
    let client = client(&sim, config());
    assert_eq!(client.agents().list().await.unwrap_err().attempts(), 5);
    let mut c = config();
    c.retry.max_attempts = 2;
    client.apply_config(c).unwrap();
    assert_eq!(client.agents().list().await.unwrap_err().attempts(), 2);
    let mut bad = config();
    bad.retry.max_attempts = 0;
    let e = client.apply_config(bad).unwrap_err();
    assert!(e.to_string().contains("retry.max_attempts"));
    assert_eq!(
        client.policy().config().retry.max_attempts,
        2,
        "a bad config changes nothing"
    );
}
