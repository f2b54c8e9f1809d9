//! [`Watcher`]: follows every live call of a campaign to its end with as few status reads as
//! the calls allow.
//!
//! Status reads cost the same account rate as creates, so on a rate-bound campaign every read
//! spared is a contact dialled sooner. Two rules:
//!
//! 1. **Reads timed to calls.** A call's first read is due near the median length of the
//!    calls seen ended in this run (bounded by `polling.initial` and `polling.max_wait`;
//!    `polling.initial` until a few calls have ended), then the reads back off by
//!    `polling.multiplier` up to `polling.max`. With calls of similar lengths most calls are
//!    read once or twice. A length is sampled at the midpoint between the last read that
//!    saw the call live and the one that saw it ended, so read delays do not inflate it.
//! 2. **Many calls per read.** When reads are due and more than one call is live, one
//!    `GET /v1/calls?agent_id=…&limit=…` (newest first, `limit` covering the live calls) is
//!    asked instead: every live call it lists is settled by it — the due ones, and any other
//!    that has already ended. The filters are assumed (a server may ignore them): the answer
//!    is matched by call id, so foreign calls are ignored, and a due call the list did not
//!    show (more live calls than `limit`, an old call off the page) is read on its own. So
//!    correctness never depends on the list.
//!
//! One task owns the schedule; contacts register their call and await its end.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt as _};
use redial_policy::GiveUpReason;
use redial_transport::{Call, Client, Error, FailureDetail, ListCalls};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Calls whose ends are remembered for the median length.
const LENGTH_SAMPLES: usize = 256;
/// Ended calls needed before the median times first reads.
const MIN_SAMPLES: usize = 8;
/// Share of the median at which a call's first read is due: a little before the typical end.
const FIRST_READ_SHARE: f64 = 0.9;
/// Earliest first read once the median is known, whatever `polling.initial` says: short calls
/// are read soon after they end, so their slots come back soon.
const MIN_FIRST_READ: Duration = Duration::from_millis(100);
/// Largest `limit` asked of the list (the simulator's cap; the contract promises none).
const MAX_LIST_LIMIT: u32 = 1000;
/// Calls beyond the live ones a list asks for, so calls created meanwhile do not push a live
/// one off the page.
const LIST_MARGIN: u32 = 16;
/// How far ahead a read counts as due now when a list is asked anyway: reads due soon ride
/// along with it.
const BATCH_AHEAD: Duration = Duration::from_secs(2);
/// Reads of one call that may end in a transient failure (an outage) before the call is
/// given up with that error.
const MAX_READ_FAILURES: u32 = 10;

/// A registration: follow `id`, born at `born`, and answer on `done`.
type Follow = (String, Instant, oneshot::Sender<Result<Call, Error>>);

/// The handle contacts use to await the end of their call.
#[derive(Debug, Clone)]
pub(super) struct Watcher {
    tx: mpsc::UnboundedSender<Follow>,
}

impl Watcher {
    /// Starts the watcher's task over `client`'s calls of `agent` (`lists`: whether list reads
    /// may be used). The task ends when every handle is dropped and no call is left.
    pub(super) fn start(client: Client, agent: String, lists: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(client, agent, lists, rx));
        Self { tx }
    }

    /// Waits until call `id` (created at `born`) is terminal.
    pub(super) async fn wait(&self, id: &str, born: Instant) -> Result<Call, Error> {
        let (done, answer) = oneshot::channel();
        if self.tx.send((id.to_owned(), born, done)).is_err() {
            return Err(gave_up(0, Duration::ZERO));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(gave_up(0, Duration::ZERO)))
    }
}

/// One followed call.
#[derive(Debug)]
struct Live {
    born: Instant,
    /// The last read that saw the call live (its birth before any): the call ended between
    /// this and the read that saw it ended.
    seen_live: Instant,
    due: Instant,
    delay: Duration,
    reads: u32,
    failures: u32,
    done: oneshot::Sender<Result<Call, Error>>,
}

/// Observed call lengths (birth to the read that saw the end).
#[derive(Debug, Default)]
struct Lengths {
    samples: Vec<Duration>,
    next: usize,
}

