//! The fault matrix (issue 15, item 1): every fault × every request × Idempotency-Keys
//! honoured or ignored, generated from three lists ([`FAULTS`], [`REQUESTS`], [`KEYS`]). A new
//! simulator fault is one line in `FAULTS` (`Fault::sim(name, FaultKind::…)`); a new request
//! is one line in `REQUESTS` (plus the function that sends it).
//!
//! Every cell runs one logical request through the public [`Client`] against a fresh
//! simulator whose fault hits the first requests of that request's route (or every one, for
//! the variant that must give up), then checks over the whole history, by the simulator's own
//! count:
//!
//! - no duplicate side effect: at most one call, message or number created, none for a read,
//!   nobody dialled twice;
//! - exactly one outcome: the request resolves (within [`CELL_BOUND`] of simulated time) to
//!   `Ok` or one typed error, and that outcome agrees with the history (a success created
//!   exactly one thing, a definite failure or pause created nothing, only `Ambiguous` may
//!   leave it open);
//! - the right outcome kind: [`expected`], a small function of the three derived from the
//!   error contract and the design (docs/errors.md, docs/handling-errors.md), checked itself
//!   against cells written out by hand;
//! - call slots back to zero: the client holds exactly the slots its outcome carries, and
//!   none once the outcome is dropped.
//!
//! The fault is checked to have fired in every cell (a cell that met no fault proves
//! nothing). The matrix of outcomes is printed to stderr and written to
//! `target/fault-matrix.md` (for docs/reliability.md). Cells run concurrently on tokio's paused clock, each with its
//! own simulator and client: hours of simulated waiting take milliseconds.

mod common;

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;
use redial::policy::Config;
use redial::policy::config::Idempotency;
use redial::sim::{FaultKind, FirstFault, RetryAfterFormat, Scenario, SimHandle, SimStats};
use redial::transport::{
    CallSlot, Client, Error, ListCalls, NewCall, NewMessage, NumberImport, Secret,
};

use common::{AGENT, client_at, sim};

/// Longest a cell's request may take, in simulated time, before it counts as "no outcome".
/// Longer than the longest legitimate wait in the matrix (a quota of an hour is not waited
/// out: `pacing.max_pause` is a minute by default).
const CELL_BOUND: Duration = Duration::from_secs(4 * 3600);

/// Requests a "first N" fault hits before the server behaves again.
const FIRST_N: u64 = 2;

/// `Retry-After` of the throttle faults: a short server-side throttle, within the one minute
/// a request waits out by default (`pacing.max_pause`).
const THROTTLE_WAIT: Duration = Duration::from_secs(20);

/// The quota window: used up before the cell's request, so its 429s ask for about an hour.
const QUOTA_WINDOW: Duration = Duration::from_secs(3600);

/// Talk time of the other dialer's call that fills the account's one live-call slot in the
/// `concurrent_call_limit` cells: a typical answered call of two minutes.
const OTHER_CALL_TALK: Duration = Duration::from_secs(120);

/// The number each cell's create dials.
const CONTACT: &str = "+442071838001";
/// The number the setup call (another dialer's, or the call a read looks at) dials.
const OTHER_CONTACT: &str = "+442071838999";
/// The number an import brings in (in the simulator's seeded Twilio account).
const IMPORTED: &str = "+14155550101";
/// The seeded Twilio account of the simulator.
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// Its auth token.
const TWILIO_TOKEN: &str = "twilio_demo_token";

// ---------------------------------------------------------------------------------------------
// The three lists.

/// Every fault of the matrix: one line each.
const FAULTS: &[Fault] = &[
    Fault::sim("500 before acting", FaultKind::ServerError),
    Fault::sim("500 after acting", FaultKind::ServerErrorAfter),
    Fault::sim("gateway HTML 502", FaultKind::Html502),
    Fault::sim("reset before acting", FaultKind::ResetBefore),
    Fault::sim("reset after acting", FaultKind::ResetAfter),
    Fault::sim("truncated body", FaultKind::Truncated),
    Fault::sim("hang past the attempt timeout", FaultKind::Hang),
    Fault::throttle("429 with Retry-After", RetryAfterFormat::Seconds),
    Fault::throttle("429 without Retry-After", RetryAfterFormat::None),
    Fault::quota("quota 429 of an hour"),
    Fault::call_limit("concurrent_call_limit"),
    Fault::every("500 on every request", FaultKind::ServerError),
    Fault::throttle_every("429 with Retry-After on every request"),
];

