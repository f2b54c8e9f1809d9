//! Call slots: guards, FIFO, cancellation, AIMD limit.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use redial_limiter::clock::now;
use redial_limiter::{InProcessSlotGate, SlotGate};
use redial_policy::config::SlotsConfig;
use tokio::sync::mpsc;

fn gate(max: u32, increase_after: u32) -> Arc<InProcessSlotGate> {
    Arc::new(InProcessSlotGate::new(&SlotsConfig {
        max_concurrent_calls: max,
        increase_after,
        ..Default::default()
    }))
}

#[tokio::test(start_paused = true)]
async fn dropping_or_releasing_a_slot_frees_it() {
    let gate = gate(2, 5);
    let a = gate.acquire().await;
    let b = gate.acquire().await;
    assert_eq!(gate.held(), 2);
    let waiter = {
        let g = Arc::clone(&gate);
        tokio::spawn(async move { g.acquire().await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiter.is_finished(), "no slot while two are held");
    drop(a);
    let c = waiter.await.unwrap();
    assert_eq!(gate.held(), 2);
    b.release();
    c.release();
    assert_eq!(gate.held(), 0);
}

#[tokio::test(start_paused = true)]
async fn slot_waiters_are_served_in_arrival_order() {
    let gate = gate(1, 5);
    let first = gate.acquire().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        let (g, tx) = (Arc::clone(&gate), tx.clone());
        tokio::spawn(async move {
            let slot = g.acquire().await;
            tx.send(i).unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(slot);
        });
        tokio::task::yield_now().await;
    }
    drop(tx);
    drop(first);
    let mut order = Vec::new();
    while let Some(i) = rx.recv().await {
        order.push(i);
    }
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_slot_waiter_holds_nothing() {
    let gate = gate(1, 5);
    let held = gate.acquire().await;
    assert!(
        tokio::time::timeout(Duration::from_millis(100), gate.acquire())
            .await
            .is_err()
    );
    let next = {
        let g = Arc::clone(&gate);
        tokio::spawn(async move { g.acquire().await })
    };
    tokio::task::yield_now().await;
    drop(held);
    let slot = next.await.unwrap();
    assert_eq!(gate.held(), 1, "the timed-out waiter took nothing");
    drop(slot);
    assert_eq!(gate.held(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_aborted_task_that_got_a_slot_returns_it() {
    let gate = gate(1, 5);
    let task = {
        let g = Arc::clone(&gate);
        tokio::spawn(async move {
            let _slot = g.acquire().await;
            std::future::pending::<()>().await;
        })
    };
    tokio::task::yield_now().await;
    assert_eq!(gate.held(), 1);
    task.abort();
    let _ = task.await;
    assert_eq!(gate.held(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_limit_shrinks_to_what_is_held_and_climbs_back_one_at_a_time() {
    let gate = gate(5, 2);
    let slots: Vec<_> = futures::future::join_all((0..3).map(|_| gate.acquire())).await;
    gate.on_limit_hit();
    assert_eq!(gate.limit(), 3);
    // A fourth call waits until one of the three ends.
    let start = now();
    let waiter = {
        let g = Arc::clone(&gate);
        tokio::spawn(async move { g.acquire().await })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!waiter.is_finished());
    let mut slots = slots;
    slots.pop();
    let fourth = waiter.await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(2));

    // Additive increase: +1 per `increase_after` successful creates, up to the maximum.
    gate.on_created();
    assert_eq!(gate.limit(), 3);
    gate.on_created();
    assert_eq!(gate.limit(), 4);
    for _ in 0..10 {
        gate.on_created();
    }
    assert_eq!(gate.limit(), 5, "never above max_concurrent_calls");
    drop(fourth);
}

#[tokio::test(start_paused = true)]
async fn a_limit_hit_with_nothing_held_keeps_one_slot() {
    let gate = gate(4, 1);
    gate.on_limit_hit();
    assert_eq!(gate.limit(), 1);
    let _slot = gate.acquire().await;
    gate.on_created();
    assert_eq!(gate.limit(), 2);
}

#[tokio::test(start_paused = true)]
async fn raising_the_limit_wakes_waiters() {
    let gate = gate(2, 1);
    gate.on_limit_hit(); // limit 1
    let _a = gate.acquire().await;
    let waiter = {
        let g = Arc::clone(&gate);
        tokio::spawn(async move { g.acquire().await })
    };
    tokio::task::yield_now().await;
    gate.on_created(); // limit 2
    let _b = tokio::time::timeout(Duration::from_millis(1), waiter)
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(gate.held(), 2);
}

#[tokio::test(start_paused = true)]
async fn reconfigure_follows_a_new_maximum_and_keeps_a_lowered_limit() {
    let gate = gate(5, 5);
    gate.reconfigure(&SlotsConfig {
        max_concurrent_calls: 8,
        increase_after: 5,
        ..Default::default()
    });
    assert_eq!(gate.limit(), 8);
    let _s = gate.acquire().await;
    gate.on_limit_hit();
    gate.reconfigure(&SlotsConfig {
        max_concurrent_calls: 10,
        increase_after: 5,
        ..Default::default()
    });
    assert_eq!(gate.limit(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_newcomer_does_not_take_a_freed_slot_from_a_waiter() {
    let gate = gate(1, 5);
    let held = gate.acquire().await;
    let mut first = gate.acquire();
    assert!((&mut first).now_or_never().is_none());
    drop(held);
    assert!(
        gate.acquire().now_or_never().is_none(),
        "the newcomer queues behind the waiter"
    );
    assert!(first.now_or_never().is_some());
}
