//! Following a call to its end: status reads have their own breaker group, and
//! `polling.max_wait` is an absolute bound from the call's creation.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, sim};
use redial::limiter::CircuitState;
use redial::sim::{FaultKind, Scenario, ScheduledFault};
use redial::transport::{Error, NewCall};

/// Issue 12, item 5: `calls().get` (the polls of `wait_until_done`) used the `calls` breaker
/// group: a successful poll, let through as the half-open probe, closed the circuit that
/// creates still trip. Polls now have their own group (`call_status`).
#[tokio::test(start_paused = true)]
async fn a_successful_poll_does_not_close_the_circuit_of_creates() {
    let mut s = Scenario::default();
    s.calls.duration_min = Duration::from_secs(600);
    s.calls.duration_max = Duration::from_secs(600);
    s.faults.scheduled = vec![ScheduledFault {
        start: Duration::from_secs(1),
        end: Duration::from_secs(3600),
        kind: FaultKind::ServerError,
        rate: 1.0,
        routes: vec!["POST /v1/calls".into()],
    }];
    let sim = sim(s).await;
    let mut c = config();
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 2;
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let live = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000040001"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..2 {
        let e = client
            .calls()
            .create(&NewCall::new(AGENT, format!("+44200004010{i}")))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Ambiguous { .. }), "{e}");
    }
    let breakers = client.limiter().breakers();
    assert!(matches!(breakers.state("calls"), CircuitState::Open { .. }));
    tokio::time::sleep(Duration::from_secs(6)).await; // past break_duration: half-open
    let polled = client.calls().get(&live.call.id).await.unwrap();
    assert_eq!(polled.id, live.call.id);
    assert_ne!(
        breakers.state("calls"),
        CircuitState::Closed,
        "a poll says nothing about creates"
    );
}

/// Issue 12, item 5: `polling.max_wait` was restarted by every call to `wait_until_done` (a
/// campaign's poll resumes held a never-ending call's slot ~11 h). It is now counted from the
/// call's creation.
#[tokio::test(start_paused = true)]
async fn max_wait_counts_from_the_calls_creation_across_calls() {
    let mut s = Scenario::default();
    s.calls.duration_min = Duration::from_secs(7200);
    s.calls.duration_max = Duration::from_secs(7200);
    s.calls.outcomes.busy = 0;
    s.calls.outcomes.no_answer = 0;
    s.calls.outcomes.failed = 0;
    let sim = sim(s).await;
    let mut c = config();
    c.polling.max_wait = Duration::from_secs(600);
    c.polling.initial = Duration::from_secs(5);
    c.polling.max = Duration::from_secs(30);
    let client = client(&sim, c);
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000040201"))
        .await
        .unwrap();
    let born = redial::limiter::clock::now();
    let e = client
        .calls()
        .wait_until_done(&placed.call.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(born.elapsed() <= Duration::from_secs(600));
    // Resuming does not restart the bound: it polls only in what is left of it.
    let e = client
        .calls()
        .wait_until_done(&placed.call.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        born.elapsed() <= Duration::from_secs(600),
        "{:?}",
        born.elapsed()
    );
    // Nor does a caller that gives the creation itself; past the bound, the status is asked
    // once (a caller following a call must learn where it is), and no more.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let e = client
        .calls()
        .wait_until_done_since(&placed.call.id, born)
        .await
        .unwrap_err();
    assert_eq!(e.attempts(), 1, "one read: the bound had passed");
    assert!(born.elapsed() <= Duration::from_secs(616));
}