/// Every request of the matrix: one line each.
const REQUESTS: &[Request] = &[
    Request::write("call create", "POST /v1/calls", create_call, calls_created),
    Request::read("status poll", "GET /v1/calls/{id}", status_poll),
    Request::read("list", "GET /v1/calls", list_calls),
    Request::write("message send", "POST /v1/messages", send_message, messages),
    Request::write("number import", "POST /v1/phone-numbers", import, numbers),
];

/// Both ways a server may treat `Idempotency-Key` (the simulator and the client agree).
const KEYS: [Keys; 2] = [Keys::Honoured, Keys::Ignored];

// ---------------------------------------------------------------------------------------------
// Faults.

/// How a fault is produced on the simulator.
#[derive(Debug, Clone, Copy)]
enum Inject {
    /// A simulator fault kind on the first `count` requests of the cell's route.
    Sim { kind: FaultKind, count: u64 },
    /// `rate_limited` 429s asking for [`THROTTLE_WAIT`] on the first `count` requests of the
    /// route, stating `Retry-After` so.
    Throttle {
        format: RetryAfterFormat,
        count: u64,
    },
    /// The account's quota is used up for the hour: every request gets a 429 with a
    /// `Retry-After` of about 3,600 s.
    Quota,
    /// The account's one live-call slot is taken by another dialer's call of two minutes.
    CallLimit,
}

/// One fault of the matrix.
#[derive(Debug, Clone, Copy)]
struct Fault {
    name: &'static str,
    inject: Inject,
}

impl Fault {
    /// A simulator fault on the first [`FIRST_N`] requests of the route.
    const fn sim(name: &'static str, kind: FaultKind) -> Self {
        let count = FIRST_N;
        Self {
            name,
            inject: Inject::Sim { kind, count },
        }
    }

    /// A simulator fault on every request of the route: the request must give up.
    const fn every(name: &'static str, kind: FaultKind) -> Self {
        let count = u64::MAX;
        Self {
            name,
            inject: Inject::Sim { kind, count },
        }
    }

    /// Throttles on the first [`FIRST_N`] requests of the route.
    const fn throttle(name: &'static str, format: RetryAfterFormat) -> Self {
        let count = FIRST_N;
        Self {
            name,
            inject: Inject::Throttle { format, count },
        }
    }

    /// Throttles (with `Retry-After`) on every request of the route: the request must stop
    /// once it was throttled for longer than it may wait (`pacing.max_pause`).
    const fn throttle_every(name: &'static str) -> Self {
        let format = RetryAfterFormat::Seconds;
        let count = u64::MAX;
        Self {
            name,
            inject: Inject::Throttle { format, count },
        }
    }

    const fn quota(name: &'static str) -> Self {
        Self {
            name,
            inject: Inject::Quota,
        }
    }

    const fn call_limit(name: &'static str) -> Self {
        Self {
            name,
            inject: Inject::CallLimit,
        }
    }

