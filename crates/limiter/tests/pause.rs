//! Retry-After pauses: a pause holds every request of the account, is never shortened, and
//! ends with one probe before the rest are released at the buckets' pace.

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

/// Every waiter is held, whatever its route; at the end one probe goes, and the rest go
/// when it is answered. (Before the probe rule, all three went at 2 s together.)
#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_waiter_and_ends_with_one_probe() {
    let pacer = pacer();
    let start = now();
    pacer.on_throttle(Method::Get, "/v1/agents", Some(Duration::from_secs(2)));
    assert_eq!(
        pacer.snapshot()[0].paused_until,
        Some(start + Duration::from_secs(2))
    );
    assert_eq!(pacer.paused_until(), Some(start + Duration::from_secs(2)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for path in ["/v1/agents", "/v1/calls", "/v1/numbers"] {
        let (p, tx) = (Arc::clone(&pacer), tx.clone());
        tokio::spawn(async move {
            p.acquire(Method::Get, path).await;
            tx.send(now()).unwrap();
        });
    }
    drop(tx);
    let probe = rx.recv().await.unwrap();
    assert_about(probe - start, Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx.try_recv().is_err(),
        "the rest wait for the probe's answer"
    );
    pacer.on_success(Method::Get, "/v1/agents");
    for _ in 0..2 {
        let at = rx.recv().await.unwrap();
        assert!(at - start >= Duration::from_millis(2300));
        assert!(
            at - start < Duration::from_millis(2400),
            "released at the bucket's pace"
        );
    }
    assert_eq!(pacer.snapshot()[0].paused_until, None);
    assert_eq!(pacer.paused_until(), None);
}

/// An unanswered probe (its answer lost) holds the rest for `PROBE_TIMEOUT` only.
#[tokio::test(start_paused = true)]
async fn an_unanswered_probe_releases_the_rest_after_the_probe_timeout() {
    let pacer = pacer();
    let start = now();
    pacer.on_throttle(Method::Get, "/x", Some(Duration::from_secs(3600)));
    pacer.acquire(Method::Get, "/x").await; // the probe
    assert_about(start.elapsed(), Duration::from_secs(3600));
    pacer.acquire(Method::Get, "/x").await;
    // Then the bucket's burst, refilled during the pause, is drained: one interval at 100/s.
    assert_about(
        start.elapsed(),
        Duration::from_secs(3600) + redial_limiter::PROBE_TIMEOUT + Duration::from_millis(10),
    );
}

/// A throttle on one route pauses the account: requests of other routes and other buckets
/// are held too.
#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_bucket() {
    let pacer = InProcessPacer::new(&pacing(
        vec![
            bucket("calls", &["POST /v1/calls"], 100.0, 10),
            bucket("account", &["*"], 100.0, 10),
        ],
        false,
    ));
    let start = now();
    pacer.on_throttle(Method::Get, "/v1/calls/c1", Some(Duration::from_secs(3600)));
    for b in pacer.snapshot() {
        assert_eq!(
            b.paused_until,
            Some(start + Duration::from_secs(3600)),
            "{b:?}"
        );
    }
    pacer.acquire(Method::Post, "/v1/calls").await;
    assert_about(start.elapsed(), Duration::from_secs(3600));
}

/// Issue 12, item 5: a create that took its route-bucket cell before a pause, and waited
/// through the pause for the account bucket, went at the end on that old cell, while a second
/// create took the route bucket's refilled burst: two creates together, twice the route's
/// burst. Cells are now taken at release time, and the burst refilled during the pause is
/// drained, so the second create waits a full route interval.
#[tokio::test(start_paused = true)]
async fn after_a_pause_creates_take_their_route_cells_at_release_time() {
    let pacer = Arc::new(InProcessPacer::new(&pacing(
        vec![
            bucket("calls", &["POST /v1/calls"], 0.1, 1),
            bucket("account", &["*"], 1.0, 1),
        ],
        false,
    )));
    let start = now();
    pacer.acquire(Method::Get, "/v1/agents").await; // the account cell is spent until 1 s
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let create = |tx: tokio::sync::mpsc::UnboundedSender<_>| {
        let p = Arc::clone(&pacer);
        tokio::spawn(async move {
            p.acquire(Method::Post, "/v1/calls").await;
            tx.send(now()).unwrap();
        })
    };
    create(tx.clone()); // takes the route cell, queues on the account bucket
    tokio::time::sleep(Duration::from_millis(500)).await;
    pacer.on_throttle(Method::Post, "/v1/calls", Some(Duration::from_secs(100)));
    create(tx); // queued behind the pause
    let first = rx.recv().await.unwrap();
    assert!(
        first - start >= Duration::from_millis(100_500),
        "{:?}",
        first - start
    );
    pacer.on_success(Method::Post, "/v1/calls");
    let second = rx.recv().await.unwrap();
    assert!(
        second - first >= Duration::from_secs(9),
        "the second create went {:?} after the first; the route allows one per 10 s",
        second - first
    );
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
