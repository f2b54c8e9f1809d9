//! Shared helpers of the black-box tests: a simulator on loopback and a client tuned for
//! fast, deterministic tests on tokio's paused clock.
#![allow(dead_code)]

use std::time::Duration;

use redial::policy::config::{BucketConfig, Config, Idempotency};
use redial::sim::{Scenario, Sim, SimHandle};
use redial::transport::{ApiKey, Client};

pub(crate) mod stub;

/// The simulator's default key.
pub(crate) const KEY: &str = "demo_key:demo_secret";
/// The simulator's default agent (owns `+14155550100`).
pub(crate) const AGENT: &str = "agent_demo";

/// Starts a simulator on the current runtime (so it shares the test's paused clock).
pub(crate) async fn sim(scenario: Scenario) -> SimHandle {
    Sim::builder()
        .scenario(scenario)
        .start()
        .await
        .expect("simulator starts on 127.0.0.1")
}

/// A config for tests: fast backoff, no self-pacing to speak of, breaker off.
pub(crate) fn config() -> Config {
    let mut c = Config::default();
    c.backoff.retry.base = Duration::from_millis(10);
    c.backoff.throttle.base = Duration::from_millis(100);
    c.retry.attempt_timeout = Duration::from_secs(5);
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 10_000.0,
        burst: 1_000,
    }];
    c.slots.max_concurrent_calls = 1_000;
    c.breaker.enabled = false;
    c.polling.initial = Duration::from_millis(200);
    c.polling.max = Duration::from_millis(500);
    c
}

/// The same with idempotency honoured.
pub(crate) fn honoured(mut c: Config) -> Config {
    c.retry.idempotency = Idempotency::Honoured;
    c
}

/// A client of `sim` with `config`.
pub(crate) fn client(sim: &SimHandle, config: Config) -> Client {
    client_at(&sim.base_url(), config)
}

/// A client of the server at `base_url` with `config`.
pub(crate) fn client_at(base_url: &str, config: Config) -> Client {
    Client::builder()
        .base_url(base_url)
        .api_key(ApiKey::parse(KEY).unwrap())
        .config(config)
        .jitter_seed(7)
        .build()
        .expect("client builds")
}

/// Total requests the simulator answered on a route pattern, any status.
pub(crate) fn requests(sim: &SimHandle, route: &str) -> u64 {
    sim.stats()
        .requests
        .get(route)
        .map_or(0, |by_status| by_status.values().sum())
}
