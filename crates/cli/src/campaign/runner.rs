//! The campaign loop: stream the contacts, decide per contact (malformed, duplicate, already
//! finished in the journal, suppressed, halted), dial the rest with a bounded number of tasks
//! in flight, and stream every result to the out file, the journal and the summary.
//!
//! Pacing, retries, slot waits and halts are the runtime's: a contact's future only creates
//! the call (holding its slot), waits until it is done and drops the slot.
//!
//! The contact futures run concurrently inside the campaign's own task (a
//! `FuturesUnordered`), not as spawned tasks: one task polling a bounded set of futures is all
//! a dialer needs — the HTTP connections are driven by the runtime anyway — and the bound on
//! futures in flight is the bound on memory.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use futures::stream::{FuturesUnordered, StreamExt as _};
use redial_policy::HaltScope;
use redial_transport::{Client, Error, NewCall};
use uuid::Uuid;

use crate::args::ProgressArg;
use crate::campaign::{metrics, outcome};
use crate::contacts::{Contact, ContactReader, Row, count_rows};
use crate::journal::{Journal, Prior, PriorState, idempotency_key};
use crate::progress::{Counters, Progress};
use crate::results::{ResultLine, ResultsWriter, Status};
use crate::summary::Summary;
use crate::suppress::SuppressList;

/// What the loop needs, all validated.
#[derive(Debug)]
pub struct Campaign {
    /// Ctrl-C / SIGTERM: stop taking new contacts.
    pub interrupt: crate::interrupt::Interrupt,
    /// Contacts file.
    pub contacts: PathBuf,
    /// Agent id.
    pub agent: String,
    /// Caller id.
    pub from: Option<String>,
    /// Results file or `-`.
    pub out: PathBuf,
    /// Journal and prior state.
    pub journal: Option<(Journal, Prior)>,
    /// Suppress list.
    pub suppress: SuppressList,
    /// Progress display.
    pub progress: ProgressArg,
    /// Contacts in flight at once.
    pub in_flight: usize,
    /// Whether the server honours idempotency keys (so unfinished creates may be resent).
    pub honoured: bool,
}

type SharedJournal = Arc<Mutex<Journal>>;

/// Times a contact waits for the calls circuit to close before it is reported `failed`
/// with `circuit_open`.
pub const MAX_CIRCUIT_WAITS: u32 = 10;
/// Step of the stagger of circuit waits.
pub const STAGGER_STEP: Duration = Duration::from_millis(100);
/// Steps of the stagger of circuit waits.
pub const STAGGER_STEPS: u64 = 10;
/// Times the polls of a created call resume after a transient failure before the contact
/// is reported `failed` (with its `call_id`).
pub const MAX_POLL_RESUMES: u32 = 10;
/// Resends of an ambiguous create under a key the server honours (it then returns the call
/// it placed, or places it once).
pub const MAX_AMBIGUOUS_RESENDS: u32 = 3;
/// How long the slot of an ambiguous create stays held (a call that may be live): about a
/// typical outbound call. **Assumed**; the account's own limit corrects the rest.
pub const AMBIGUOUS_SLOT_HOLD: Duration = Duration::from_secs(120);
/// Shortest wait for an open circuit (guards against a zero `retry_in` spinning).
pub const MIN_CIRCUIT_WAIT: Duration = Duration::from_millis(50);

