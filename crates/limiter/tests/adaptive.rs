//! Adaptive rate end to end: a throttle lowers the pace, successes bring it back.

mod common;

use std::time::Duration;

use common::{assert_about, bucket, pacing};
use redial_limiter::clock::now;
use redial_limiter::{InProcessPacer, Pacer};
use redial_policy::Method;
use redial_policy::config::CUBIC_BETA;

#[tokio::test(start_paused = true)]
async fn a_throttle_slows_the_bucket_and_successes_restore_the_ceiling() {
    let pacer = InProcessPacer::new(&pacing(vec![bucket("account", &["*"], 10.0, 1)], true));
    // Send at the ceiling for 3 s so the measured rate settles near 10/s.
    for _ in 0..31 {
        pacer.acquire(Method::Get, "/v1/agents").await;
    }
    pacer.on_throttle(Method::Get, "/v1/agents", None);
    let rate = pacer.snapshot()[0].rate;
    assert!(
        (9.0 * CUBIC_BETA..=10.0 * CUBIC_BETA + 1e-9).contains(&rate),
        "rate after throttle: {rate}"
    );

    // The new rate paces: the burst was drained, so 10 requests take 10 / rate.
    let start = now();
    for _ in 0..10 {
        pacer.acquire(Method::Get, "/v1/agents").await;
    }
    let want = Duration::from_secs_f64(10.0 / rate);
    assert!(
        start.elapsed().abs_diff(want) <= Duration::from_millis(10),
        "took {:?}, want {want:?}",
        start.elapsed()
    );

    // Successes over the next seconds climb back along the curve, never past the ceiling.
    let mut last = rate;
    for _ in 0..40 {
        tokio::time::advance(Duration::from_millis(100)).await;
        pacer.on_success(Method::Get, "/v1/agents");
        let r = pacer.snapshot()[0].rate;
        assert!(r >= last && r <= 10.0, "rate {r} after {last}");
        last = r;
    }
    assert_eq!(last, 10.0);
}

#[tokio::test(start_paused = true)]
async fn repeated_throttles_stop_at_the_floor() {
    let pacer = InProcessPacer::new(&pacing(vec![bucket("account", &["*"], 10.0, 1)], true));
    for _ in 0..30 {
        pacer.on_throttle(Method::Get, "/x", None);
    }
    assert_eq!(pacer.snapshot()[0].rate, 0.5);
    let start = now();
    pacer.acquire(Method::Get, "/x").await;
    assert_about(start.elapsed(), Duration::from_secs(2)); // 1 / 0.5, burst drained
}

#[tokio::test(start_paused = true)]
async fn disabled_adaptive_keeps_the_rate() {
    let pacer = InProcessPacer::new(&pacing(vec![bucket("account", &["*"], 10.0, 1)], false));
    pacer.on_throttle(Method::Get, "/x", None);
    assert_eq!(pacer.snapshot()[0].rate, 10.0);
}

#[tokio::test(start_paused = true)]
async fn reconfigure_keeps_pause_and_caps_the_adaptive_rate() {
    let pacer = InProcessPacer::new(&pacing(vec![bucket("account", &["*"], 10.0, 1)], true));
    let start = now();
    pacer.on_throttle(Method::Get, "/x", Some(Duration::from_secs(3)));
    let throttled = pacer.snapshot()[0].rate;
    pacer.reconfigure(&pacing(
        vec![
            bucket("account", &["*"], 4.0, 2),
            bucket("sms", &["POST /v1/sms"], 1.0, 1),
        ],
        true,
    ));
    let snap = pacer.snapshot();
    assert_eq!(snap.len(), 2);
    assert_eq!(snap[0].ceiling, 4.0);
    assert_eq!(snap[0].rate, throttled.min(4.0));
    assert_eq!(snap[0].burst, 2);
    assert_eq!(
        snap[0].paused_until,
        Some(start + Duration::from_secs(3)),
        "pause survives a reload"
    );
    pacer.acquire(Method::Get, "/x").await;
    assert!(start.elapsed() >= Duration::from_secs(3));
}
