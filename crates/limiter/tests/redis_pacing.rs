//! The Redis pacer with several "processes" (separate `RedisFleet` handles, each with its own
//! connection) sharing one bucket, on a real `redis-server`. These run on the real clock
//! (Redis server time is real): windows of a second or two, assertions on counts with
//! tolerances, never on durations.

#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redial_limiter::redis::{FleetConfig, RedisFleet, RedisPacer};
use redial_limiter::{Pacer, clock};
use redial_policy::Method;
use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig};
use support::RedisServer;

fn one_bucket(rate: f64, burst: u32, adaptive: bool) -> PacingConfig {
    PacingConfig {
        max_pause: None,
        in_flight: Default::default(),
        buckets: vec![BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate,
            burst,
        }],
        adaptive: AdaptiveConfig {
            enabled: adaptive,
            ..AdaptiveConfig::default()
        },
    }
}

fn fleet(server: &RedisServer, namespace: &str) -> RedisFleet {
    let mut cfg = FleetConfig::new(server.url(), namespace);
    cfg.probe_ttl = Duration::from_secs(1);
    RedisFleet::new(cfg).unwrap()
}

/// Spawns `callers` tasks acquiring from `pacer` in a loop until `stop`, counting admissions.
fn hammer(
    pacer: &Arc<RedisPacer>,
    callers: usize,
    count: &Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..callers)
        .map(|_| {
            let (pacer, count) = (Arc::clone(pacer), Arc::clone(count));
            tokio::spawn(async move {
                loop {
                    pacer.acquire(Method::Post, "/v1/calls").await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_one_bucket() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    const RATE: f64 = 40.0;
    const BURST: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(2);
    let counts: Vec<_> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let pacers: Vec<_> = (0..3)
        .map(|_| {
            Arc::new(
                fleet(&server, "share")
                    .pacer(&one_bucket(RATE, BURST, false))
                    .unwrap(),
            )
        })
        .collect();
    let start = clock::now();
    let tasks: Vec<_> = pacers
        .iter()
        .zip(&counts)
        .flat_map(|(p, c)| hammer(p, 4, c))
        .collect();
    tokio::time::sleep_until(start + WINDOW).await;
    let got: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    tasks.iter().for_each(|t| t.abort());
    let total: u64 = got.iter().sum();
    // GCRA over the window: the burst at once, then one cell every 1/RATE s.
    let ideal = f64::from(BURST) + RATE * WINDOW.as_secs_f64();
    assert!(
        (total as f64) <= ideal + 2.0,
        "admitted {total} ({got:?}) in {WINDOW:?}, more than {ideal} + 2"
    );
    assert!(
        (total as f64) >= ideal * 0.85,
        "admitted only {total} ({got:?}) in {WINDOW:?}, ideal {ideal}"
    );
    for (i, n) in got.iter().enumerate() {
        assert!(
            *n as f64 >= total as f64 * 0.1,
            "process {i} starved: {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_set_by_one_process_holds_the_others_and_one_probe_goes_first() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = one_bucket(20.0, 5, false);
    let a = Arc::new(fleet(&server, "pause").pacer(&config).unwrap());
    let b = Arc::new(fleet(&server, "pause").pacer(&config).unwrap());
    let c = Arc::new(fleet(&server, "pause").pacer(&config).unwrap());
    a.acquire(Method::Post, "/v1/calls").await;
    // A 429 with Retry-After: 1 s, seen by process a only.
    let t0 = clock::now();
    a.on_throttle(Method::Post, "/v1/calls", Some(Duration::from_secs(1)));
    a.flush().await;
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = hammer(&b, 3, &count);
    tasks.extend(hammer(&c, 3, &count));
    tokio::time::sleep_until(t0 + Duration::from_millis(800)).await;
    assert_eq!(
        count.load(Ordering::Relaxed),
        0,
        "b and c held by a's pause"
    );
    // The pause ends at ~1 s; the probe token lives 1 s: exactly one request goes.
    tokio::time::sleep_until(t0 + Duration::from_millis(1600)).await;
    assert_eq!(count.load(Ordering::Relaxed), 1, "one probe first");
    // The probe succeeded: its process reports it (the other's report is a no-op), the bucket
    // releases the rest at its rate, starting drained.
    b.on_success(Method::Post, "/v1/calls");
    c.on_success(Method::Post, "/v1/calls");
    b.flush().await;
    c.flush().await;
    let released = clock::now();
    tokio::time::sleep_until(released + Duration::from_millis(600)).await;
    let after = count.load(Ordering::Relaxed);
    tasks.iter().for_each(|t| t.abort());
    // 20/s for 0.6 s from a drained bucket: about 12, never a burst on top.
    assert!(
        (6..=15).contains(&after),
        "released {after} after the probe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_in_one_process_lowers_the_rate_of_all() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = one_bucket(50.0, 1, true);
    let a = fleet(&server, "adaptive").pacer(&config).unwrap();
    let b = fleet(&server, "adaptive").pacer(&config).unwrap();
    b.acquire(Method::Get, "/v1/calls/x").await;
    assert_eq!(b.snapshot()[0].rate, 50.0);
    a.on_throttle(Method::Get, "/v1/calls/x", None);
    a.flush().await;

    // b learns the fleet's rate from its next acquire: beta (0.7) x 50 = 35.
    b.acquire(Method::Get, "/v1/calls/x").await;
    let rate = b.snapshot()[0].rate;
    assert!(
        (rate - 35.0).abs() < 0.01,
        "b's rate after a's throttle: {rate}"
    );
    // Recovery reported by b moves the shared rate back up the cubic curve.
    b.on_success(Method::Get, "/v1/calls/x");
    b.flush().await;
    let rate = b.snapshot()[0].rate;
    assert!((35.0..50.0).contains(&rate), "recovering: {rate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_account_buckets_are_taken_together() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = PacingConfig {
        max_pause: None,
        in_flight: Default::default(),
        buckets: vec![
            BucketConfig {
                name: "calls".into(),
                routes: vec!["POST /v1/calls".into()],
                rate: 0.5,
                burst: 1,
            },
            BucketConfig {
                name: "account".into(),
                routes: vec!["*".into()],
                rate: 100.0,
                burst: 3,
            },
        ],
        adaptive: AdaptiveConfig {
            enabled: false,
            ..AdaptiveConfig::default()
        },
    };
    let a = Arc::new(fleet(&server, "two").pacer(&config).unwrap());
    a.acquire(Method::Post, "/v1/calls").await;
    // The calls bucket is empty for 2 s; a waiter there must not spend account cells.
    let waiter = {
        let a = Arc::clone(&a);
        tokio::spawn(async move { a.acquire(Method::Post, "/v1/calls").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    waiter.abort();
    // The account bucket still has its burst minus the one create: two reads go at once.
    let reads = tokio::time::timeout(Duration::from_millis(100), async {
        a.acquire(Method::Get, "/v1/calls/1").await;
        a.acquire(Method::Get, "/v1/calls/2").await;
    })
    .await;
    assert!(
        reads.is_ok(),
        "status reads are not held by the calls bucket"
    );
}