impl Lengths {
    fn record(&mut self, d: Duration) {
        if self.samples.len() < LENGTH_SAMPLES {
            self.samples.push(d);
        } else {
            self.samples[self.next] = d;
            self.next = (self.next + 1) % LENGTH_SAMPLES;
        }
    }

    fn median(&self) -> Option<Duration> {
        if self.samples.len() < MIN_SAMPLES {
            return None;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        Some(sorted[sorted.len() / 2])
    }
}

/// The watcher's state.
struct State {
    client: Client,
    agent: String,
    lists: bool,
    live: HashMap<String, Live>,
    /// Due time → call ids (several calls may share one instant).
    schedule: BTreeMap<(Instant, u64), String>,
    seq: u64,
    lengths: Lengths,
}

impl State {
    fn polling(&self) -> redial_policy::config::PollingConfig {
        self.client.policy().config().polling.clone()
    }

    fn first_delay(&self) -> Duration {
        let p = self.polling();
        match self.lengths.median() {
            Some(m) => m
                .mul_f64(FIRST_READ_SHARE)
                .clamp(MIN_FIRST_READ, p.max_wait.max(MIN_FIRST_READ)),
            None => p.initial,
        }
    }

    fn add(&mut self, (id, born, done): Follow) {
        let now = redial_limiter::clock::now();
        let delay = self.first_delay();
        // A call taken over may be older than its first delay: read it soon.
        let due = (born + delay).max(now);
        self.schedule(id.clone(), due);
        self.live.insert(
            id,
            Live {
                born,
                seen_live: born,
                due,
                delay,
                reads: 0,
                failures: 0,
                done,
            },
        );
    }

    fn schedule(&mut self, id: String, due: Instant) {
        self.seq += 1;
        self.schedule.insert((due, self.seq), id);
    }

    fn next_due(&self) -> Option<Instant> {
        self.schedule.keys().next().map(|(t, _)| *t)
    }

    /// Call ids due by `by`, taken off the schedule (ids of calls no longer live skipped).
    fn take_due(&mut self, by: Instant) -> Vec<String> {
        let mut due = Vec::new();
        while let Some(entry) = self.schedule.first_entry() {
            if entry.key().0 > by {
                break;
            }
            let id = entry.remove();
            if self.live.get(&id).is_some_and(|l| l.due <= by) {
                due.push(id);
            }
        }
        due
    }

    /// A read saw `call`: settle it if it ended, else schedule its next read.
    fn saw(&mut self, call: Call) {
        let now = redial_limiter::clock::now();
        let Some(live) = self.live.get_mut(&call.id) else {
            return;
        };
        live.reads += 1;
        if call.status.is_terminal() {
            let live = self.live.remove(&call.id).unwrap_or_else(|| unreachable!());
            // The end lies between the last live sighting and now: the midpoint is the sample
            // (the time of the read alone would bias every estimate up by the read delay).
            let gap = now.saturating_duration_since(live.seen_live);
            let ended = live.seen_live + gap / 2;
            self.lengths
                .record(ended.saturating_duration_since(live.born));
            let _ = live.done.send(Ok(call));
            return;
        }
        live.seen_live = now;
        self.reschedule(&call.id, now);
    }

    fn reschedule(&mut self, id: &str, now: Instant) {
        let p = self.polling();
        let Some(live) = self.live.get_mut(id) else {
            return;
        };
        let age = now.saturating_duration_since(live.born);
        if live.reads > 0 && age + live.delay > p.max_wait {
            let live = self.live.remove(id).unwrap_or_else(|| unreachable!());
            let _ = live.done.send(Err(gave_up(live.reads, age)));
            return;
        }
        live.delay = Duration::from_secs_f64(
            (live.delay.as_secs_f64() * p.multiplier).min(p.max.as_secs_f64()),
        );
        live.due = now + live.delay;
        let due = live.due;
        self.schedule(id.to_owned(), due);
    }

