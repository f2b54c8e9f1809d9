//! Retry budget: refusal and refill over the sliding window.

use std::time::Duration;

use redial_limiter::Budget;
use redial_policy::RetryBudget;
use redial_policy::config::BudgetConfig;

fn budget(ratio: f64, min_per_second: u32) -> Budget {
    Budget::new(&BudgetConfig {
        ratio,
        min_per_second,
        window: Duration::from_secs(10),
        ..BudgetConfig::default()
    })
}

#[tokio::test(start_paused = true)]
async fn retries_are_limited_to_the_ratio_of_requests() {
    let b = budget(0.2, 0);
    assert!(!b.try_withdraw(1.0), "nothing deposited, no reserve");
    for _ in 0..10 {
        b.deposit();
    }
    assert!(b.try_withdraw(1.0));
    assert!(b.try_withdraw(1.0));
    assert!(!b.try_withdraw(1.0), "10 requests x 0.2 = 2 retries");
    assert!(
        !b.try_withdraw(0.5),
        "a refused withdrawal takes nothing, but nothing is left"
    );
}

#[tokio::test(start_paused = true)]
async fn costs_are_units() {
    let b = budget(1.0, 0);
    for _ in 0..5 {
        b.deposit();
    }
    assert!(b.try_withdraw(2.0));
    assert!(b.try_withdraw(2.0));
    assert!(!b.try_withdraw(2.0));
    assert!(b.try_withdraw(1.0));
}

#[tokio::test(start_paused = true)]
async fn the_reserve_allows_retries_with_no_traffic_and_refills_as_the_window_slides() {
    let b = budget(0.0, 1); // 1/s over 10 s = 10 units
    for _ in 0..10 {
        assert!(b.try_withdraw(1.0));
    }
    assert!(!b.try_withdraw(1.0));
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(!b.try_withdraw(1.0), "still inside the window");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(b.try_withdraw(1.0), "the first withdrawals slid out");
    assert_eq!(b.available(), 9.0);
}

#[tokio::test(start_paused = true)]
async fn deposits_expire_with_the_window() {
    let b = budget(0.5, 0);
    for _ in 0..4 {
        b.deposit();
    }
    assert_eq!(b.available(), 2.0);
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(b.available(), 0.0);
    assert!(!b.try_withdraw(1.0));
}

#[tokio::test(start_paused = true)]
async fn a_disabled_budget_never_refuses() {
    let b = Budget::new(&BudgetConfig {
        enabled: false,
        ratio: 0.0,
        min_per_second: 0,
        ..BudgetConfig::default()
    });
    assert!(b.try_withdraw(100.0));
}
