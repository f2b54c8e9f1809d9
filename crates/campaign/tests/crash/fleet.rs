//! Fleet mode (feature `redis`): one process of a fleet dies at points (b)–(d) of a
//! contact's life with the Redis journal; a second process joins the run and finishes it,
//! taking over the dead process's contacts once its claims lapse; a third, later, reruns the
//! campaign (its next run).
//!
//! The dying process runs on its own runtime on its own thread; at the point, that thread
//! stops driving the runtime and drops it, so its tasks (the campaign, the heartbeat that
//! renews its claims) are gone without another poll — as with a killed process. Redis,
//! the simulator and the proxy run on the real clock (Redis time is real), with calls of
//! 50–150 ms and a claim timeout of a second; the cases run concurrently.
//!
//! **Results of a fleet.** Each process writes its own results. The run's results are those
//! of the dead process up to its death plus those of the process that finished the run: a
//! contact the dead process had written but not yet acknowledged is written again by its
//! successor, from the journal, unchanged — so together they hold every contact, each with
//! one outcome (possibly written twice, identically). The next run writes every contact
//! exactly once, the same outcomes, and dials nobody.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redial_campaign::fleet::{RedisCampaign, WorkConfig};
use redial_campaign::{Campaign, ContactOutcome, MemorySink};
use redial_sim::Scenario;

use super::oracle::{self, Last};
use super::proxy::Proxy;
use super::support::RedisServer;
use super::trap::{Op, TrappedJournal, TrappedSink};
use super::{AGENT, CONTACTS, Mode, POINTS, Point, SLOTS, client_at, contacts};

/// The points a fleet case crashes at: (b) to (d'), where the trapped contact's last
/// record is `started` or `placed` (torn lines are the file journal's).
fn fleet_points() -> impl Iterator<Item = &'static Point> {
    POINTS
        .iter()
        .filter(|p| p.torn.is_none() && matches!(p.last, Some(Op::Started | Op::Placed)))
}
/// A dead process's claims are taken over after this long.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest a fleet process may run before the case fails (real time).
const PROCESS_LIMIT: Duration = Duration::from_secs(60);

/// Calls of 50–150 ms, polled every 30–60 ms.
fn quick(mode: Mode) -> Scenario {
    let mut s = Scenario::default();
    s.calls.ringing_after = Duration::from_millis(10);
    s.calls.answered_after = Duration::from_millis(20);
    s.calls.duration_min = Duration::from_millis(50);
    s.calls.duration_max = Duration::from_millis(150);
    s.idempotency.honoured = mode.server_honours();
    s
}

fn config(mode: Mode) -> redial_policy::Config {
    let mut c = mode.config(SLOTS);
    c.polling.initial = Duration::from_millis(30);
    c.polling.max = Duration::from_millis(60);
    c
}

