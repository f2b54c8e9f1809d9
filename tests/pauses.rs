//! Long Retry-After = the account is paused (issue 12, item 2), at real time scales on the
//! paused clock: a quota that answers `Retry-After: 3600`.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, requests, sim};
use redial::policy::ErrorCode;
use redial::sim::{FaultKind, Scenario, ScheduledFault};
use redial::transport::{Error, NewCall};

/// A quota: two requests, then one per `period` (the simulator answers `Retry-After` with the
/// time to the next one).
fn quota(period: Duration) -> Scenario {
    let mut s = Scenario::default();
    s.limits.requests_per_second = 1.0 / period.as_secs_f64();
    s.limits.burst = 2;
    s
}

/// Measured in the issue: after "wait an hour", every later create went out once, got the
/// same 429 and ended `failed`. Now the first 429 pauses the account: that create ends
/// `Paused` (halted, re-dialable) and the later ones are not sent at all.
#[tokio::test(start_paused = true)]
async fn a_retry_after_of_an_hour_pauses_the_account_and_nothing_more_is_sent() {
    let sim = sim(quota(Duration::from_secs(3600))).await;
    let client = client(&sim, config()); // max_pause: the default max_retry_after, 1 min
    for i in 0..2 {
        client
            .calls()
            .create(&NewCall::new(AGENT, format!("+4420000080{i:02}")))
            .await
            .expect("within the quota");
    }
    assert!(client.pause().is_none());
    let mut errors = Vec::new();
    for i in 2..6 {
        errors.push(
            client
                .calls()
                .create(&NewCall::new(AGENT, format!("+4420000080{i:02}")))
                .await
                .unwrap_err(),
        );
    }
    for (i, e) in errors.iter().enumerate() {
        assert!(matches!(e, Error::Paused { .. }), "{e}");
        assert_eq!(e.outcome(), "halted", "never failed");
        assert_eq!(e.code(), Some(&ErrorCode::RateLimitExceeded));
        assert_eq!(e.attempts(), u32::from(i == 0), "only the first was sent");
        let Error::Paused { retry_in, .. } = e else {
            unreachable!()
        };
        assert!(*retry_in > Duration::from_secs(3500), "{retry_in:?}");
    }
    let pause = client.pause().expect("the account is paused");
    assert!(pause.retry_in > Duration::from_secs(3500));
    assert_eq!(
        pause.cause.and_then(|c| c.code),
        Some(ErrorCode::RateLimitExceeded)
    );
    assert_eq!(
        requests(&sim, "POST /v1/calls"),
        3,
        "one refused request, not four"
    );
    // Status reads are held too: the account may send nothing.
    let err = client.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::Paused { .. }), "{err}");
}

/// With `pacing.max_pause` longer than the pause, creates wait it out; one probe goes first
/// when it ends, and nothing fails: every contact is placed with few refusals.
#[tokio::test(start_paused = true)]
async fn creates_wait_out_a_pause_within_max_pause_and_all_are_placed() {
    let sim = sim(quota(Duration::from_secs(1800))).await;
    let mut c = config();
    c.pacing.max_pause = Some(Duration::from_secs(2 * 3600));
    let client = client(&sim, c);
    let started = redial::limiter::clock::now();
    let jobs = (0..5).map(|i| {
        let client = client.clone();
        async move {
            client
                .calls()
                .create(&NewCall::new(AGENT, format!("+4420000090{i:02}")))
                .await
                .map(|placed| placed.call.id)
        }
    });
    for r in futures::future::join_all(jobs).await {
        r.expect("every create is placed once the pause ends");
    }
    // Two at once, then one per 30 minutes.
    assert!(started.elapsed() >= Duration::from_secs(3 * 1800));
    let refused = sim
        .stats()
        .rate_limited
        .get("rate_limit_exceeded")
        .copied()
        .unwrap_or(0);
    // Three creates were in flight together when the first refusal came; after that, at
    // most the one request released after each probe meets the next refusal.
    assert!(refused <= 6, "a probe per pause, not a storm: {refused}");
    assert_eq!(sim.stats().calls_created, 5);
}

/// Twilio 20429 inside `outbound_failed` is a rate limit: the account slows down (throttle) and
/// the create waits it out; it used to retry on the 100 ms schedule and fail after 3 attempts.
#[tokio::test(start_paused = true)]
async fn twilio_20429_throttles_the_account_instead_of_failing_the_create() {
    let mut s = Scenario::default();
    s.faults.twilio_errors = vec![20429];
    s.faults.scheduled = vec![ScheduledFault {
        start: Duration::ZERO,
        end: Duration::from_secs(5),
        kind: FaultKind::OutboundFailed,
        rate: 1.0,
        routes: vec!["POST /v1/calls".into()],
    }];
    let sim = sim(s).await;
    let client = client(&sim, config());
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000010001"))
        .await
        .expect("placed once Twilio stops refusing");
    assert!(placed.attempts > 3, "{}", placed.attempts);
    let account = &client.limiter().pacer().snapshot()[0];
    assert!(
        account.rate < account.ceiling,
        "the account slowed down: {account:?}"
    );
}
