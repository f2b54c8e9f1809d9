//! Retry-After pauses: a pause holds every waiter of the bucket and is never shortened.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_about, bucket, pacing};
use redial_limiter::clock::now;
use redial_limiter::{InProcessPacer, Pacer};
use redial_policy::Method;

fn pacer() -> Arc<InProcessPacer> {
    Arc::new(InProcessPacer::new(&pacing(
        vec![bucket("account", &["*"], 100.0, 10)],
        false,
    )))
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_waiter_not_only_the_throttled_request() {
    let pacer = pacer();
    let start = now();
    pacer.on_throttle(Method::Get, "/v1/agents", Some(Duration::from_secs(2)));
    assert_eq!(
        pacer.snapshot()[0].paused_until,
        Some(start + Duration::from_secs(2))
    );
    let tasks: Vec<_> = ["/v1/agents", "/v1/calls", "/v1/numbers"]
        .into_iter()
        .map(|path| {
            let p = Arc::clone(&pacer);
            tokio::spawn(async move {
                p.acquire(Method::Get, path).await;
                now()
            })
        })
        .collect();
    for t in tasks {
        assert_about(t.await.unwrap() - start, Duration::from_secs(2));
    }
    assert_eq!(pacer.snapshot()[0].paused_until, None);
}

#[tokio::test(start_paused = true)]
async fn a_shorter_later_retry_after_does_not_shorten_the_pause() {
    let pacer = pacer();
    let start = now();
    pacer.on_throttle(Method::Get, "/v1/agents", Some(Duration::from_secs(5)));
    tokio::time::advance(Duration::from_secs(1)).await;
    pacer.on_throttle(Method::Get, "/v1/agents", Some(Duration::from_secs(1)));
    assert_eq!(
        pacer.snapshot()[0].paused_until,
        Some(start + Duration::from_secs(5))
    );
    pacer.acquire(Method::Get, "/v1/agents").await;
    assert_about(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_longer_later_retry_after_extends_the_pause_for_current_waiters() {
    let pacer = pacer();
    let start = now();
    pacer.on_throttle(Method::Get, "/x", Some(Duration::from_secs(1)));
    let waiter = {
        let p = Arc::clone(&pacer);
        tokio::spawn(async move {
            p.acquire(Method::Get, "/x").await;
            now()
        })
    };
    tokio::time::advance(Duration::from_millis(500)).await;
    pacer.on_throttle(Method::Get, "/x", Some(Duration::from_secs(3)));
    assert_about(waiter.await.unwrap() - start, Duration::from_millis(3500));
}

#[tokio::test(start_paused = true)]
async fn a_throttle_without_retry_after_does_not_pause() {
    let pacer = pacer();
    pacer.on_throttle(Method::Get, "/x", None);
    assert_eq!(pacer.snapshot()[0].paused_until, None);
    let start = now();
    pacer.acquire(Method::Get, "/x").await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}