    /// Why the fault cannot meet `req`, if it cannot.
    fn not_applicable(&self, req: &Request) -> Option<&'static str> {
        match self.inject {
            Inject::CallLimit if req.route != "POST /v1/calls" => {
                Some("concurrent_call_limit answers call creates only")
            }
            _ => None,
        }
    }

    /// Whether the fault needs a call placed (by another dialer) before the cell's request.
    fn needs_other_call(&self) -> bool {
        matches!(self.inject, Inject::Quota | Inject::CallLimit)
    }

    /// Sets the fault up in the cell's scenario.
    fn apply(&self, s: &mut Scenario, route: &str) {
        let first = |kind, count| FirstFault {
            kind,
            count,
            routes: vec![route.to_owned()],
        };
        match self.inject {
            Inject::Sim { kind, count } => s.faults.first = vec![first(kind, count)],
            Inject::Throttle { format, count } => {
                s.faults.first = vec![first(FaultKind::RateLimited, count)];
                s.faults.rate_limited_wait = THROTTLE_WAIT;
                s.limits.retry_after = format;
            }
            Inject::Quota => {
                s.quota.calls = 1;
                s.quota.window = QUOTA_WINDOW;
            }
            Inject::CallLimit => {
                s.limits.max_concurrent_calls = 1;
                s.calls.outcomes.busy = 0;
                s.calls.outcomes.no_answer = 0;
                s.calls.outcomes.failed = 0;
                s.calls.duration_min = OTHER_CALL_TALK;
                s.calls.duration_max = OTHER_CALL_TALK;
            }
        }
    }

    /// How many times the fault fired, by the simulator's count.
    fn fired(&self, stats: &SimStats) -> u64 {
        match self.inject {
            Inject::Sim { kind, .. } => stats.faults_of(kind),
            Inject::Throttle { .. } => stats.faults_of(FaultKind::RateLimited),
            Inject::Quota => stats.quota_refused,
            Inject::CallLimit => stats.rate_limited_with("concurrent_call_limit"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// What a cell's request needs to know.
#[derive(Debug)]
struct Ctx {
    /// The id of the call placed before the request (another dialer's, or the call a read
    /// looks at), if one was.
    other_call: Option<String>,
}

/// The result of one request, reduced to what the invariants look at.
type Sent = Result<Success, Error>;

/// A success: whether a create adopted a call found by reconciliation, and the call slot a
/// create holds for its call.
#[derive(Debug)]
struct Success {
    adopted: bool,
    slot: Option<CallSlot>,
}

impl Success {
    fn plain() -> Self {
        Self {
            adopted: false,
            slot: None,
        }
    }
}

type SendFn = for<'a> fn(&'a Client, &'a Ctx) -> BoxFuture<'a, Sent>;

/// One request of the matrix.
#[derive(Clone, Copy)]
struct Request {
    name: &'static str,
    /// The simulator's route key, where the cell's fault is injected.
    route: &'static str,
    send: SendFn,
    /// Its side effect by the simulator's count; `None` for a read (which must have none).
    effect: Option<fn(&SimStats) -> u64>,
}

impl Request {
    const fn write(
        name: &'static str,
        route: &'static str,
        send: SendFn,
        effect: fn(&SimStats) -> u64,
    ) -> Self {
        Self {
            name,
            route,
            send,
            effect: Some(effect),
        }
    }

    const fn read(name: &'static str, route: &'static str, send: SendFn) -> Self {
        Self {
            name,
            route,
            send,
            effect: None,
        }
    }

    fn is_read(&self) -> bool {
        self.effect.is_none()
    }

    fn is_create(&self) -> bool {
        self.route == "POST /v1/calls"
    }

    /// Whether the request needs a call to exist first.
    fn needs_call(&self) -> bool {
        self.route == "GET /v1/calls/{id}"
    }
}

fn calls_created(s: &SimStats) -> u64 {
    s.calls_created
}

fn messages(s: &SimStats) -> u64 {
    s.messages_created
}

fn numbers(s: &SimStats) -> u64 {
    s.numbers_imported
}

/// Every side effect a request could have: a read must change none of them.
fn all_effects(s: &SimStats) -> u64 {
    s.calls_created + s.messages_created + s.numbers_imported + s.agents_created
}

fn create_call<'a>(client: &'a Client, _: &'a Ctx) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let mut call = NewCall::new(AGENT, CONTACT);
        call.idempotency_key = Some("fault-matrix:contact-1".into());
        let placed = client.calls().create(&call).await?;
        Ok(Success {
            adopted: placed.adopted,
            slot: Some(placed.slot),
        })
    })
}

fn status_poll<'a>(client: &'a Client, ctx: &'a Ctx) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let id = ctx.other_call.as_deref().expect("a status poll has a call");
        let call = client.calls().get(id).await?;
        assert_eq!(call.id, id, "the poll reads its call");
        Ok(Success::plain())
    })
}

fn list_calls<'a>(client: &'a Client, _: &'a Ctx) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        client.calls().list(&ListCalls::default()).await?;
        Ok(Success::plain())
    })
}

fn send_message<'a>(client: &'a Client, _: &'a Ctx) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let message = NewMessage {
            to: CONTACT.into(),
            body: "Your appointment is at 10:00 tomorrow.".into(),
            from_number: None,
            agent_id: None,
            idempotency_key: Some("fault-matrix:message-1".into()),
        };
        client.messages().send(&message).await?;
        Ok(Success::plain())
    })
}

