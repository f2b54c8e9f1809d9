//! Nobody is dialled twice because of a retry: a 1,000-call campaign under a 20% mix of
//! injected 500s, 502s, resets after the server acted and hangs, with idempotency honoured,
//! creates no duplicate dial, and every call ends in success or a typed error.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, honoured, sim};
use redial::sim::Scenario;
use redial::transport::{Error, NewCall};

const CALLS: usize = 1_000;
const CONCURRENCY: usize = 50;

#[tokio::test(start_paused = true)]
async fn a_faulty_campaign_never_dials_anyone_twice() {
    let mut s = Scenario {
        seed: 2026,
        ..Scenario::default()
    };
    s.idempotency.honoured = true;
    s.calls.duration_min = Duration::from_secs(1);
    s.calls.duration_max = Duration::from_secs(3);
    s.faults.server_error = 0.06;
    s.faults.provider_error = 0.05;
    s.faults.reset_after = 0.05;
    s.faults.hang = 0.04;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    let mut c = honoured(config());
    c.retry.max_attempts = 8;
    c.codes.insert("provider_error".into(), Default::default());
    c.types.insert(
        "provider_error".into(),
        redial::policy::config::RuleConfig {
            max_attempts: Some(8),
            ..Default::default()
        },
    );
    c.budget.enabled = false;
    let client = client(&sim, c);

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let jobs = (0..CALLS).map(|i| {
        let client = client.clone();
        let semaphore = semaphore.clone();
        async move {
            let _permit = semaphore.acquire().await.unwrap();
            let mut call = NewCall::new(AGENT, format!("+4420{i:08}"));
            call.idempotency_key = Some(format!("campaign-test-{i}"));
            let placed = client.calls().create(&call).await?;
            let done = client.calls().wait_until_done(&placed.call.id).await?;
            drop(placed.slot);
            Ok::<_, Error>(done)
        }
    });
    let results = futures::future::join_all(jobs).await;
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "{stats:?}");
    assert_eq!(stats.duplicate_creates_per_key, 0);
    assert!(
        stats.faults.values().sum::<u64>() >= 150,
        "the faults fired: {:?}",
        stats.faults
    );
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        match r {
            Ok(call) => assert!(call.status.is_terminal()),
            Err(e) => assert!(
                matches!(
                    e,
                    Error::Exhausted { .. } | Error::Timeout { .. } | Error::BudgetExhausted { .. }
                ),
                "a typed outcome: {e}"
            ),
        }
    }
    assert!(
        ok >= CALLS * 98 / 100,
        "almost every call got through the faults: {ok}"
    );
    assert!(
        stats.idempotent_replays > 0,
        "retries after resets were answered from the key store"
    );
}

#[tokio::test(start_paused = true)]
async fn without_honoured_keys_a_reset_create_is_ambiguous_and_never_redialled() {
    let mut s = Scenario::default();
    s.idempotency.honoured = false;
    s.faults.reset_after = 0.3;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    // Without reconciliation (with it, tests/reconcile.rs: none stays ambiguous).
    let mut c = config();
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let mut ambiguous = 0;
    for i in 0..40 {
        match client
            .calls()
            .create(&NewCall::new(AGENT, format!("+4421{i:08}")))
            .await
        {
            Ok(placed) => drop(placed),
            Err(Error::Ambiguous { .. }) => ambiguous += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(ambiguous > 0);
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0);
    assert_eq!(stats.duplicate_creates_per_key, 0);
    assert_eq!(
        stats.calls_created, 40,
        "every contact dialled exactly once, ambiguous ones included"
    );
}

#[tokio::test(start_paused = true)]
async fn the_idempotency_key_is_the_same_on_every_attempt_so_a_retry_gets_the_original_call() {
    let mut s = Scenario::default();
    s.idempotency.honoured = true;
    s.faults.reset_after = 1.0;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    let client = client(&sim, honoured(config()));
    // The first attempt creates the call and loses the answer to a reset; the retry carries
    // the same key, so the server replays the original 201 instead of dialling again.
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000000001"))
        .await
        .expect("the replay is a success");
    assert_eq!(placed.attempts, 2);
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 1, "one retry, one call: {stats:?}");
    assert_eq!(stats.idempotent_replays, 1);
    assert_eq!(stats.duplicate_dials, 0);
}
