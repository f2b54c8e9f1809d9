//! Throttles and call slots end to end on the paused clock: Retry-After pauses the bucket,
//! the adaptive rate drops, concurrent_call_limit shrinks the slot gate and calls still finish.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, sim};
use redial::sim::Scenario;
use redial::transport::NewCall;

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_on_the_paused_clock() {
    let mut s = Scenario::default();
    s.limits.requests_per_second = 1.0;
    s.limits.burst = 1;
    let sim = sim(s).await;
    let client = client(&sim, config());
    let started = redial::limiter::clock::now();
    for _ in 0..3 {
        client
            .agents()
            .list()
            .await
            .expect("throttled, then served");
    }
    let elapsed = started.elapsed();
    let throttled = sim
        .stats()
        .rate_limited
        .get("rate_limit_exceeded")
        .copied()
        .unwrap_or(0);
    assert!(throttled >= 1, "the sim answered 429s");
    assert!(
        elapsed >= Duration::from_secs(2),
        "3 requests at 1/s need 2 s of waiting: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(8),
        "and not much more: {elapsed:?}"
    );
    let account = client
        .limiter()
        .pacer()
        .snapshot()
        .into_iter()
        .find(|b| b.name == "account")
        .unwrap();
    assert!(
        account.rate < 10_000.0,
        "the adaptive rate dropped below the ceiling: {account:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slot_limit_hit_shrinks_the_gate_and_every_call_finishes() {
    let mut s = Scenario::default();
    s.limits.max_concurrent_calls = 3;
    s.calls.duration_min = Duration::from_secs(2);
    s.calls.duration_max = Duration::from_secs(4);
    let sim = sim(s).await;
    let mut c = config();
    c.slots.max_concurrent_calls = 8;
    c.codes.insert(
        "concurrent_call_limit".into(),
        redial::policy::config::RuleConfig {
            max_attempts: Some(50),
            ..Default::default()
        },
    );
    let client = client(&sim, c);
    let jobs = (0..12).map(|i| {
        let client = client.clone();
        async move {
            let placed = client
                .calls()
                .create(&NewCall::new(AGENT, format!("+4474464669{i:02}")))
                .await?;
            let done = client.calls().wait_until_done(&placed.call.id).await?;
            drop(placed.slot);
            Ok::<_, redial::transport::Error>(done)
        }
    });
    let results = futures::future::join_all(jobs).await;
    for r in &results {
        let call = r.as_ref().expect("every call is placed and ends");
        assert!(call.status.is_terminal());
    }
    let stats = sim.stats();
    assert!(
        stats
            .rate_limited
            .get("concurrent_call_limit")
            .copied()
            .unwrap_or(0)
            > 0,
        "the limit was hit"
    );
    assert!(stats.max_live_calls <= 3);
    assert_eq!(stats.calls_created, 12);
    assert_eq!(client.limiter().slots().held(), 0);
    assert!(
        client.limiter().slots().limit() < 8,
        "the gate learned the account's limit"
    );
}

#[tokio::test(start_paused = true)]
async fn pacing_spreads_requests_at_the_configured_rate() {
    let sim = sim(Scenario::default()).await;
    let mut c = config();
    c.pacing.buckets[0].rate = 10.0;
    c.pacing.buckets[0].burst = 1;
    let client = client(&sim, c);
    let started = redial::limiter::clock::now();
    for _ in 0..21 {
        client.agents().list().await.unwrap();
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_millis(2_100),
        "{elapsed:?}"
    );
}
