//! The Redis slot gate across "processes" on a real `redis-server`: the fleet's limit, leases
//! of a killed process coming back, cancellation, and the shared AIMD limit. Real clock,
//! short leases, assertions on counts.

#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use redial_limiter::SlotGate;
use redial_limiter::redis::{FleetConfig, RedisFleet, RedisSlotGate};
use redial_policy::config::SlotsConfig;
use support::RedisServer;

const LEASE: Duration = Duration::from_secs(1);

fn gate(server: &RedisServer, ns: &str, max: u32) -> RedisSlotGate {
    let mut cfg = FleetConfig::new(server.url(), ns);
    cfg.lease = LEASE;
    RedisFleet::new(cfg)
        .unwrap()
        .slot_gate(&SlotsConfig {
            max_concurrent_calls: max,
            increase_after: 2,
            max_wait: None,
        })
        .unwrap()
}

async fn try_acquire(gate: &RedisSlotGate, within: Duration) -> Option<redial_limiter::CallSlot> {
    tokio::time::timeout(within, gate.acquire()).await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_across_processes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let gates: Vec<_> = (0..3).map(|_| gate(&server, "limit", 4)).collect();
    let mut held = Vec::new();
    for round in 0..2 {
        for g in &gates {
            if let Some(slot) = try_acquire(g, Duration::from_millis(150)).await {
                held.push(slot);
            } else {
                assert!(
                    held.len() >= 4,
                    "refused at {} held (round {round})",
                    held.len()
                );
            }
        }
    }
    assert_eq!(held.len(), 4, "six tries, four slots");
    assert_eq!(gates[0].fleet_held().await.unwrap(), 4);
    assert_eq!(gates.iter().map(|g| g.held()).sum::<u32>(), 4);
    // A waiter in one process gets the slot another process releases.
    let waiter = {
        let g = gate(&server, "limit", 4);
        tokio::spawn(async move {
            let slot = g.acquire().await;
            (g, slot)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    drop(held.pop());
    let (g, _slot) = tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .expect("the waiter gets the released slot")
        .unwrap();
    assert_eq!(g.fleet_held().await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_slots_come_back_within_the_lease() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let survivor = gate(&server, "kill", 3);
    let _mine = survivor.acquire().await;
    // The "process" to kill: its own runtime, connection and renew task. Dropping the runtime
    // cancels every task (no release, no renewal), as a SIGKILL would.
    let url = server.url();
    let leaked = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let slots = rt.block_on(async {
            let mut cfg = FleetConfig::new(url, "kill");
            cfg.lease = LEASE;
            let g = RedisFleet::new(cfg)
                .unwrap()
                .slot_gate(&SlotsConfig {
                    max_concurrent_calls: 3,
                    increase_after: 2,
                    max_wait: None,
                })
                .unwrap();
            let slots = vec![g.acquire().await, g.acquire().await];
            // Renewed at least once before the kill.
            tokio::time::sleep(LEASE / 2).await;
            slots
        });
        drop(rt);
        // Dropping the slots after the kill sends nothing: the task that would is gone.
        drop(slots);
    });
    leaked.join().unwrap();
    assert!(
        try_acquire(&survivor, Duration::from_millis(200))
            .await
            .is_none(),
        "the killed process's two slots still count"
    );
    let back = try_acquire(&survivor, LEASE + Duration::from_secs(2)).await;
    assert!(back.is_some(), "slots back within the lease");
    let _second = try_acquire(&survivor, Duration::from_millis(500))
        .await
        .expect("both back");
    assert_eq!(survivor.fleet_held().await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_leases_are_renewed_past_the_lease_time() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = gate(&server, "renew", 1);
    let b = gate(&server, "renew", 1);
    let _slot = a.acquire().await;
    tokio::time::sleep(LEASE * 2).await;
    assert!(
        try_acquire(&b, Duration::from_millis(300)).await.is_none(),
        "a's call still lives"
    );
    assert_eq!(b.fleet_held().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_waiter_holds_no_slot() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = gate(&server, "cancel", 1);
    let b = gate(&server, "cancel", 1);
    let first = a.acquire().await;
    assert!(try_acquire(&b, Duration::from_millis(200)).await.is_none());
    drop(first);
    a.flush().await;
    // Dropped right after its first poll, while its script may be in flight: if the script
    // added a lease, the gate removes it.
    for _ in 0..20 {
        let fut = b.acquire();
        let _ = futures::FutureExt::now_or_never(fut);
    }
    b.flush().await;
    assert_eq!(
        b.fleet_held().await.unwrap(),
        0,
        "no lease left by dropped waiters"
    );
    assert_eq!(b.held(), 0);
    let slot = try_acquire(&a, Duration::from_millis(500)).await;
    assert!(slot.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_hit_in_one_process_lowers_the_fleet_limit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = gate(&server, "aimd", 5);
    let b = gate(&server, "aimd", 5);
    let _a1 = a.acquire().await;
    let _a2 = a.acquire().await;
    let _b1 = b.acquire().await;
    // a's next create was refused with concurrent_call_limit: 3 calls are live.
    a.on_limit_hit();
    a.flush().await;
    assert_eq!(a.limit(), 3);
    assert!(
        try_acquire(&b, Duration::from_millis(300)).await.is_none(),
        "limit 3, 3 live"
    );
    assert_eq!(b.limit(), 3, "b learned the fleet's limit");
    // increase_after = 2 successful creates raise it by one, fleet-wide.
    b.on_created();
    b.on_created();
    b.flush().await;
    assert!(try_acquire(&b, Duration::from_secs(2)).await.is_some());
    assert_eq!(b.limit(), 4);
}