fn import<'a>(client: &'a Client, _: &'a Ctx) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let import = NumberImport {
            agent_id: AGENT.into(),
            phone_number: IMPORTED.into(),
            twilio_account_sid: TWILIO_SID.into(),
            twilio_auth_token: Secret::new(TWILIO_TOKEN),
        };
        client.numbers().import(&import).await?;
        Ok(Success::plain())
    })
}

// ---------------------------------------------------------------------------------------------
// Idempotency and outcomes.

/// Whether the server honours `Idempotency-Key` (and the client is configured to know it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    Honoured,
    Ignored,
}

impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Keys::Honoured => "keys honoured",
            Keys::Ignored => "keys ignored",
        })
    }
}

/// The kind of outcome a request ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Success (for a create: the call was placed by an answered create).
    Done,
    /// A create whose answer was lost, reconciled: the one call it placed was found and
    /// adopted.
    Adopted,
    /// In doubt: the server may have acted; nothing was repeated blindly.
    Ambiguous,
    /// The account is paused for longer than a request waits: not sent (this time),
    /// re-dialable, never failed.
    Paused,
    /// Gave up at the attempt limit (and, for a write, proven not to have acted).
    Exhausted,
    /// Any other error, by its outcome label (never expected in this matrix).
    Other(&'static str),
}

impl Outcome {
    fn of(sent: &Sent) -> Self {
        match sent {
            Ok(s) if s.adopted => Outcome::Adopted,
            Ok(_) => Outcome::Done,
            Err(Error::Ambiguous { .. }) => Outcome::Ambiguous,
            Err(Error::Paused { .. }) => Outcome::Paused,
            Err(Error::Exhausted { .. }) => Outcome::Exhausted,
            Err(e) => Outcome::Other(e.outcome()),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Done => "ok",
            Outcome::Adopted => "ok, adopted",
            Outcome::Ambiguous => "ambiguous",
            Outcome::Paused => "paused",
            Outcome::Exhausted => "gave up",
            Outcome::Other(label) => label,
        })
    }
}

/// The outcome the error contract and the design call for, or why the cell does not apply.
///
/// - A throttle (with or without `Retry-After`) and a full live-call limit are waits, never
///   failures: the request gets through once the server behaves.
/// - A quota 429 of an hour pauses the account: the request ends `Paused` (re-dialable),
///   not failed and not waited out by one request. So does a request throttled for longer
///   than it may wait in all (`pacing.max_pause`), however short each `Retry-After`.
/// - A failure the server answered with a 5xx, a reset, a cut body or no answer "may have
///   acted" for a POST: a read is simply retried; a write is retried under an honoured key
///   (the server replays or executes it once); with keys ignored a call create is
///   reconciled through `GET /v1/calls` (adopted when the first send acted, else proven not
///   placed and sent again under the same key), and any other write (a message, an import:
///   nothing to list) ends `Ambiguous` without a blind resend.
/// - When every attempt fails: a read gives up; a call create with keys ignored is proven
///   not placed by reconciliation and gives up; any other write is in doubt (`Ambiguous`):
///   a 500 does not prove the server did nothing.
fn expected(fault: &Fault, req: &Request, keys: Keys) -> Result<Outcome, &'static str> {
    if let Some(why) = fault.not_applicable(req) {
        return Err(why);
    }
    Ok(match fault.inject {
        Inject::Throttle { count, .. } if count == u64::MAX => Outcome::Paused,
        Inject::Throttle { .. } | Inject::CallLimit => Outcome::Done,
        Inject::Quota => Outcome::Paused,
        Inject::Sim { kind, count } => {
            let every = count == u64::MAX;
            let acted = matches!(kind, FaultKind::ServerErrorAfter | FaultKind::ResetAfter);
            match (req.is_read(), every, keys, req.is_create()) {
                (true, false, ..) => Outcome::Done,
                (true, true, ..) => Outcome::Exhausted,
                (false, false, Keys::Honoured, _) => Outcome::Done,
                (false, false, Keys::Ignored, true) if acted => Outcome::Adopted,
                (false, false, Keys::Ignored, true) => Outcome::Done,
                (false, false, Keys::Ignored, false) => Outcome::Ambiguous,
                (false, true, Keys::Ignored, true) => Outcome::Exhausted,
                (false, true, ..) => Outcome::Ambiguous,
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// One cell.

/// A cell of the matrix.
#[derive(Clone, Copy)]
struct Cell {
    fault: &'static Fault,
    req: &'static Request,
    keys: Keys,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} × {} × {}]",
            self.fault.name, self.req.name, self.keys
        )
    }
}

