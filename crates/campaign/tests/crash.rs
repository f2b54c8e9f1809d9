//! Crash at every step of a contact's life, then rerun: every contact ends with exactly one
//! outcome and nobody is dialled twice, under idempotency keys honoured and ignored.
//!
//! **How a crash is made.** Each case runs a campaign (a [`FileJournal`] and a [`JsonlSink`]
//! on temp files, calls of one to three minutes, tokio's paused clock) against redial-sim,
//! through a loopback [`proxy::Proxy`]. A trap on the journal or the sink
//! ([`trap::TrappedJournal`], [`trap::TrappedSink`]) springs at the N-th call of one method,
//! reports the contact it carries and parks that contact forever; the test then aborts the
//! campaign's task, drops its client and journal (the journal's lock must be free again),
//! and reads what the crashed run left. Nothing in the library knows about the traps. The
//! simulator and the proxy run on the same paused runtime, which is why the crash is an abort
//! of the campaign's task rather than a drop of the runtime; the fleet cases and
//! `crates/cli/tests/crash_kill.rs` (a real SIGKILL of the binary) kill whole runtimes and
//! processes.
//!
//! **The points** ([`POINTS`], one line each): (a) before the journal's `started` record,
//! (a') the same with a torn `started` line, (b) after `started` before the create is sent,
//! (c) after the send before the answer — the server never saw it (the proxy lost the
//! request) or it acted (the proxy lost the answer), (d) after the answer before `placed`
//! (also with a torn `placed` line), after `placed` before `finished` (also with a torn
//! `finished` line), (e) while writing results, and after the last result before the
//! results file is put in place. Each point
//! runs under every [`Mode`]: keys honoured (the rerun resends under the same key), keys
//! ignored with reconciliation (`GET /v1/calls` first), keys ignored without it (the
//! contact is reported `ambiguous`).
//!
//! **What "every contact exactly once in the results" means.** The results file a user gets
//! is the rerun's: [`JsonlSink`] writes `<out>.partial` (created afresh by every run) and
//! renames it to `<out>` at the end, and a rerun writes every contact again — the ones the
//! journal finished from the journal, unchanged, the others from this run. So the checks are:
//! `<out>` after the rerun holds each contact exactly once; every line the crashed run had
//! written to its `.partial` (what a user tailing it saw) is in `<out>` unchanged; each
//! contact's outcome is what the journal's last record at the crash requires
//! ([`oracle::check`]); the simulator placed at most one call to each number (exactly one
//! unless the contact is `ambiguous`); and a third run dials nobody and writes the same file.
//!
//! The fleet variant (feature `redis`: [`fleet`]) crashes one process at points (b)–(d')
//! with the Redis journal, under every mode, and lets a second process finish the run.
//!
//! The case table is printed with `--nocapture`:
//! `cargo test -p redial-campaign --all-features --test crash -- --nocapture`.

mod common;
#[path = "crash/oracle.rs"]
mod oracle;
#[path = "crash/proxy.rs"]
mod proxy;
#[path = "crash/trap.rs"]
mod trap;

#[cfg(feature = "redis")]
#[path = "crash/fleet.rs"]
mod fleet;
#[cfg(feature = "redis")]
#[path = "../../limiter/tests/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redial_campaign::sink::partial_path;
use redial_campaign::{
    Campaign, Contact, ContactOutcome, FileJournal, JsonlSink, MemorySource, SourceItem,
};
use redial_policy::config::{Config, Idempotency};
use redial_transport::{ApiKey, Client};

use common::{AGENT, KEY};
use oracle::{Last, Settles};
use proxy::{Cut, Proxy};
use trap::{Op, Spring, Trap, TrappedJournal, TrappedSink};

/// Contacts per campaign.
const CONTACTS: u64 = 8;
/// Call slots: with [`NTH`] = 4, a trap on a contact's `started` springs while two earlier
/// calls are live, one has finished and four contacts wait.
const SLOTS: u32 = 3;
/// The trap springs at this call of its method.
const NTH: usize = 4;
/// Longest (paused) time a run may take before the case fails: calls last minutes.
const RUN_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// One crash point: where its trap is, and what the crashed run left of the trapped contact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    /// For the case table.
    pub(crate) name: &'static str,
    /// Where the process stops.
    pub(crate) trap: Trap,
    /// A torn record of this kind is appended after the crash (the process died mid-write).
    pub(crate) torn: Option<Op>,
    /// The trapped contact's last journal record at the crash (`None`: no record).
    pub(crate) last: Option<Op>,
    /// Whether the server had placed the trapped contact's call at the crash.
    pub(crate) dialled: bool,
}

