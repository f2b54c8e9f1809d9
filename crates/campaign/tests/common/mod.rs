//! Shared helpers of the engine's tests: a simulator on loopback that follows tokio's paused
//! clock, a client tuned for it, and contacts.
#![allow(dead_code)]

use std::time::Duration;

use redial_campaign::{Contact, ContactOutcome, OutcomeStatus, SourceItem};
use redial_policy::config::{BucketConfig, Config, Idempotency};
use redial_sim::{Scenario, Sim, SimHandle};
use redial_transport::{ApiKey, Client};

/// The simulator's seeded key.
pub(crate) const KEY: &str = "demo_key:demo_secret";
/// The simulator's seeded agent.
pub(crate) const AGENT: &str = "agent_demo";

/// A scenario with real call lengths: answered calls of one to three minutes.
pub(crate) fn minutes_long_calls() -> Scenario {
    let mut s = Scenario::default();
    s.calls.ringing_after = Duration::from_secs(2);
    s.calls.answered_after = Duration::from_secs(8);
    s.calls.duration_min = Duration::from_secs(60);
    s.calls.duration_max = Duration::from_secs(180);
    s
}

/// [`minutes_long_calls`] where every call is answered (so none ends in seconds).
pub(crate) fn all_answered() -> Scenario {
    let mut s = minutes_long_calls();
    s.calls.outcomes = redial_sim::OutcomeWeights {
        completed: 1,
        busy: 0,
        no_answer: 0,
        failed: 0,
    };
    s
}

/// Starts a simulator on the current runtime (it shares the test's paused clock).
pub(crate) async fn sim(scenario: Scenario) -> SimHandle {
    Sim::builder()
        .scenario(scenario)
        .start()
        .await
        .expect("simulator starts on 127.0.0.1")
}

/// A config for tests: the account's rate, `slots` live calls, breaker off, polls every few
/// seconds (calls last minutes).
pub(crate) fn config(slots: u32) -> Config {
    let mut c = Config::default();
    c.backoff.retry.base = Duration::from_millis(50);
    c.retry.attempt_timeout = Duration::from_secs(10);
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 100.0,
        burst: 20,
    }];
    c.slots.max_concurrent_calls = slots;
    c.breaker.enabled = false;
    c.polling.initial = Duration::from_secs(5);
    c.polling.max = Duration::from_secs(20);
    c
}

/// The same with idempotency keys honoured.
pub(crate) fn honoured(mut c: Config) -> Config {
    c.retry.idempotency = Idempotency::Honoured;
    c
}

/// A client of `sim`.
pub(crate) fn client(sim: &SimHandle, config: Config) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(KEY).unwrap())
        .config(config)
        .jitter_seed(7)
        .build()
        .expect("client builds")
}

/// Contact `i`: a distinct UK number at line `i + 1`.
pub(crate) fn contact(i: u64) -> Contact {
    Contact::new(number(i))
        .at_line(i + 1)
        .with_field("n", i.to_string())
}

/// The number of contact `i`.
pub(crate) fn number(i: u64) -> String {
    format!("+4474464{i:05}")
}

/// `n` contacts as source items.
pub(crate) fn contacts(n: u64) -> Vec<SourceItem> {
    (1..=n).map(|i| SourceItem::Contact(contact(i))).collect()
}

/// How many outcomes have `status`.
pub(crate) fn count(outcomes: &[ContactOutcome], status: OutcomeStatus) -> usize {
    outcomes.iter().filter(|o| o.status == status).count()
}

/// Asserts every phone in `outcomes` appears exactly once and there are `n` of them.
pub(crate) fn assert_once_each(outcomes: &[ContactOutcome], n: usize) {
    let mut phones: Vec<_> = outcomes
        .iter()
        .map(|o| (o.line, o.phone.as_str()))
        .collect();
    phones.sort();
    phones.dedup();
    assert_eq!(phones.len(), n, "one outcome per record: {outcomes:#?}");
    assert_eq!(outcomes.len(), n, "no record written twice");
}
