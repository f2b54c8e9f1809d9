//! Circuit breaker transitions.

use std::time::Duration;

use redial_limiter::clock::now;
use redial_limiter::{Breakers, CircuitState};
use redial_policy::config::BreakerConfig;

fn config() -> BreakerConfig {
    BreakerConfig {
        enabled: true,
        failure_ratio: 0.5,
        sampling_window: Duration::from_secs(30),
        min_throughput: 4,
        consecutive_failures: 0,
        break_duration: Duration::from_secs(5),
        half_open_probes: 1,
    }
}

#[tokio::test(start_paused = true)]
async fn opens_when_the_failure_ratio_is_reached_with_enough_throughput() {
    let b = Breakers::new(&config());
    for _ in 0..3 {
        b.on_failure("calls");
    }
    assert_eq!(
        b.state("calls"),
        CircuitState::Closed,
        "3 requests is below min_throughput"
    );
    b.on_success("calls");
    assert_eq!(
        b.state("calls"),
        CircuitState::Closed,
        "a success never opens"
    );
    b.on_failure("calls"); // 4 failures of 5
    let until = now() + Duration::from_secs(5);
    assert_eq!(b.state("calls"), CircuitState::Open { until });
    assert_eq!(
        b.state("messages"),
        CircuitState::Closed,
        "groups are independent"
    );
}

#[tokio::test(start_paused = true)]
async fn stays_closed_below_the_ratio() {
    let b = Breakers::new(&config());
    for _ in 0..10 {
        b.on_success("calls");
        b.on_success("calls");
        b.on_failure("calls");
    }
    assert_eq!(b.state("calls"), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn opens_after_consecutive_failures() {
    let b = Breakers::new(&BreakerConfig {
        consecutive_failures: 3,
        min_throughput: 1000,
        ..config()
    });
    b.on_failure("agents");
    b.on_failure("agents");
    b.on_success("agents");
    b.on_failure("agents");
    b.on_failure("agents");
    assert_eq!(
        b.state("agents"),
        CircuitState::Closed,
        "the success reset the run"
    );
    b.on_failure("agents");
    assert!(matches!(b.state("agents"), CircuitState::Open { .. }));
}

#[tokio::test(start_paused = true)]
async fn open_fails_fast_saying_until_when_then_half_opens_and_a_probe_success_closes() {
    let b = Breakers::new(&BreakerConfig {
        consecutive_failures: 1,
        ..config()
    });
    let start = now();
    b.on_failure("numbers");
    tokio::time::advance(Duration::from_secs(2)).await;
    let err = b.try_acquire("numbers").unwrap_err();
    assert_eq!(err.group, "numbers");
    assert_eq!(err.until, start + Duration::from_secs(5));
    assert_eq!(err.retry_in, Duration::from_secs(3));
    assert!(err.to_string().contains("numbers"));

    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(b.state("numbers"), CircuitState::HalfOpen);
    b.try_acquire("numbers").expect("one probe goes through");
    assert!(
        b.try_acquire("numbers").is_err(),
        "only half_open_probes probes"
    );
    b.on_success("numbers");
    assert_eq!(b.state("numbers"), CircuitState::Closed);
    assert!(b.try_acquire("numbers").is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_probe_failure_reopens_for_another_break() {
    let b = Breakers::new(&BreakerConfig {
        consecutive_failures: 1,
        half_open_probes: 2,
        ..config()
    });
    b.on_failure("calls");
    tokio::time::advance(Duration::from_secs(5)).await;
    b.try_acquire("calls").unwrap();
    b.try_acquire("calls").unwrap();
    b.on_failure("calls");
    let reopened = now() + Duration::from_secs(5);
    assert_eq!(b.state("calls"), CircuitState::Open { until: reopened });
    assert_eq!(b.try_acquire("calls").unwrap_err().until, reopened);
}

#[tokio::test(start_paused = true)]
async fn outcomes_reported_while_open_are_ignored() {
    let b = Breakers::new(&BreakerConfig {
        consecutive_failures: 1,
        ..config()
    });
    b.on_failure("calls");
    let until = now() + Duration::from_secs(5);
    b.on_success("calls");
    b.on_failure("calls");
    assert_eq!(b.state("calls"), CircuitState::Open { until });
}