/// Every point of a contact's life, in order.
pub(crate) const POINTS: &[Point] = &[
    Point {
        name: "a  before `started`",
        trap: Trap::Journal(Op::Started, NTH, Spring::ParkBefore),
        torn: None,
        last: None,
        dialled: false,
    },
    Point {
        name: "a' `started` torn",
        trap: Trap::Journal(Op::Started, NTH, Spring::ParkBefore),
        torn: Some(Op::Started),
        last: None,
        dialled: false,
    },
    Point {
        name: "b  after `started`, create unsent",
        trap: Trap::Journal(Op::Started, NTH, Spring::ParkAfter),
        torn: None,
        last: Some(Op::Started),
        dialled: false,
    },
    Point {
        name: "c  create sent, server never saw it",
        trap: Trap::Journal(Op::Started, NTH, Spring::CutAfter(Cut::Requests)),
        torn: None,
        last: Some(Op::Started),
        dialled: false,
    },
    Point {
        name: "c' create sent, server acted, no answer",
        trap: Trap::Journal(Op::Started, NTH, Spring::CutAfter(Cut::Answers)),
        torn: None,
        last: Some(Op::Started),
        dialled: true,
    },
    Point {
        name: "d  answered, before `placed`",
        trap: Trap::Journal(Op::Placed, NTH, Spring::ParkBefore),
        torn: None,
        last: Some(Op::Started),
        dialled: true,
    },
    Point {
        name: "d~ `placed` torn",
        trap: Trap::Journal(Op::Placed, NTH, Spring::ParkBefore),
        torn: Some(Op::Placed),
        last: Some(Op::Started),
        dialled: true,
    },
    Point {
        name: "d' after `placed`, before `finished`",
        trap: Trap::Journal(Op::Finished, NTH, Spring::ParkBefore),
        torn: None,
        last: Some(Op::Placed),
        dialled: true,
    },
    Point {
        name: "d\" `finished` torn",
        trap: Trap::Journal(Op::Finished, NTH, Spring::ParkBefore),
        torn: Some(Op::Finished),
        last: Some(Op::Placed),
        dialled: true,
    },
    Point {
        name: "e  writing a result",
        trap: Trap::Write(NTH),
        torn: None,
        last: Some(Op::Finished),
        dialled: true,
    },
    Point {
        name: "e' results written, file not in place",
        trap: Trap::Finish,
        torn: None,
        last: Some(Op::Finished),
        dialled: true,
    },
];

/// How the server treats idempotency keys, and what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The server honours keys and the client knows it: a rerun resends under the same key.
    Honoured,
    /// The server ignores keys; the client reconciles (`GET /v1/calls`) before resending.
    Reconciled,
    /// The server ignores keys; reconciliation is off: a contact that may have been dialled
    /// is reported `ambiguous`.
    Unreconciled,
}

impl Mode {
    /// For the case table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Honoured => "keys honoured",
            Mode::Reconciled => "keys ignored, reconciled",
            Mode::Unreconciled => "keys ignored, no reconciliation",
        }
    }

    /// Whether the simulator honours keys.
    pub(crate) fn server_honours(self) -> bool {
        self == Mode::Honoured
    }

    /// The client's config: `slots` call slots, idempotency and reconciliation as the mode
    /// says.
    pub(crate) fn config(self, slots: u32) -> Config {
        let mut c = common::config(slots);
        c.retry.idempotency = match self {
            Mode::Honoured => Idempotency::Honoured,
            Mode::Reconciled | Mode::Unreconciled => Idempotency::Ignored,
        };
        c.retry.reconcile = self != Mode::Unreconciled;
        c
    }

    /// How a rerun settles a contact left `started`.
    pub(crate) fn settles(self) -> Settles {
        match self {
            Mode::Honoured | Mode::Reconciled => Settles::Yes,
            Mode::Unreconciled => Settles::No,
        }
    }
}

/// A client of the server at `base_url`.
pub(crate) fn client_at(base_url: &str, config: Config) -> Client {
    Client::builder()
        .base_url(base_url)
        .api_key(ApiKey::parse(KEY).unwrap())
        .config(config)
        .jitter_seed(7)
        .build()
        .expect("client builds")
}

/// The campaign's contacts.
fn contacts() -> Vec<Contact> {
    (1..=CONTACTS).map(common::contact).collect()
}

fn source() -> MemorySource {
    MemorySource::new(contacts().into_iter().map(SourceItem::Contact))
}