/// Runs the campaign to the end and returns its summary (duration, peak live calls and
/// throttles are filled in by the caller where known).
///
/// # Errors
/// I/O errors of the contacts file, the results file, the journal or the suppress file.
pub async fn run(c: Campaign, client: &Client) -> anyhow::Result<Summary> {
    let total = count_rows(&c.contacts)?;
    let mut reader = ContactReader::open(&c.contacts)?;
    let (journal, prior) = match c.journal {
        Some((j, p)) => (Some(Arc::new(Mutex::new(j))), p),
        None => (None, Prior::default()),
    };
    let campaign_id = journal
        .as_ref()
        .map_or_else(Uuid::new_v4, |j| lock(j).campaign_id());
    let out = ResultsWriter::create(&c.out)
        .with_context(|| format!("cannot create results file {}", c.out.display()))?;
    let progress = Progress::start(total, client.clone(), c.progress);
    let mut sink = Sink {
        out,
        summary: Summary::default(),
        suppress: c.suppress,
        journal: journal.clone(),
        counters: progress.counters().clone(),
        halt_cause: None,
    };
    let agent: Arc<str> = c.agent.into();
    let from: Option<Arc<str>> = c.from.map(Into::into);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let interrupt = c.interrupt.clone();
    let mut tasks = FuturesUnordered::new();
    let dialer = Dialer {
        client: client.clone(),
        journal: journal.clone(),
        agent: agent.clone(),
        from: from.clone(),
        counters: progress.counters().clone(),
        honoured: c.honoured,
    };

    while let Some(row) = reader.next_row()? {
        let contact = match row {
            Row::Valid(contact) => contact,
            Row::Invalid(bad) => {
                eprintln!(
                    "contacts {} line {}: {}",
                    c.contacts.display(),
                    bad.line,
                    bad.reason
                );
                sink.emit(outcome::invalid_row(&bad), true)?;
                continue;
            }
        };
        if let Some(&first) = seen.get(&contact.phone) {
            sink.emit(outcome::duplicate(&contact, first), true)?;
            continue;
        }
        seen.insert(contact.phone.clone(), contact.line);
        let mut key = idempotency_key(campaign_id, &contact.phone);
        match prior.get(&contact.phone) {
            Some(PriorState::Finished(done)) if !done.retry_on_rerun() => {
                sink.summary.resumed += 1;
                sink.emit(done.clone(), false)?;
                continue;
            }
            Some(PriorState::Started { .. }) if !c.honoured => {
                sink.emit(outcome::unfinished_in_journal(&contact), true)?;
                continue;
            }
            // Resend under the key the earlier run used: the server answers with that call.
            Some(PriorState::Started { key: earlier }) => key = earlier.clone(),
            _ => {}
        }
        if sink.suppress.contains(&contact.phone) {
            sink.emit(outcome::suppressed(&contact), true)?;
            continue;
        }
        while tasks.len() >= c.in_flight.max(1) {
            if let Some(done) = tasks.next().await {
                sink.handle(done)?;
            }
        }
        if interrupt.is_stopping() {
            sink.emit(outcome::interrupted(&contact), true)?;
            continue;
        }
        if let Some(scope) = campaign_halt(client, &agent, from.as_deref()) {
            let cause = sink
                .halt_cause
                .clone()
                .unwrap_or_else(|| "halted".to_owned());
            sink.emit(outcome::not_attempted_halted(&contact, scope, &cause), true)?;
            continue;
        }
        tasks.push(dial(dialer.clone(), contact, key));
    }
    while let Some(done) = tasks.next().await {
        sink.handle(done)?;
    }
    let counters = progress.finish().await;
    if let Some(j) = &journal {
        lock(j).sync().context("cannot sync the journal")?;
    }
    sink.out
        .finish()
        .with_context(|| format!("cannot write results file {}", c.out.display()))?;
    let mut summary = sink.summary;
    summary.interrupted = interrupt.is_stopping();
    summary.max_live_calls = counters.max_live.load(Ordering::Relaxed);
    summary.min_account_rate = counters.min_rate();
    Ok(summary)
}

/// The halted scope that stops every contact of this campaign, if any.
fn campaign_halt(client: &Client, agent: &str, from: Option<&str>) -> Option<&'static str> {
    let halts = client.halts();
    if halts.is_halted(&HaltScope::Account) {
        Some("account")
    } else if halts.is_halted(&HaltScope::Agent(agent.to_owned())) {
        Some("agent")
    } else if from.is_some_and(|f| halts.is_halted(&HaltScope::Sender(f.to_owned()))) {
        Some("sender")
    } else {
        None
    }
}

fn lock(j: &SharedJournal) -> std::sync::MutexGuard<'_, Journal> {
    j.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every contact's future shares (cheap to clone).
#[derive(Debug, Clone)]
struct Dialer {
    client: Client,
    journal: Option<SharedJournal>,
    agent: Arc<str>,
    from: Option<Arc<str>>,
    counters: Arc<Counters>,
    honoured: bool,
}