/// What a cell ended with.
struct Report {
    cell: Cell,
    /// `Err(why)` for a cell that does not apply.
    outcome: Result<Outcome, &'static str>,
    /// Requests the simulator answered on the cell's route (a hung request is answered only
    /// when its hang ends, after the cell).
    on_route: u64,
    /// Simulated time the request took.
    elapsed: Duration,
    /// Invariants violated, each naming the cell.
    violations: Vec<String>,
}

/// The client's config: the defaults, at real time scales, with the server's key handling.
fn config(keys: Keys) -> Config {
    let mut c = Config::default();
    c.retry.idempotency = match keys {
        Keys::Honoured => Idempotency::Honoured,
        Keys::Ignored => Idempotency::Ignored,
    };
    c
}

/// Places a call as another dialer of the account would (its own client), returning its id.
async fn other_dialer_call(sim: &SimHandle) -> String {
    let other = client_at(&sim.base_url(), Config::default());
    let placed = other
        .calls()
        .create(&NewCall::new(AGENT, OTHER_CONTACT))
        .await
        .expect("the setup call is placed before any fault");
    placed.call.id
}

async fn run(cell: Cell) -> Report {
    let Cell { fault, req, keys } = cell;
    let mut report = Report {
        cell,
        outcome: expected(fault, req, keys),
        on_route: 0,
        elapsed: Duration::ZERO,
        violations: Vec::new(),
    };
    let Ok(want) = report.outcome else {
        return report;
    };
    let mut violated = |what: String| report.violations.push(format!("{cell}: {what}"));

    let mut scenario = Scenario::default();
    scenario.idempotency.honoured = keys == Keys::Honoured;
    fault.apply(&mut scenario, req.route);
    let sim = sim(scenario).await;
    let other_call = if req.needs_call() || fault.needs_other_call() {
        Some(other_dialer_call(&sim).await)
    } else {
        None
    };
    let ctx = Ctx { other_call };
    let client = client_at(&sim.base_url(), config(keys));
    let before = sim.stats();

    // Exactly one outcome: the request resolves, once, to Ok or one typed error.
    let started = redial::limiter::clock::now();
    let sent = match tokio::time::timeout(CELL_BOUND, (req.send)(&client, &ctx)).await {
        Ok(sent) => sent,
        Err(_) => {
            violated(format!(
                "no outcome within {CELL_BOUND:?} of simulated time"
            ));
            report.outcome = Ok(Outcome::Other("no outcome"));
            return report;
        }
    };
    let got = Outcome::of(&sent);
    report.outcome = Ok(got);
    report.elapsed = started.elapsed();
    let after = sim.stats();
    report.on_route = after.requests_to(req.route) - before.requests_to(req.route);

    // The fault fired: a cell that met no fault proves nothing.
    if fault.fired(&after) == 0 {
        violated(format!("the fault never fired (sim stats: {after:?})"));
    }

    // The right outcome kind.
    if got != want {
        let detail = match &sent {
            Err(e) => format!("{e}"),
            Ok(_) => "success".to_owned(),
        };
        violated(format!(
            "outcome `{got}`, the contract says `{want}` ({detail})"
        ));
    }

    // The waits the outcome stands for. A Retry-After is honoured in full before the retry;
    // a quota of an hour pauses the whole account for the hour, not for a wait of its own.
    if let Inject::Throttle {
        format: RetryAfterFormat::Seconds,
        count: FIRST_N,
    } = fault.inject
    {
        let floor = THROTTLE_WAIT * u32::try_from(FIRST_N).unwrap_or(u32::MAX);
        if report.elapsed < floor {
            violated(format!(
                "retried after {:?}, before the {FIRST_N} Retry-Afters of {THROTTLE_WAIT:?} passed",
                report.elapsed
            ));
        }
    }
    if let Inject::Throttle {
        count: u64::MAX, ..
    } = fault.inject
    {
        let max_pause = config(keys).max_pause();
        if report.elapsed > max_pause {
            violated(format!(
                "throttled for {:?}, longer than a request may wait ({max_pause:?})",
                report.elapsed
            ));
        }
    }
    if let (Inject::Quota, Err(Error::Paused { retry_in, .. })) = (fault.inject, &sent) {
        let floor = QUOTA_WINDOW - Duration::from_secs(60);
        if *retry_in < floor {
            violated(format!(
                "paused for {retry_in:?}, the quota asked for about {QUOTA_WINDOW:?}"
            ));
        }
        if client.pause().is_none_or(|p| p.retry_in < floor) {
            violated("the client does not report the account paused for the hour".to_owned());
        }
    }

    // No duplicate side effect, by the simulator's count.
    let total = all_effects(&after) - all_effects(&before);
    let own = req.effect.map_or(0, |f| f(&after) - f(&before));
    if req.is_read() && total != 0 {
        violated(format!("a read had {total} side effects"));
    }
    if own > 1 {
        violated(format!("{own} created for one logical request"));
    }
    if total != own {
        violated(format!("{} side effects on other resources", total - own));
    }
    if after.duplicate_dials != 0 || after.duplicate_creates_per_key != 0 {
        violated(format!(
            "duplicate dials {} (numbers {:?}), duplicate creates per key {}",
            after.duplicate_dials, after.duplicate_numbers, after.duplicate_creates_per_key
        ));
    }
    if sim.calls_placed_to(CONTACT) > 1 {
        violated(format!(
            "{CONTACT} dialled {} times",
            sim.calls_placed_to(CONTACT)
        ));
    }

    // The outcome agrees with the history: a success created its one thing; an end that
    // says nothing happened created nothing. Only `Ambiguous` may leave it open.
    if !req.is_read() {
        match (&sent, got) {
            (Ok(_), _) if own != 1 => {
                violated(format!("a successful write created {own}, not 1"));
            }
            (Err(e), Outcome::Paused | Outcome::Exhausted) if own != 0 || e.may_have_acted() => {
                violated(format!(
                    "`{got}` after creating {own} (may_have_acted: {})",
                    e.may_have_acted()
                ));
            }
            _ => {}
        }
    }

    // Slots back to zero: the client holds exactly the slots its outcome carries.
    let carried = match sent {
        Ok(Success { slot, .. }) => slot,
        Err(mut e) => e.take_slot(),
    };
    let held = client.limiter().slots().held();
    let expected_held = u32::from(carried.is_some());
    if held != expected_held {
        violated(format!(
            "{held} call slots held, the outcome carries {expected_held}"
        ));
    }
    drop(carried);
    let held = client.limiter().slots().held();
    if held != 0 {
        violated(format!(
            "{held} call slots still held after the outcome was dropped"
        ));
    }
    sim.shutdown().await;
    report
}

