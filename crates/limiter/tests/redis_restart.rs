//! Redis going away and coming back under each `on_redis_error` policy, on a real
//! `redis-server` killed and restarted on the same port (empty: no persistence, no scripts).
//! Real clock; assertions on counts.

#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redial_limiter::redis::{FleetConfig, OnRedisError, RedisFleet, RedisPacer};
use redial_limiter::{Pacer, SlotGate, clock};
use redial_policy::Method;
use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig, SlotsConfig};
use support::RedisServer;

fn config(rate: f64) -> PacingConfig {
    PacingConfig {
        max_pause: None,
        in_flight: Default::default(),
        buckets: vec![BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate,
            burst: 1,
        }],
        adaptive: AdaptiveConfig {
            enabled: false,
            ..AdaptiveConfig::default()
        },
    }
}

fn fleet(server: &RedisServer, ns: &str, policy: OnRedisError) -> RedisFleet {
    let mut cfg = FleetConfig::new(server.url(), ns);
    cfg.on_redis_error = policy;
    cfg.response_timeout = Duration::from_millis(200);
    cfg.connect_timeout = Duration::from_millis(200);
    cfg.lease = Duration::from_millis(1500);
    RedisFleet::new(cfg).unwrap()
}

fn hammer(pacer: &Arc<RedisPacer>, count: &Arc<AtomicU64>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..2)
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

/// Polls `f` every 50 ms until it holds or `within` passed; returns whether it held.
async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = clock::now() + within;
    while clock::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_policy_holds_sends_while_redis_is_away_and_resumes_after_a_restart() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let fleet = fleet(&server, "restart", OnRedisError::Wait);
    let pacer = Arc::new(fleet.pacer(&config(50.0)).unwrap());
    let gate = fleet
        .slot_gate(&SlotsConfig {
            max_concurrent_calls: 2,
            increase_after: 5,
            max_wait: None,
        })
        .unwrap();
    let _slot = gate.acquire().await;
    let count = Arc::new(AtomicU64::new(0));
    let tasks = hammer(&pacer, &count);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        count.load(Ordering::Relaxed) > 5,
        "pacing before the restart"
    );

    server.kill();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let held_at = count.load(Ordering::Relaxed);
    assert!(fleet.is_redis_down(), "the failure was noticed");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        count.load(Ordering::Relaxed),
        held_at,
        "no create while Redis is away"
    );
    // Status polls of live calls go on (in-process pacing).
    let poll = tokio::time::timeout(
        Duration::from_millis(500),
        pacer.acquire(Method::Get, "/v1/calls/call_1"),
    )
    .await;
    assert!(poll.is_ok(), "reads go on while Redis is away");
    assert_eq!(count.load(Ordering::Relaxed), held_at);

    // Back, empty: every script is gone (NOSCRIPT), every key too.
    server.restart();
    let resumed = eventually(Duration::from_secs(10), async || {
        count.load(Ordering::Relaxed) > held_at + 5
    })
    .await;
    assert!(resumed, "sends resume after the restart");
    assert!(!fleet.is_redis_down());
    // The lease of the live call is re-added by the renew task.
    let readded = eventually(Duration::from_secs(3), async || {
        gate.fleet_held().await.ok() == Some(1)
    })
    .await;
    assert!(readded, "the live call's lease is back after the restart");
    tasks.iter().for_each(|t| t.abort());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_policy_goes_on_alone_at_a_share_of_the_limits() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let fleet = fleet(&server, "local", OnRedisError::Local { share: 2 });
    let pacer = Arc::new(fleet.pacer(&config(40.0)).unwrap());
    let gate = fleet
        .slot_gate(&SlotsConfig {
            max_concurrent_calls: 4,
            increase_after: 5,
            max_wait: None,
        })
        .unwrap();
    pacer.acquire(Method::Post, "/v1/calls").await;
    server.kill();
    let count = Arc::new(AtomicU64::new(0));
    let start = clock::now();
    let tasks = hammer(&pacer, &count);
    tokio::time::sleep_until(start + Duration::from_secs(1)).await;
    let alone = count.load(Ordering::Relaxed);
    tasks.iter().for_each(|t| t.abort());
    // 40/s shared by 2: 20/s alone, burst 1. The first request after the kill waits for its
    // failure (200 ms timeout) before falling back.
    assert!((8..=23).contains(&alone), "{alone} sends in 1 s alone");
    // Slots: 4 / 2 = 2 locally.
    let a = tokio::time::timeout(Duration::from_secs(1), gate.acquire()).await;
    let b = tokio::time::timeout(Duration::from_secs(1), gate.acquire()).await;
    assert!(a.is_ok() && b.is_ok(), "two local slots");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), gate.acquire())
            .await
            .is_err(),
        "a third exceeds the local share"
    );
    assert_eq!(gate.held(), 2);
}