/// One contact: create (holding the slot; the journal's `started` record is written right
/// before the create goes on the wire), wait until done, free the slot.
async fn dial(d: Dialer, contact: Contact, key: String) -> io::Result<ResultLine> {
    let Dialer {
        client,
        journal,
        agent,
        from,
        counters,
        honoured,
    } = d;
    // Journaled only once the create is about to be sent: a contact still queued for a slot
    // or for pacing when the process dies was certainly not dialled.
    let journal_started = || match &journal {
        Some(j) => lock(j).started(contact.line, &contact.phone, &key),
        None => Ok(()),
    };
    let mut call = NewCall::new(&*agent, contact.phone.clone());
    call.from_number = from.map(|f| f.to_string());
    call.metadata = (!contact.metadata.is_empty()).then(|| contact.metadata.clone());
    call.idempotency_key = Some(key.clone());
    let mut circuit_waits = 0;
    let mut resends = 0;
    let placed = loop {
        match client
            .calls()
            .create_with_hook(&call, &journal_started)
            .await
        {
            Ok(placed) => break placed,
            // The journal could not record the contact: nothing was sent; stop the campaign.
            Err(Error::Aborted { reason, .. }) => return Err(io::Error::other(reason)),
            // The circuit of the calls endpoint is open: wait for it rather than burn through
            // the contact list. Safe to resend only when nothing was sent, or under the same
            // idempotency key the server honours.
            Err(Error::CircuitOpen {
                retry_in, detail, ..
            }) if circuit_waits < MAX_CIRCUIT_WAITS && (honoured || detail.attempts == 0) => {
                circuit_waits += 1;
                tokio::time::sleep(retry_in.max(MIN_CIRCUIT_WAIT) + stagger(contact.line)).await;
            }
            // The server may have placed the call, but it honours our key: resending under
            // the same key returns that call instead of dialling again.
            Err(Error::Ambiguous { .. }) if honoured && resends < MAX_AMBIGUOUS_RESENDS => {
                resends += 1;
                tokio::time::sleep(MIN_CIRCUIT_WAIT + stagger(contact.line)).await;
            }
            Err(mut e) => {
                if let Some(slot) = e.take_slot() {
                    hold_slot(slot);
                }
                return Ok(outcome::from_error(&contact, &e, None));
            }
        }
    };
    counters.saw_live(client.limiter().slots().held());
    let mut resumes = 0;
    let result = loop {
        match client.calls().wait_until_done(&placed.call.id).await {
            Ok(done) => break outcome::completed(&contact, &done, placed.attempts),
            // The call exists and a status poll is safe to repeat: a transient failure of the
            // polls (an outage, the open circuit it causes) must not lose track of the call.
            Err(e) if resumes < MAX_POLL_RESUMES && poll_may_resume(&e) => {
                resumes += 1;
                let wait = match &e {
                    Error::CircuitOpen { retry_in, .. } => *retry_in,
                    _ => client.policy().config().polling.max,
                };
                tokio::time::sleep(wait.max(MIN_CIRCUIT_WAIT) + stagger(contact.line)).await;
            }
            Err(e) => {
                break outcome::from_error(&contact, &e, Some((&placed.call, placed.attempts)));
            }
        }
    };
    drop(placed.slot);
    Ok(result)
}

/// Keeps the call slot of an ambiguous create for [`AMBIGUOUS_SLOT_HOLD`]: the call may be
/// live, and freeing its slot at once would let the campaign overrun the account's
/// concurrent-call limit (the server's `concurrent_call_limit` corrects what is left).
fn hold_slot(slot: redial_transport::CallSlot) {
    tokio::spawn(async move {
        tokio::time::sleep(AMBIGUOUS_SLOT_HOLD).await;
        drop(slot);
    });
}

/// Spreads the contacts that wait for the same circuit over [`STAGGER_STEPS`] steps of
/// [`STAGGER_STEP`], so they do not all meet the half-open circuit at once.
fn stagger(line: u64) -> Duration {
    STAGGER_STEP * u32::try_from(line % STAGGER_STEPS).unwrap_or(0)
}

/// Whether following a created call may go on after this poll failure: transient ends of
/// the retry loop, not halts (a revoked key) or fatal answers (the call is unknown).
fn poll_may_resume(e: &Error) -> bool {
    matches!(
        e,
        Error::CircuitOpen { .. }
            | Error::Exhausted { .. }
            | Error::Timeout { .. }
            | Error::BudgetExhausted { .. }
    )
}

/// Where results go: out file, journal, suppress list, summary, progress and metrics.
#[derive(Debug)]
struct Sink {
    out: ResultsWriter,
    summary: Summary,
    suppress: SuppressList,
    journal: Option<SharedJournal>,
    counters: Arc<Counters>,
    /// The code of the first error that halted a campaign scope.
    halt_cause: Option<String>,
}

impl Sink {
    fn handle(&mut self, done: io::Result<ResultLine>) -> anyhow::Result<()> {
        let result = done.context("cannot write the journal")?;
        // The cause is the answer that tripped the halt, not a later request that failed fast.
        if result.status == Status::Halted && result.attempts > 0 && self.halt_cause.is_none() {
            self.halt_cause = result.error.as_ref().map(|e| e.code.clone());
        }
        self.emit(result, true)
    }

    fn emit(&mut self, r: ResultLine, journal: bool) -> anyhow::Result<()> {
        let from_api = r.error.as_ref().is_some_and(|e| e.code != "suppressed");
        if r.status == Status::OptedOut && from_api {
            self.suppress
                .add(&r.phone)
                .context("cannot append to the suppress file")?;
        }
        if let (true, Some(j)) = (journal, &self.journal) {
            lock(j).finished(&r).context("cannot write the journal")?;
        }
        self.out
            .write(&r)
            .context("cannot write the results file")?;
        if journal {
            self.summary.add(&r);
        } else {
            // Re-emitted from an earlier run: counted, but its halt did not stop this run.
            self.summary.add_resumed(&r);
        }
        self.counters.done.fetch_add(1, Ordering::Relaxed);
        self.counters
            .retries
            .fetch_add(u64::from(r.attempts.saturating_sub(1)), Ordering::Relaxed);
        metrics::contact_done(r.status);
        Ok(())
    }
}
