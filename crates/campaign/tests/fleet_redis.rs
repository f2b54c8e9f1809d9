//! Fleet mode's work queue and journal on a real `redis-server` (no persistence), with
//! several "processes" (several `RedisCampaign`s) in one test against the simulator. Real
//! clock (Redis time is real): short calls, short claim timeouts, assertions on counts.

#![cfg(feature = "redis")]

mod common;
#[path = "../../limiter/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use redial_campaign::fleet::{RedisCampaign, RedisWorkError, WorkConfig};
use redial_campaign::{
    Campaign, ContactOutcome, ContactSource, Journal, MemorySink, OutcomeStatus, PriorState,
    SourceItem, idempotency_key,
};
use redial_sim::{Scenario, SimHandle};
use support::RedisServer;

use common::{AGENT, KEY};

/// Calls of 50–150 ms, no limits.
fn quick() -> Scenario {
    let mut s = Scenario::default();
    s.calls.ringing_after = Duration::from_millis(10);
    s.calls.answered_after = Duration::from_millis(20);
    s.calls.duration_min = Duration::from_millis(50);
    s.calls.duration_max = Duration::from_millis(150);
    s
}

fn client(sim: &SimHandle) -> redial_transport::Client {
    let mut c = common::config(5);
    c.polling.initial = Duration::from_millis(30);
    c.polling.max = Duration::from_millis(60);
    common::client(sim, c)
}

