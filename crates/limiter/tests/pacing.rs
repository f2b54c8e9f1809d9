//! Request pacing: accuracy, FIFO fairness, cancellation safety, bucket matching.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_about, bucket, pacing};
use futures::FutureExt;
use redial_limiter::clock::now;
use redial_limiter::{InProcessPacer, Pacer};
use redial_policy::Method;
use tokio::sync::mpsc;

fn account_only(rate: f64, burst: u32) -> InProcessPacer {
    InProcessPacer::new(&pacing(vec![bucket("account", &["*"], rate, burst)], false))
}

#[tokio::test(start_paused = true)]
async fn n_acquires_take_n_minus_burst_over_rate() {
    let pacer = account_only(10.0, 5);
    let start = now();
    for _ in 0..50 {
        pacer.acquire(Method::Get, "/v1/agents").await;
    }
    assert_about(start.elapsed(), Duration::from_millis(4500)); // (50 - 5) / 10
}

#[tokio::test(start_paused = true)]
async fn concurrent_acquires_are_paced_as_well() {
    let pacer = Arc::new(account_only(4.0, 2));
    let start = now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let p = Arc::clone(&pacer);
            tokio::spawn(async move { p.acquire(Method::Get, "/v1/calls").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_about(start.elapsed(), Duration::from_secs(2)); // (10 - 2) / 4
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    let pacer = Arc::new(account_only(10.0, 1));
    pacer.acquire(Method::Get, "/v1/agents").await; // spend the burst
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..8 {
        let (p, tx) = (Arc::clone(&pacer), tx.clone());
        tokio::spawn(async move {
            p.acquire(Method::Get, "/v1/agents").await;
            tx.send((i, now())).unwrap();
        });
        tokio::task::yield_now().await; // let it join the queue before the next one
    }
    drop(tx);
    let mut order = Vec::new();
    let mut times = Vec::new();
    while let Some((i, t)) = rx.recv().await {
        order.push(i);
        times.push(t);
    }
    assert_eq!(order, (0..8).collect::<Vec<_>>());
    for w in times.windows(2) {
        assert_about(w[1] - w[0], Duration::from_millis(100));
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_consumes_nothing() {
    let pacer = Arc::new(account_only(1.0, 1));
    let start = now();
    pacer.acquire(Method::Get, "/v1/agents").await;
    // Head waiter gives up after 0.5 s; a second waiter queued behind it also gives up.
    let behind = {
        let p = Arc::clone(&pacer);
        tokio::spawn(async move {
            tokio::time::timeout(Duration::from_millis(300), p.acquire(Method::Get, "/x")).await
        })
    };
    let head = tokio::time::timeout(
        Duration::from_millis(500),
        pacer.acquire(Method::Get, "/v1/agents"),
    )
    .await;
    assert!(head.is_err(), "the head waiter timed out");
    assert!(
        behind.await.unwrap().is_err(),
        "the waiter behind it timed out"
    );
    assert_eq!(pacer.snapshot()[0].waiters, 0, "both left the queue");
    // Had either consumed a cell, the next would go at 2 s or 3 s, not 1 s.
    pacer.acquire(Method::Get, "/v1/agents").await;
    assert_about(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_head_lets_the_next_waiter_in_on_time() {
    let pacer = Arc::new(account_only(2.0, 1));
    let start = now();
    pacer.acquire(Method::Get, "/a").await;
    let head = {
        let p = Arc::clone(&pacer);
        tokio::spawn(async move { p.acquire(Method::Get, "/a").await })
    };
    tokio::task::yield_now().await;
    let next = {
        let p = Arc::clone(&pacer);
        tokio::spawn(async move {
            p.acquire(Method::Get, "/a").await;
            now()
        })
    };
    tokio::task::yield_now().await;
    head.abort();
    let served = next.await.unwrap();
    assert_about(served - start, Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn every_request_counts_against_the_account_bucket_too() {
    let pacer = InProcessPacer::new(&pacing(
        vec![
            bucket("calls", &["POST /v1/calls"], 100.0, 100),
            bucket("account", &["*"], 2.0, 1),
        ],
        false,
    ));
    let start = now();
    for _ in 0..3 {
        pacer.acquire(Method::Post, "/v1/calls").await;
    }
    assert_about(start.elapsed(), Duration::from_secs(1)); // account: (3 - 1) / 2
    pacer.acquire(Method::Get, "/v1/agents").await;
    assert_about(start.elapsed(), Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn a_route_bucket_paces_only_its_routes() {
    let pacer = InProcessPacer::new(&pacing(
        vec![
            bucket("calls", &["POST /v1/calls"], 1.0, 1),
            bucket("account", &["*"], 1000.0, 1000),
        ],
        false,
    ));
    let start = now();
    pacer.acquire(Method::Post, "/v1/calls").await;
    for _ in 0..20 {
        pacer.acquire(Method::Get, "/v1/calls/call_1").await;
    }
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "GETs are not paced by the calls bucket"
    );
    pacer.acquire(Method::Post, "/v1/calls").await;
    assert_about(start.elapsed(), Duration::from_secs(1));
}

/// The waiter at the head keeps its turn even when a newcomer is polled first after the cell
/// frees up (a check-and-sleep loop like governor's `until_ready` lets the newcomer win).
#[tokio::test(start_paused = true)]
async fn a_newcomer_does_not_overtake_a_waiter_whose_turn_has_come() {
    let pacer = account_only(10.0, 1);
    pacer.acquire(Method::Get, "/a").await;
    let mut first = pacer.acquire(Method::Get, "/a");
    assert!((&mut first).now_or_never().is_none(), "queued");
    tokio::time::advance(Duration::from_millis(100)).await; // its cell is due; it was not polled
    let mut second = pacer.acquire(Method::Get, "/a");
    assert!(
        (&mut second).now_or_never().is_none(),
        "the newcomer waits behind the head"
    );
    assert!(
        (&mut first).now_or_never().is_some(),
        "the head takes the due cell"
    );
    assert!((&mut second).now_or_never().is_none());
    tokio::time::advance(Duration::from_millis(100)).await;
    assert!(second.now_or_never().is_some());
}

/// Issue 13, item 1 (no invented ceilings): the default config paces creates by the account
/// bucket alone. With the old `calls` bucket (5/s, burst 5), 30 creates took 5 s, not 1 s.
#[tokio::test(start_paused = true)]
async fn by_default_creates_go_at_the_account_rate() {
    use redial_policy::config::{
        DEFAULT_ACCOUNT_BURST, DEFAULT_ACCOUNT_RATE_PER_SECOND, PacingConfig,
    };
    let pacer = InProcessPacer::new(&PacingConfig::default());
    let snap = pacer.snapshot();
    assert_eq!(snap.len(), 1, "{snap:?}");
    assert_eq!(snap[0].name, "account");
    assert_eq!(
        snap[0].rate, snap[0].ceiling,
        "the adaptive rate starts at the stated ceiling"
    );
    let start = now();
    for _ in 0..30 {
        pacer.acquire(Method::Post, "/v1/calls").await;
    }
    let want = (30.0 - f64::from(DEFAULT_ACCOUNT_BURST)) / DEFAULT_ACCOUNT_RATE_PER_SECOND;
    assert_about(start.elapsed(), Duration::from_secs_f64(want));
}