/// The contacts file of [`contacts`] (header on line 1, contact `i` on line `i + 1`).
fn contacts_file(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("phone,n\n");
    for c in contacts() {
        text.push_str(&format!("{},{}\n", c.phone, c.line - 1));
    }
    let path = dir.join("contacts.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Each contact's state in the fleet's journal (a Redis hash), by contact key.
fn redis_journal(url: &str, campaign: &str) -> HashMap<String, Last> {
    let mut con = redis::Client::open(url)
        .unwrap()
        .get_connection()
        .expect("redis answers");
    let all: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("redial:{{{campaign}}}:journal"))
        .query(&mut con)
        .unwrap();
    all.into_iter()
        .map(|(key, json)| {
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            let last = match v["state"].as_str() {
                Some("started") => Last::Started,
                Some("placed") => Last::Placed(v["call_id"].as_str().unwrap().to_owned()),
                Some("finished") => Last::Finished(
                    serde_json::from_value::<ContactOutcome>(v["outcome"].clone()).unwrap(),
                ),
                other => panic!("unknown journal state {other:?}: {json}"),
            };
            (key, last)
        })
        .collect()
}

/// Runs one fleet process to the end of its run; returns its outcomes and whether it
/// started a new run (rather than joining the one under way).
async fn finish(
    cfg: WorkConfig,
    list: &Path,
    base_url: &str,
    mode: Mode,
) -> (Vec<ContactOutcome>, bool) {
    let fleet = RedisCampaign::join(cfg, AGENT, list).await.unwrap();
    let new_run = fleet.started_run();
    let sink = MemorySink::new();
    let campaign = Campaign::builder(client_at(base_url, config(mode)))
        .agent(AGENT)
        .journal(fleet.journal())
        .build()
        .unwrap();
    tokio::time::timeout(PROCESS_LIMIT, campaign.run(fleet.source(), sink.clone()))
        .await
        .expect("the process ends")
        .expect("the process succeeds");
    fleet.leave().await.unwrap();
    (sink.outcomes(), new_run)
}

/// Process 1 crashes at `point`, process 2 finishes the run, process 3 reruns. Returns how
/// process 2 went on: by taking over process 1's contacts in its run, or in a new run.
async fn fleet_case(redis: String, name: String, point: Point, mode: Mode) -> &'static str {
    let sim = super::common::sim(quick(mode)).await;
    let proxy = Proxy::start(sim.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let list = contacts_file(dir.path());
    let mut cfg = WorkConfig::new(redis.clone(), name.clone());
    cfg.claim_timeout = CLAIM_TIMEOUT;
    cfg.redis_wait = Duration::from_secs(5);

    // Process 1, on its own runtime, dies at the point.
    let seen = MemorySink::new();
    let (died, death) = tokio::sync::oneshot::channel();
    {
        let (cfg, list, proxy, seen) = (cfg.clone(), list.clone(), proxy.clone(), seen.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let target = rt.block_on(async move {
                let fleet = RedisCampaign::join(cfg, AGENT, &list).await.unwrap();
                let (hits, mut hit) = tokio::sync::mpsc::unbounded_channel();
                let journal = TrappedJournal::new(
                    Arc::new(fleet.journal()),
                    Some(point.trap),
                    hits.clone(),
                    Some(proxy.clone()),
                );
                let sink = TrappedSink::new(seen, Some(point.trap), hits);
                let campaign = Campaign::builder(client_at(&proxy.base_url(), config(mode)))
                    .agent(AGENT)
                    .journal(journal)
                    .build()
                    .unwrap();
                let mut run = tokio::spawn(campaign.run(fleet.source(), sink));
                tokio::select! {
                    Some(phone) = hit.recv() => phone,
                    ended = &mut run => panic!("process 1 ended before the point: {ended:?}"),
                }
            });
            drop(rt);
            let _ = died.send(target);
        });
    }
    let target = tokio::time::timeout(PROCESS_LIMIT, death)
        .await
        .expect("process 1 reaches the point")
        .expect("process 1 died at the point, not of a panic");
    let target = contacts().into_iter().find(|c| c.phone == target).unwrap();
    let dialled = sim.calls_placed_to(&target.phone);
    let last = redis_journal(&redis, &name);
    proxy.heal();
    let kind = match point.last {
        Some(Op::Started) => "started",
        Some(Op::Placed) => "placed",
        _ => unreachable!("fleet points are (b) to (d)"),
    };
    assert_eq!(Last::name(last.get(&target.key)), kind, "{}", target.phone);
    assert_eq!(dialled, u64::from(point.dialled), "{}", target.phone);

    // Process 2 joins the run, finishes it.
    let (second, new_run) = finish(cfg.clone(), &list, &sim.base_url(), mode).await;
    oracle::by_number(&second, false); // no process writes a contact twice
    let mut both = seen.outcomes();
    both.extend(second);
    let union = oracle::by_number(&both, true);
    oracle::check(&contacts(), &last, &union, mode.settles(), &sim);
    let calls = sim.stats().calls_created;

    // Process 3, later: the next run writes every contact once, the same, dials nobody.
    let (third, _) = finish(cfg, &list, &sim.base_url(), mode).await;
    assert_eq!(
        oracle::by_number(&third, false),
        union,
        "the rerun's results"
    );
    assert_eq!(sim.stats().calls_created, calls, "the rerun dialled nobody");
    assert_eq!(union.len() as u64, CONTACTS);
    if new_run {
        "ok (process 2 started a new run)"
    } else {
        "ok (process 2 took over in the same run)"
    }
}

#[test]
fn a_fleet_process_crashed_at_b_to_d_is_finished_by_another_without_loss_or_double() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases: Vec<(Point, Mode)> = fleet_points()
        .flat_map(|p| [Mode::Honoured, Mode::Reconciled, Mode::Unreconciled].map(|m| (*p, m)))
        .collect();
    let results = rt.block_on(async {
        let tasks: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, (point, mode))| {
                tokio::spawn(fleet_case(
                    server.url(),
                    format!("crash-{i}"),
                    *point,
                    *mode,
                ))
            })
            .collect();
        futures::future::join_all(tasks).await
    });
    let mut failed = Vec::new();
    let mut table = String::from(
        "| point | mode | fleet: process 1 killed, process 2 finishes, process 3 reruns |\n|---|---|---|\n",
    );
    for ((point, mode), result) in cases.iter().zip(results) {
        let verdict = match result {
            Ok(how) => how.to_owned(),
            Err(e) => {
                let why = e
                    .try_into_panic()
                    .ok()
                    .and_then(|p| {
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    })
                    .unwrap_or_default();
                failed.push(format!("{} / {}: {why}", point.name, mode.name()));
                "FAILED".to_owned()
            }
        };
        table.push_str(&format!(
            "| {} | {} | {verdict} |\n",
            point.name,
            mode.name()
        ));
    }
    println!("{table}");
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}