/// A contacts file of `n` numbers (plus one duplicate row) in `dir`.
fn contacts(dir: &Path, n: u64) -> std::path::PathBuf {
    let mut text = String::from("phone,n\n");
    for i in 1..=n {
        text.push_str(&format!("{},{i}\n", common::number(i)));
    }
    text.push_str(&format!("{},dup\n", common::number(1)));
    let path = dir.join("contacts.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn work(server: &RedisServer, campaign: &str, claim_timeout: Duration) -> WorkConfig {
    let mut cfg = WorkConfig::new(server.url(), campaign);
    cfg.claim_timeout = claim_timeout;
    cfg.redis_wait = Duration::from_secs(5);
    cfg
}

/// Runs one process's campaign to its end; returns its outcomes.
async fn run(fleet: &RedisCampaign, sim: &SimHandle) -> Vec<ContactOutcome> {
    let sink = MemorySink::new();
    Campaign::builder(client(sim))
        .agent(AGENT)
        .journal(fleet.journal())
        .build()
        .unwrap()
        .run(fleet.source(), sink.clone())
        .await
        .unwrap();
    fleet.leave().await.unwrap();
    sink.outcomes()
}

fn by_line(all: &[Vec<ContactOutcome>]) -> BTreeMap<u64, Vec<ContactOutcome>> {
    let mut map: BTreeMap<u64, Vec<ContactOutcome>> = BTreeMap::new();
    for o in all.iter().flatten() {
        map.entry(o.line).or_default().push(o.clone());
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_one_list_exactly_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let sim = common::sim(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    let list = contacts(dir.path(), 60);
    let cfg = work(&server, "share", Duration::from_secs(5));
    let joins = (0..3).map(|_| RedisCampaign::join(cfg.clone(), AGENT, &list));
    let fleets: Vec<RedisCampaign> = futures::future::try_join_all(joins).await.unwrap();
    let id = fleets[0].campaign_id();
    assert!(fleets.iter().all(|f| f.campaign_id() == id && f.run() == 1));
    assert_eq!(fleets[0].total(), 61);
    let results = futures::future::join_all(fleets.iter().map(|f| run(f, &sim))).await;
    let lines = by_line(&results);
    assert_eq!(lines.len(), 61, "every record has an outcome");
    assert!(lines.values().all(|o| o.len() == 1), "exactly once");
    assert_eq!(
        lines[&62][0].code(),
        Some("invalid_input"),
        "the duplicate row is reported"
    );
    for (i, r) in results.iter().enumerate() {
        assert!(r.len() >= 5, "process {i} did a share: {}", r.len());
    }
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 60);
    assert_eq!(stats.duplicate_dials, 0);
    assert!(stats.duplicate_numbers.is_empty());

    // A rerun (nobody works on run 1 any more) goes over the whole list again: finished
    // contacts come back from the journal, nothing is dialled.
    let again = RedisCampaign::join(cfg.clone(), AGENT, &list)
        .await
        .unwrap();
    assert_eq!((again.run(), again.campaign_id()), (2, id));
    let rerun = run(&again, &sim).await;
    assert_eq!(rerun.len(), 61);
    assert_eq!(
        sim.stats().calls_created,
        60,
        "nothing dialled on the rerun"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_process_contacts_are_taken_over_and_its_late_writes_fenced() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let sim = common::sim(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    let list = contacts(dir.path(), 12);
    let cfg = work(&server, "takeover", Duration::from_millis(600));
    let first = RedisCampaign::join(cfg.clone(), AGENT, &list)
        .await
        .unwrap();
    // The stalled process: its own runtime on its own thread, which is not polled while it
    // waits for the go-ahead (as under SIGSTOP: its heartbeat stops with it). It takes three
    // contacts and journals the first as started before it stalls.
    let (took_tx, took_rx) = std::sync::mpsc::channel();
    let (wake_tx, wake_rx) = std::sync::mpsc::channel::<()>();
    let stalled = {
        let (cfg, list) = (cfg.clone(), list.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let (journal, taken) = rt.block_on(async {
                let dead = RedisCampaign::join(cfg, AGENT, &list).await.unwrap();
                let mut source = dead.source();
                let journal = dead.journal();
                let mut taken = Vec::new();
                for _ in 0..3 {
                    let Some(SourceItem::Contact(c)) = source.next().await.unwrap() else {
                        panic!("a contact")
                    };
                    taken.push(c);
                }
                let key = idempotency_key(dead.campaign_id(), &taken[0].key);
                journal.started(&taken[0], &key).await.unwrap();
                std::mem::forget(source);
                (journal, taken)
            });
            took_tx.send(taken.clone()).unwrap();
            wake_rx.recv().unwrap();
            let late = rt.block_on(journal.started(&taken[1], "late"));
            late.map_err(|e| e.to_string())
        })
    };
    let taken = took_rx.recv().unwrap();
    let results = run(&first, &sim).await;
    let lines = by_line(std::slice::from_ref(&results));
    assert_eq!(lines.len(), 13, "the survivor finished every record");
    // The started contact was not blindly dialled again: keys are ignored by default, so the
    // taker reconciled it first — the list shows no call under its key (the stalled process
    // never sent it), so it was dialled, once.
    let started = &lines[&taken[0].line][0];
    assert_eq!(started.status, OutcomeStatus::Completed, "{started:?}");
    assert!(
        sim.stats().list_requests() >= 1,
        "the server was asked first"
    );
    assert_eq!(sim.stats().duplicate_dials, 0);
    assert_eq!(sim.stats().calls_created, 12);
    // The stalled process wakes up: its writes are refused, nothing is recorded twice.
    wake_tx.send(()).unwrap();
    let late = stalled.join().unwrap().unwrap_err();
    assert!(late.contains("another process took it over"), "{late}");
    let prior = first.journal().prior(&taken[1].key).await.unwrap();
    assert!(matches!(prior, Some(PriorState::Finished(_))), "{prior:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_campaign_is_refused_not_started_again() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let list = contacts(dir.path(), 5);
    let cfg = work(&server, "lost", Duration::from_secs(5));
    let fleet = RedisCampaign::join(cfg.clone(), AGENT, &list)
        .await
        .unwrap();
    let mut source = fleet.source();
    assert!(source.next().await.unwrap().is_some());
    server.restart(); // empty: no persistence
    let e = source.next().await.unwrap_err();
    let e = e.downcast::<RedisWorkError>().unwrap();
    assert!(matches!(*e, RedisWorkError::Lost { .. }), "{e}");
    // The tombstone keeps a rerun from loading the list afresh and dialling everyone.
    let e = RedisCampaign::join(cfg, AGENT, &list).await.unwrap_err();
    assert!(matches!(e, RedisWorkError::Lost { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_list_or_agent_is_refused() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let list = contacts(dir.path(), 5);
    let cfg = work(&server, "mismatch", Duration::from_secs(5));
    let _first = RedisCampaign::join(cfg.clone(), AGENT, &list)
        .await
        .unwrap();
    let e = RedisCampaign::join(cfg.clone(), "agent_other", &list)
        .await
        .unwrap_err();
    assert!(
        matches!(e, RedisWorkError::Mismatch { what: "agent", .. }),
        "{e}"
    );
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "phone\n+447446400001\n").unwrap();
    let e = RedisCampaign::join(cfg, AGENT, &other).await.unwrap_err();
    assert!(
        matches!(
            e,
            RedisWorkError::Mismatch {
                what: "contacts",
                ..
            }
        ),
        "{e}"
    );
    let _ = KEY;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_process_gives_its_undialled_contacts_back_at_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let list = contacts(dir.path(), 4);
    // A long claim timeout: only the release can hand the contact over this fast.
    let cfg = work(&server, "release", Duration::from_secs(60));
    let stopping = RedisCampaign::join(cfg.clone(), AGENT, &list)
        .await
        .unwrap();
    let other = RedisCampaign::join(cfg, AGENT, &list).await.unwrap();
    let mut mine = stopping.source();
    let Some(SourceItem::Contact(c)) = mine.next().await.unwrap() else {
        panic!("a contact")
    };
    // Stopped before dialling it: the engine writes it `halted`/`interrupted`.
    let mut info = redial_campaign::ErrorInfo::new("halted", "interrupted", "stopped".into());
    info.scope = Some("campaign".into());
    let outcome = ContactOutcome::without_call(c.line, &c.phone, OutcomeStatus::Halted, info);
    mine.done(&outcome).await.unwrap();
    let mut theirs = other.source();
    let mut lines = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), theirs.next())
        .await
        .expect("no wait for the claim timeout")
        .unwrap()
    {
        let SourceItem::Contact(got) = item else {
            continue;
        };
        lines.push(got.line);
        if lines.len() == 4 {
            break;
        }
    }
    assert!(
        lines.contains(&c.line),
        "the released contact is handed out again: {lines:?}"
    );
}
