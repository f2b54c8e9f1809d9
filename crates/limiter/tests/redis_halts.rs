//! Halts shared by the fleet on a real `redis-server`: a halt recorded by one process stops
//! the others before their next paced send.

#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use redial_limiter::Pacer;
use redial_limiter::redis::{FleetConfig, RedisFleet};
use redial_policy::config::PacingConfig;
use redial_policy::{HaltScope, Method, RequestInfo};
use support::RedisServer;

fn fleet(server: &RedisServer) -> RedisFleet {
    let mut cfg = FleetConfig::new(server.url(), "halts");
    // Only the pacer's version check can bring the news within this test.
    cfg.halts_refresh = Duration::from_secs(3600);
    RedisFleet::new(cfg).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_by_one_process_stops_the_others_at_their_next_acquire() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (fleet(&server), fleet(&server));
    let a_halts = a.halts().unwrap();
    let b_halts = b.halts().unwrap();
    let b_pacer = b.pacer(&PacingConfig::default()).unwrap();
    b_halts.refresh().await.unwrap();
    let call = RequestInfo {
        agent_id: Some("agent_1"),
        sender: Some("+14155550100"),
        ..RequestInfo::new(Method::Post, "/v1/calls")
    };
    assert_eq!(b_halts.check(&call), None);

    let agent = HaltScope::Agent("agent_1".into());
    assert!(a_halts.halt(&agent, "agent_no_phone").await.unwrap());
    assert!(
        !a_halts.halt(&agent, "agent_no_phone").await.unwrap(),
        "already halted"
    );
    assert_eq!(a_halts.check(&call), Some(agent.clone()), "at once in a");

    b_pacer.acquire(Method::Get, "/v1/agents").await;
    assert_eq!(
        b_halts.check(&call),
        Some(agent.clone()),
        "b saw it at its acquire"
    );
    assert_eq!(
        b_halts.halted(),
        vec![(agent.clone(), "agent_no_phone".to_owned())]
    );
    let other = RequestInfo {
        agent_id: Some("agent_2"),
        ..RequestInfo::new(Method::Post, "/v1/calls")
    };
    assert_eq!(b_halts.check(&other), None, "other agents go on");

    assert!(a_halts.clear(&agent).await.unwrap());
    b_pacer.acquire(Method::Get, "/v1/agents").await;
    assert_eq!(b_halts.check(&call), None, "the clear reaches b too");
}
