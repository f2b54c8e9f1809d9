//! Waiting is not failing (issue 12, item 1), at real time scales on the paused clock: calls
//! of minutes, creates that queue for a slot far longer than their deadline.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, requests, sim};
use redial::sim::{FaultKind, Scenario, ScheduledFault};
use redial::transport::{Error, NewCall};

/// Measured in the issue: with calls longer than `retry.deadline`, contacts waiting for a slot
/// ended `timeout` after 0 attempts, undialled. With calls of 3–4 minutes, the default 2-minute
/// deadline and 2 slots, all 10 creates are placed, each in one attempt.
#[tokio::test(start_paused = true)]
async fn creates_queued_for_slots_behind_calls_of_minutes_are_all_placed() {
    let mut s = Scenario::default();
    s.calls.duration_min = Duration::from_secs(180);
    s.calls.duration_max = Duration::from_secs(240);
    s.calls.outcomes.busy = 0;
    s.calls.outcomes.no_answer = 0;
    s.calls.outcomes.failed = 0;
    let sim = sim(s).await;
    let mut c = config();
    c.retry.deadline = redial::policy::config::DEFAULT_DEADLINE;
    c.slots.max_concurrent_calls = 2;
    c.polling.initial = Duration::from_secs(30);
    c.polling.max = Duration::from_secs(30);
    let client = client(&sim, c);
    let jobs = (0..10).map(|i| {
        let client = client.clone();
        async move {
            let placed = client
                .calls()
                .create(&NewCall::new(AGENT, format!("+4420000050{i:02}")))
                .await?;
            let attempts = placed.attempts;
            client.calls().wait_until_done(&placed.call.id).await?;
            drop(placed.slot);
            Ok::<_, Error>(attempts)
        }
    });
    for r in futures::future::join_all(jobs).await {
        assert_eq!(r.expect("every contact is dialled"), 1);
    }
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 10);
    assert!(stats.max_live_calls <= 2);
    assert_eq!(client.limiter().slots().held(), 0);
}

/// `slots.max_wait` bounds the wait: the create ends unsent, `halted` (re-dialable), not
/// `timeout` or `failed`.
#[tokio::test(start_paused = true)]
async fn a_create_that_waits_past_slots_max_wait_ends_unsent_and_halted() {
    let mut s = Scenario::default();
    s.calls.duration_min = Duration::from_secs(3600);
    s.calls.duration_max = Duration::from_secs(3600);
    let sim = sim(s).await;
    let mut c = config();
    c.slots.max_concurrent_calls = 1;
    c.slots.max_wait = Some(Duration::from_secs(600));
    let client = client(&sim, c);
    let held = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000006001"))
        .await
        .unwrap();
    let started = redial::limiter::clock::now();
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000006002"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SlotWait { .. }), "{err}");
    assert_eq!(err.outcome(), "halted");
    assert_eq!(err.attempts(), 0);
    assert!(!err.may_have_acted());
    assert_eq!(started.elapsed(), Duration::from_secs(600));
    assert_eq!(
        requests(&sim, "POST /v1/calls"),
        1,
        "the second was never sent"
    );
    drop(held);
}

/// A create does not hold its slot while it backs off after an answer that proved nothing
/// happened (`outbound_failed` with a Twilio server error): another create takes the slot.
#[tokio::test(start_paused = true)]
async fn a_create_backing_off_after_a_not_acted_answer_frees_its_slot() {
    let mut s = Scenario::default();
    s.faults.twilio_errors = vec![20500];
    s.faults.scheduled = vec![ScheduledFault {
        start: Duration::ZERO,
        end: Duration::from_millis(50),
        kind: FaultKind::OutboundFailed,
        rate: 1.0,
        routes: vec!["POST /v1/calls".into()],
    }];
    let sim = sim(s).await;
    let mut c = config();
    c.slots.max_concurrent_calls = 1;
    c.backoff.retry.jitter = redial::policy::Jitter::None;
    c.backoff.retry.base = Duration::from_secs(10);
    c.backoff.retry.cap = Duration::from_secs(10);
    let client = client(&sim, c);
    let backing_off = {
        let client = client.clone();
        tokio::spawn(async move {
            let placed = client
                .calls()
                .create(&NewCall::new(AGENT, "+442000007001"))
                .await?;
            Ok::<_, Error>((placed.attempts, redial::limiter::clock::now()))
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        client.limiter().slots().held(),
        0,
        "no call holds the slot during the backoff"
    );
    let other = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000007002"))
        .await
        .expect("the free slot is taken");
    drop(other);
    let (attempts, _) = backing_off.await.unwrap().expect("placed on its retry");
    assert_eq!(attempts, 2);
}