/// Appends the first half of a record of `op` for `contact`, without its newline: what a
/// process killed in the middle of writing it leaves.
pub(crate) fn tear(journal: &Path, op: Op, contact: &Contact) {
    let torn = match op {
        Op::Started => format!(
            r#"{{"kind":"started","line":{},"phone":"{}","key":"#,
            contact.line, contact.phone
        ),
        Op::Placed => format!(r#"{{"kind":"placed","contact":"{}","#, contact.key),
        Op::Finished => format!(
            r#"{{"kind":"finished","result":{{"line":{},"phone":"{}","status":"comp"#,
            contact.line, contact.phone
        ),
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(journal)
        .unwrap();
    f.write_all(torn.as_bytes()).unwrap();
}

/// One row of the case table.
#[derive(Debug)]
struct Row {
    /// The trapped contact's number (empty when the trap held no contact).
    target: String,
    /// Its final status.
    status: String,
    /// Calls the server placed in all.
    calls: u64,
    /// Contacts by their last journal record at the (first) crash:
    /// none/started/placed/finished.
    journal: [usize; 4],
    /// Runs that crashed before the one that finished.
    crashes: usize,
}

/// Runs one case on a fresh paused runtime.
fn run_case(point: &Point, mode: Mode, crashes: usize) -> Row {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(case(point, mode, crashes))
}

/// Where a case keeps its server and files.
struct World {
    sim: redial_sim::SimHandle,
    proxy: Proxy,
    journal: std::path::PathBuf,
    out: std::path::PathBuf,
    list: std::path::PathBuf,
}

impl World {
    fn open(&self) -> Result<FileJournal, redial_campaign::JournalError> {
        FileJournal::open(&self.journal, AGENT, &self.list)
    }
}

/// What a crashed run left.
struct Crash {
    /// The contact the trap caught (`None` for the sink's finish).
    target: Option<Contact>,
    /// Calls the server had placed to it.
    dialled: Option<u64>,
    /// The results the run had written to its `.partial` file.
    seen: Vec<ContactOutcome>,
}

/// Runs the campaign through the proxy with `trap` and kills it when the trap springs;
/// appends a torn record of `torn` for the caught contact. `None` when the run ended first
/// (the point is not on this run's path).
async fn crash_at(w: &World, trap: Trap, torn: Option<Op>, mode: Mode) -> Option<Crash> {
    let (hits, mut hit) = tokio::sync::mpsc::unbounded_channel();
    let journal = TrappedJournal::new(
        Arc::new(w.open().expect("the journal opens")),
        Some(trap),
        hits.clone(),
        Some(w.proxy.clone()),
    );
    let sink = TrappedSink::new(JsonlSink::create(&w.out).unwrap(), Some(trap), hits);
    let campaign = Campaign::builder(client_at(&w.proxy.base_url(), mode.config(SLOTS)))
        .agent(AGENT)
        .journal(journal)
        .build()
        .unwrap();
    let mut run = tokio::spawn(campaign.run(source(), sink));
    let target = tokio::select! {
        Some(phone) = hit.recv() => phone,
        ended = &mut run => {
            ended.expect("no panic").expect("the run succeeds");
            return None;
        }
    };
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled(), "killed at the point");
    let target = contacts().into_iter().find(|c| c.phone == target);
    let dialled = target.as_ref().map(|c| w.sim.calls_placed_to(&c.phone));
    let seen = oracle::outcomes(&partial_path(&w.out));
    assert!(!w.out.exists(), "a crashed run leaves no results file");
    if let (Some(op), Some(c)) = (torn, &target) {
        tear(&w.journal, op, c);
    }
    w.proxy.heal();
    Some(Crash {
        target,
        dialled,
        seen,
    })
}

/// Crash at `point` under `mode` (`crashes` times: the rerun crashes again at the first
/// call of the same kind, when it makes one), rerun to the end, check.
async fn case(point: &Point, mode: Mode, crashes: usize) -> Row {
    let mut scenario = common::all_answered();
    scenario.idempotency.honoured = mode.server_honours();
    let sim = common::sim(scenario).await;
    let proxy = Proxy::start(sim.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = World {
        sim,
        proxy,
        journal: dir.path().join("journal.jsonl"),
        out: dir.path().join("results.jsonl"),
        list: dir.path().join("contacts.csv"),
    };
    std::fs::write(&w.list, "phone\n").unwrap();
    let sim = &w.sim;

    let Crash {
        target,
        dialled,
        mut seen,
    } = crash_at(&w, point.trap, point.torn, mode)
        .await
        .expect("the campaign reaches the point");
    let last = oracle::file_journal(&w.journal);

    // The crashed run left what the point says.
    let kind = |op: Option<Op>| match op {
        None => "none",
        Some(Op::Started) => "started",
        Some(Op::Placed) => "placed",
        Some(Op::Finished) => "finished",
    };
    match &target {
        Some(c) => {
            assert_eq!(
                Last::name(last.get(&c.key)),
                kind(point.last),
                "{}: the journal at the crash",
                c.phone
            );
            assert_eq!(
                dialled,
                Some(u64::from(point.dialled)),
                "{}: calls placed at the crash",
                c.phone
            );
        }
        // The sink's finish: every contact finished.
        None => assert!(
            contacts()
                .iter()
                .all(|c| matches!(last.get(&c.key), Some(Last::Finished(_)))),
            "{last:?}"
        ),
    }

    // More crashes, of the reruns, at the first call of the same kind.
    let mut crashed = 1;
    for _ in 1..crashes {
        if let Some(again) = crash_at(&w, point.trap.at(1), point.torn, mode).await {
            seen.extend(again.seen);
            crashed += 1;
        }
    }
    let last_crash = oracle::file_journal(&w.journal);

    // The rerun: a new client straight to the server, the same journal and results file.
    let before = sim.stats();
    let rerun = |client: Client| {
        let journal = w
            .open()
            .expect("the crashed run's journal lock is released");
        let sink = JsonlSink::create(&w.out).unwrap();
        let campaign = Campaign::builder(client)
            .agent(AGENT)
            .journal(journal)
            .build()
            .unwrap();
        tokio::time::timeout(RUN_LIMIT, campaign.run(source(), sink))
    };
    let client = client_at(&sim.base_url(), mode.config(SLOTS));
    rerun(client.clone())
        .await
        .expect("the rerun ends")
        .expect("the rerun succeeds");
    let results = oracle::outcomes(&w.out);
    let by_number = oracle::by_number(&results, false);
    oracle::check(&contacts(), &last_crash, &by_number, mode.settles(), sim);
    for line in &seen {
        assert_eq!(
            by_number.get(&line.phone),
            Some(line),
            "what the crashed run wrote stands"
        );
    }
    assert_eq!(client.limiter().slots().held(), 0, "every slot is back");
    let after = sim.stats();
    if let Some(c) = &target
        && crashed == 1
        && matches!(last.get(&c.key), Some(Last::Started))
    {
        match mode {
            Mode::Honoured if point.dialled => assert!(
                after.idempotent_replays > before.idempotent_replays,
                "the resend under the same key was answered with the call placed before"
            ),
            Mode::Reconciled => assert!(
                after.list_requests() > before.list_requests(),
                "the server was asked before anything was resent"
            ),
            _ => {}
        }
    }

    // A third run writes the same results and dials nobody.
    rerun(client_at(&sim.base_url(), mode.config(SLOTS)))
        .await
        .expect("the third run ends")
        .expect("the third run succeeds");
    assert_eq!(
        oracle::by_number(&oracle::outcomes(&w.out), false),
        by_number,
        "the same results again"
    );
    assert_eq!(
        sim.stats().calls_created,
        after.calls_created,
        "nobody dialled"
    );

    let mut journal = [0; 4];
    for c in contacts() {
        journal[match last.get(&c.key) {
            None => 0,
            Some(Last::Started) => 1,
            Some(Last::Placed(_)) => 2,
            Some(Last::Finished(_)) => 3,
        }] += 1;
    }
    let target_phone = target.map(|c| c.phone).unwrap_or_default();
    Row {
        status: by_number
            .get(&target_phone)
            .map_or_else(|| "(all finished)".to_owned(), |o| o.status.to_string()),
        target: target_phone,
        calls: after.calls_created,
        journal,
        crashes: crashed,
    }
}

/// Crashes per case: once, and once more in the rerun.
const CRASHES: [usize; 2] = [1, 2];

/// Runs every point under `mode`, crashing once and twice, prints the case table (one block
/// per mode), and fails naming every case that failed.
fn every_point(mode: Mode) {
    let mut failed = Vec::new();
    let mut table = String::from(
        "| point | mode | crashes | trapped contact | journal at crash (none/started/placed/finished) | its outcome | calls placed | result |\n|---|---|---|---|---|---|---|---|\n",
    );
    for point in POINTS {
        for crashes in CRASHES {
            let case = || run_case(point, mode, crashes);
            let row = match std::panic::catch_unwind(AssertUnwindSafe(case)) {
                Ok(row) => format!(
                    "| {} | {} | {} | {} | {:?} | {} | {} of {CONTACTS} | ok |",
                    point.name,
                    mode.name(),
                    row.crashes,
                    row.target,
                    row.journal,
                    row.status,
                    row.calls
                ),
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    failed.push(format!(
                        "{} / {} / {crashes} crashes: {why}",
                        point.name,
                        mode.name()
                    ));
                    format!(
                        "| {} | {} | {crashes} | | | | | FAILED |",
                        point.name,
                        mode.name()
                    )
                }
            };
            table.push_str(&row);
            table.push('\n');
        }
    }
    println!("{table}");
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}

#[test]
fn a_crash_at_any_point_with_keys_honoured_loses_and_doubles_nothing() {
    every_point(Mode::Honoured);
}

#[test]
fn a_crash_at_any_point_with_keys_ignored_is_reconciled_and_doubles_nothing() {
    every_point(Mode::Reconciled);
}

#[test]
fn a_crash_at_any_point_without_reconciliation_reports_ambiguous_and_doubles_nothing() {
    every_point(Mode::Unreconciled);
}