// ---------------------------------------------------------------------------------------------
// The matrix.

/// Every cell, generated from the three lists.
fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for fault in FAULTS {
        for req in REQUESTS {
            for keys in KEYS {
                cells.push(Cell { fault, req, keys });
            }
        }
    }
    cells
}

/// The matrix as a markdown table: a row per fault, a column per request and key handling.
fn table(reports: &[Report]) -> String {
    let mut out = String::from("| fault |");
    for req in REQUESTS {
        for keys in KEYS {
            let k = match keys {
                Keys::Honoured => "keys honoured",
                Keys::Ignored => "keys ignored",
            };
            out.push_str(&format!(" {}, {k} |", req.name));
        }
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(REQUESTS.len() * KEYS.len()));
    out.push('\n');
    for fault in FAULTS {
        out.push_str(&format!("| {} |", fault.name));
        for r in reports.iter().filter(|r| r.cell.fault.name == fault.name) {
            let text = match r.outcome {
                Ok(o) => format!("{o} ({}, {})", r.on_route, secs(r.elapsed)),
                Err(_) => "n/a".to_owned(),
            };
            let mark = if r.violations.is_empty() {
                ""
            } else {
                " **✗**"
            };
            out.push_str(&format!(" {text}{mark} |"));
        }
        out.push('\n');
    }
    out.push_str(
        "\nEach cell: the outcome, then (in brackets) the requests the simulator answered on the \
         request's route (hung requests are answered only after the cell, when their hang \
         ends) and the simulated time the request took. n/a: ",
    );
    let why: Vec<_> = reports
        .iter()
        .filter_map(|r| r.outcome.err())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    out.push_str(&why.join("; "));
    out.push_str(".\n");
    out
}

/// A duration as whole seconds, or milliseconds under a second.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs())
    }
}