    /// A read of `id` failed with `e`: read again later when the failure is transient.
    fn failed(&mut self, id: &str, e: Error) {
        let now = redial_limiter::clock::now();
        let transient = matches!(
            e,
            Error::CircuitOpen { .. }
                | Error::Exhausted { .. }
                | Error::Timeout { .. }
                | Error::BudgetExhausted { .. }
        );
        let Some(live) = self.live.get_mut(id) else {
            return;
        };
        live.failures += 1;
        if transient && live.failures < MAX_READ_FAILURES {
            let wait = match &e {
                Error::CircuitOpen { retry_in, .. } => *retry_in,
                _ => self.client.policy().config().polling.max,
            };
            live.due = now + wait;
            let due = live.due;
            self.schedule(id.to_owned(), due);
        } else if let Some(live) = self.live.remove(id) {
            let _ = live.done.send(Err(e));
        }
    }

    /// The list asked for the live calls: `limit` covering them.
    // `ListCalls` is non-exhaustive: a struct literal cannot build it here.
    #[allow(clippy::field_reassign_with_default)]
    fn list_query(&self) -> ListCalls {
        let limit = u32::try_from(self.live.len())
            .unwrap_or(u32::MAX)
            .saturating_add(LIST_MARGIN)
            .min(MAX_LIST_LIMIT);
        let mut q = ListCalls::default();
        q.agent_id = Some(self.agent.clone());
        q.limit = Some(limit);
        q
    }
}

/// What a read answered.
enum Read {
    One(String, Result<Call, Error>),
    List(Vec<String>, Result<Vec<Call>, Error>),
}

async fn run(client: Client, agent: String, lists: bool, mut rx: mpsc::UnboundedReceiver<Follow>) {
    let mut st = State {
        client,
        agent,
        lists,
        live: HashMap::new(),
        schedule: BTreeMap::new(),
        seq: 0,
        lengths: Lengths::default(),
    };
    let mut reads = FuturesUnordered::new();
    let mut open = true;
    // At most one list read at a time: calls that fall due meanwhile ride on the next one.
    let mut listing = false;
    loop {
        if !open && st.live.is_empty() && reads.is_empty() {
            return;
        }
        let use_list = st.lists && st.live.len() > 1;
        let wake = st.next_due().filter(|_| !(use_list && listing));
        tokio::select! {
            follow = rx.recv(), if open => match follow {
                Some(f) => st.add(f),
                None => open = false,
            },
            Some(read) = reads.next(), if !reads.is_empty() => match read {
                Read::One(id, Ok(call)) if call.id == id => st.saw(call),
                Read::One(id, Ok(_)) => st.failed(&id, gave_up(0, Duration::ZERO)),
                Read::One(id, Err(e)) => st.failed(&id, e),
                Read::List(due, answer) => {
                    listing = false;
                    let listed = answer.unwrap_or_default();
                    let mut shown = std::collections::HashSet::new();
                    for call in listed {
                        if st.live.contains_key(&call.id) {
                            shown.insert(call.id.clone());
                            st.saw(call);
                        }
                    }
                    // Due calls the list did not show: read each on its own.
                    for id in due.into_iter().filter(|id| !shown.contains(id)) {
                        reads.push(read_one(st.client.clone(), id));
                    }
                }
            },
            () = sleep_until(wake), if wake.is_some() => {
                let now = redial_limiter::clock::now();
                let due = st.take_due(if use_list { now + BATCH_AHEAD } else { now });
                if due.is_empty() {
                    continue;
                }
                if use_list {
                    listing = true;
                    let (client, query) = (st.client.clone(), st.list_query());
                    reads.push(Box::pin(async move {
                        let answer = client.calls().list(&query).await;
                        Read::List(due, answer)
                    }));
                } else {
                    for id in due {
                        reads.push(read_one(st.client.clone(), id));
                    }
                }
            }
        }
    }
}

fn read_one(
    client: Client,
    id: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Read> + Send>> {
    Box::pin(async move {
        let answer = client.calls().get(&id).await;
        Read::One(id, answer)
    })
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The error of a call followed past `polling.max_wait` (or of a watcher that is gone).
fn gave_up(reads: u32, age: Duration) -> Error {
    let mut detail = FailureDetail::default();
    detail.operation = "GET /v1/calls/{id}";
    detail.attempts = reads;
    detail.elapsed = age;
    detail.give_up = Some(GiveUpReason::DeadlineExceeded);
    Error::Timeout {
        detail: Box::new(detail),
        operation: "GET /v1/calls/{id}",
    }
}
