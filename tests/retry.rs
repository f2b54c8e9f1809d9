//! Retry decisions end to end against the simulator: transient failures retry to success,
//! fatal errors are not retried, ambiguous creates are surfaced, limits end retries.

mod common;

use std::time::Duration;

use common::{AGENT, client, config, requests, sim};
use redial::policy::{ErrorCode, GiveUpReason};
use redial::sim::Scenario;
use redial::transport::{Error, NewCall};

fn faulty(f: impl FnOnce(&mut redial::sim::FaultConfig)) -> Scenario {
    let mut s = Scenario::default();
    f(&mut s.faults);
    s
}

#[tokio::test(start_paused = true)]
async fn transient_server_errors_retry_to_success() {
    let sim = sim(faulty(|f| f.server_error = 0.5)).await;
    let client = client(&sim, config());
    for _ in 0..10 {
        let agents = client
            .agents()
            .list()
            .await
            .expect("retries hide transient 500s");
        assert!(agents.iter().any(|a| a.id == AGENT));
    }
    let stats = sim.stats();
    let failed = stats.requests_with("GET /v1/agents", "500");
    assert!(failed > 0, "the fault fired: {stats:?}");
    assert_eq!(
        requests(&sim, "GET /v1/agents"),
        10 + failed,
        "one retry per 500"
    );
}

#[tokio::test(start_paused = true)]
async fn html_502_and_non_json_bodies_are_typed_and_retried() {
    let sim = sim(faulty(|f| {
        f.html_502 = 0.15;
        f.non_json = 0.15;
    }))
    .await;
    let client = client(&sim, config());
    for _ in 0..10 {
        client
            .agents()
            .list()
            .await
            .expect("retried past proxy pages");
    }
    let faults = sim.stats().faults;
    assert!(
        faults.get("html_502").copied().unwrap_or(0) > 0
            && faults.get("non_json").copied().unwrap_or(0) > 0,
        "{faults:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_is_not_retried() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    // +15005550001 is a number the simulated Twilio rejects as invalid (21211).
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+15005550001"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Fatal {
                opted_out: false,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), Some(&ErrorCode::OutboundFailed));
    assert_eq!(err.attempts(), 1);
    assert_eq!(requests(&sim, "POST /v1/calls"), 1);
    assert_eq!(
        client.limiter().slots().held(),
        0,
        "a failed create frees its slot"
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_input_is_refused_before_sending() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "07446 466847"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    assert_eq!(err.code(), Some(&ErrorCode::InvalidPhoneFormat));
    assert_eq!(requests(&sim, "POST /v1/calls"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_create_that_may_have_acted_is_ambiguous_when_keys_are_not_honoured() {
    let sim = sim(faulty(|f| {
        f.server_error = 1.0;
        f.routes = vec!["POST /v1/calls".into()];
    }))
    .await;
    // Without reconciliation (with it, the create is proven not placed and sent again).
    let mut c = config();
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466847"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    assert_eq!(err.attempts(), 1, "never retried");
    let report = err
        .support_report()
        .expect("a server_error carries a support report");
    assert_eq!(report.error.error_type.as_deref(), Some("server_error"));
    assert_eq!(report.operation, "POST /v1/calls");
    assert!(!report.timestamp.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reset_after_the_server_acted_is_ambiguous_for_a_create() {
    let sim = sim(faulty(|f| {
        f.reset_after = 1.0;
        f.routes = vec!["POST /v1/calls".into()];
    }))
    .await;
    // Without reconciliation (with it, the call is found and adopted: tests/reconcile.rs).
    let mut c = config();
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466847"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    assert_eq!(
        sim.stats().calls_created,
        1,
        "the call exists: the caller must reconcile, not redial"
    );
    assert_eq!(sim.stats().duplicate_dials, 0);
}

#[tokio::test(start_paused = true)]
async fn a_hang_times_out_the_attempt_and_gets_retries() {
    let sim = sim(faulty(|f| {
        f.hang = 0.5;
        f.routes = vec!["GET /v1/agents".into()];
    }))
    .await;
    let client = client(&sim, config());
    let started = redial::limiter::clock::now();
    for _ in 0..4 {
        client
            .agents()
            .list()
            .await
            .expect("a GET is retried after a timeout");
    }
    assert!(sim.stats().faults.get("hang").copied().unwrap_or(0) > 0);
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "each hang cost one attempt timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_are_bounded() {
    let sim = sim(faulty(|f| f.server_error = 1.0)).await;
    let client = client(&sim, config());
    let err = client.agents().list().await.unwrap_err();
    assert!(matches!(err, Error::Exhausted { .. }), "{err}");
    assert_eq!(err.attempts(), 5);
    assert_eq!(
        err.detail().unwrap().give_up,
        Some(GiveUpReason::AttemptsExhausted { attempts: 5 })
    );
    assert_eq!(requests(&sim, "GET /v1/agents"), 5);
}

#[tokio::test(start_paused = true)]
async fn provider_errors_stop_at_three_attempts_with_a_support_report() {
    let sim = sim(faulty(|f| f.provider_error = 1.0)).await;
    let client = client(&sim, config());
    let err = client.agents().list().await.unwrap_err();
    assert_eq!(err.attempts(), 3);
    let report = err
        .support_report()
        .expect("a repeating provider_error carries a report");
    assert_eq!(report.repeats, 3);
    assert_eq!(report.error.error_type.as_deref(), Some("provider_error"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["attempts"], 3);
}