#[tokio::test(start_paused = true)]
async fn every_fault_on_every_request_keeps_the_invariants() {
    let cells = cells();
    assert_eq!(cells.len(), FAULTS.len() * REQUESTS.len() * KEYS.len());
    let reports = futures::future::join_all(cells.into_iter().map(run)).await;

    let table = table(&reports);
    eprintln!("{table}");
    let target: std::path::PathBuf = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || concat!(env!("CARGO_MANIFEST_DIR"), "/target").into(),
        Into::into,
    );
    let path = target.join("fault-matrix.md");
    if let Err(e) = std::fs::write(&path, &table) {
        eprintln!("could not write {}: {e}", path.display());
    }

    let not_applicable = reports.iter().filter(|r| r.outcome.is_err()).count();
    assert_eq!(
        not_applicable,
        REQUESTS.len() * KEYS.len() - KEYS.len(),
        "concurrent_call_limit applies to call creates only, and every other cell applies"
    );
    let violations: Vec<_> = reports.iter().flat_map(|r| &r.violations).collect();
    assert!(
        violations.is_empty(),
        "{} invariant violations:\n{}",
        violations.len(),
        violations
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The expectation itself is checked against a few cells written out by hand, so a mistake
/// in [`expected`] cannot make the matrix agree with a wrong library.
#[test]
fn the_expectations_follow_the_contract() {
    use Keys::{Honoured, Ignored};
    use Outcome::{Adopted, Ambiguous, Done, Exhausted, Paused};
    let fault = |name: &str| FAULTS.iter().find(|f| f.name == name).unwrap();
    let req = |name: &str| REQUESTS.iter().find(|r| r.name == name).unwrap();
    let cases = [
        ("500 after acting", "call create", Ignored, Adopted),
        ("500 after acting", "call create", Honoured, Done),
        ("reset before acting", "call create", Ignored, Done),
        ("reset after acting", "message send", Ignored, Ambiguous),
        ("hang past the attempt timeout", "list", Ignored, Done),
        ("429 without Retry-After", "message send", Ignored, Done),
        ("quota 429 of an hour", "status poll", Honoured, Paused),
        ("concurrent_call_limit", "call create", Ignored, Done),
        ("500 on every request", "status poll", Ignored, Exhausted),
        ("500 on every request", "call create", Ignored, Exhausted),
        ("500 on every request", "call create", Honoured, Ambiguous),
        (
            "429 with Retry-After on every request",
            "list",
            Honoured,
            Paused,
        ),
    ];
    for (f, r, keys, want) in cases {
        assert_eq!(
            expected(fault(f), req(r), keys),
            Ok(want),
            "{f} × {r} × {keys}"
        );
    }
    assert!(expected(fault("concurrent_call_limit"), req("list"), Ignored).is_err());
}

/// Regression (found by the matrix's "429 with Retry-After on every request" row): a throttle
/// whose Retry-After paused the account charged nothing to `pacing.max_pause` (only the sleep
/// it did itself, zero while the pause held it), so a server answering every request with
/// `429 Retry-After: 1` kept the request waiting forever: no outcome, ever. The wait it asks
/// for is now charged: after a minute of throttles the request ends `Paused`, unsent this
/// time, re-dialable.
#[tokio::test(start_paused = true)]
async fn a_request_throttled_forever_with_short_retry_afters_ends_paused() {
    let mut s = Scenario::default();
    s.faults.rate_limited = 1.0;
    s.faults.rate_limited_wait = Duration::from_secs(1);
    let sim = sim(s).await;
    let client = client_at(&sim.base_url(), Config::default());
    let outcome = tokio::time::timeout(CELL_BOUND, client.calls().list(&ListCalls::default()))
        .await
        .expect("the request ends");
    let e = outcome.expect_err("every request is throttled");
    assert!(matches!(e, Error::Paused { .. }), "{e}");
    assert_eq!(e.outcome(), "halted", "re-dialable, never failed");
    // A minute of one-second Retry-Afters (`pacing.max_pause`), then no more. (The time taken
    // is longer: after each 429 the adaptive rate slows the pacer, and queueing for the pacer
    // is a wait of its own, not a throttle's.)
    let max_pause = Config::default().max_pause().as_secs();
    let throttled = sim.stats().faults_of(FaultKind::RateLimited);
    assert_eq!(
        throttled,
        max_pause + 1,
        "one throttle per Retry-After second, then paused"
    );
}
