//! One contact's life: create the call (holding its slot; the journal's `started` record is
//! written right before the create goes on the wire), follow it to its end, free the slot.
//!
//! Pacing, retries, slot waits and halts are the runtime's (`redial-transport`); this adds
//! what only a campaign knows: its journal, its cancel handle, and how long to keep trying
//! a contact whose endpoint is failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use futures::FutureExt as _;
use redial_transport::{Client, Error, NewCall, PlacedCall, Reconciled};

use crate::cancel::CancelHandle;
use crate::contact::Contact;
use crate::error::CampaignError;
use crate::journal::Journal;
use crate::outcome::{ContactOutcome, build};
use crate::progress::Progress;

use super::watch::Watcher;

/// Step of the stagger of circuit waits.
const STAGGER_STEP: Duration = Duration::from_millis(100);
/// Steps of the stagger of circuit waits.
const STAGGER_STEPS: u64 = 10;
/// Resends of an ambiguous create under a key the server honours (it then returns the call
/// it placed, or places it once).
pub const MAX_AMBIGUOUS_RESENDS: u32 = 3;
/// How long the slot of an ambiguous create stays held (a call that may be live): about a
/// typical outbound call. **Assumed**; the account's own limit corrects the rest.
const AMBIGUOUS_SLOT_HOLD: Duration = Duration::from_secs(120);
/// Shortest time a contact waits out an endpoint's open circuit (an outage) before it ends
/// `halted`: gateway outages of minutes are common. **Assumed**; `pacing.max_pause` raises it.
const MIN_OUTAGE_WAIT: Duration = Duration::from_secs(30 * 60);
/// Wait before resending an in-doubt create whose last try could not be sent (an open
/// circuit): about the breaker's half-open probe interval.
const UNSENT_RESEND_WAIT: Duration = Duration::from_secs(1);
/// Shortest wait for an open circuit (guards against a zero `retry_in` spinning).
const MIN_CIRCUIT_WAIT: Duration = Duration::from_millis(50);

/// What every contact's future shares (cheap to clone).
#[derive(Debug, Clone)]
pub(super) struct Dialer {
    pub(super) client: Client,
    pub(super) journal: Option<Arc<dyn Journal>>,
    pub(super) agent: Arc<str>,
    pub(super) from: Option<Arc<str>>,
    pub(super) progress: Arc<Progress>,
    pub(super) cancel: CancelHandle,
    pub(super) honoured: bool,
    pub(super) watcher: Watcher,
}

impl Dialer {
    /// Samples the calls live now into the progress counters and the metrics gauge.
    fn saw_live(&self) {
        let held = self.client.limiter().slots().held();
        self.progress.saw_live(held);
        crate::metrics::live_calls(held);
    }
}

/// A contact's outcome, or the error that stops the campaign.
pub(super) type Dialled = Result<(Contact, ContactOutcome), CampaignError>;

/// How a contact's call begins.
#[derive(Debug)]
pub(super) enum Start {
    /// Create it under this idempotency key.
    Create(String),
    /// An earlier run created it (the journal says `placed`): follow this call, never create
    /// another.
    Follow(String),
    /// An earlier run may have sent a create under this key (the journal says `started`) and
    /// the server does not honour keys: look for the call first; create under the same key
    /// only when the server shows it was not placed.
    Reconcile {
        /// The key the earlier create carried.
        key: String,
        /// When it was journaled, if known.
        sent_at: Option<SystemTime>,
    },
}

/// Dials `contact`: create (or take over) its call, follow it, free the slot.
pub(super) async fn dial(d: Dialer, contact: Contact, start: Start) -> Dialled {
    let key = match start {
        Start::Create(key) => key,
        Start::Follow(call_id) => return Ok(take_over(&d, contact, &call_id).await),
        Start::Reconcile { key, sent_at } => match reconcile(&d, &contact, &key, sent_at).await {
            Reconciliation::Send => key,
            Reconciliation::Placed(call_id) => {
                if let Some(j) = &d.journal {
                    j.placed(&contact, &key, &call_id)
                        .await
                        .map_err(CampaignError::Journal)?;
                }
                return Ok(take_over(&d, contact, &call_id).await);
            }
            Reconciliation::Unsettled(outcome) => return Ok((contact, outcome)),
        },
    };
    let sent = Arc::new(AtomicBool::new(false));
    let created = {
        let create = create(&d, &contact, &key, &sent);
        // A stop asked for while the create still waits for a slot or the pacer ends the
        // contact unsent; once its `started` record is being written, the create runs to
        // its answer.
        let stopped = async {
            d.cancel.cancelled().await;
            if sent.load(Ordering::Acquire) {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            created = create => Some(created),
            () = stopped => None,
        }
    };
    let placed = match created {
        None => {
            let outcome = build::interrupted(&contact);
            return Ok((contact, outcome));
        }
        Some(created) => match created? {
            Ok(placed) => placed,
            Err(outcome) => return Ok((contact, outcome)),
        },
    };
    if let Some(j) = &d.journal {
        j.placed(&contact, &key, &placed.call.id)
            .await
            .map_err(CampaignError::Journal)?;
    }
    d.saw_live();
    let outcome = follow(&d, &contact, &placed.call.id, placed.attempts).await;
    drop(placed.slot);
    d.saw_live();
    Ok((contact, outcome))
}

/// Follows a call an earlier run placed, holding a slot for it meanwhile (it may be live).
async fn take_over(d: &Dialer, contact: Contact, call_id: &str) -> (Contact, ContactOutcome) {
    let slot = d.client.limiter().slots().acquire().await;
    d.saw_live();
    let outcome = follow(d, &contact, call_id, 0).await;
    drop(slot);
    d.saw_live();
    (contact, outcome)
}

/// What the server says of an earlier run's create.
enum Reconciliation {
    /// It placed no call: send the create (under the same key).
    Send,
    /// It placed this call: follow it.
    Placed(String),
    /// The server could not settle it: the contact stays ambiguous (this outcome).
    Unsettled(ContactOutcome),
}

/// Asks the server whether an earlier run's create of `contact` under `key` placed a call
/// (waiting out a list that fails for a while, up to `pacing.max_pause`).
async fn reconcile(
    d: &Dialer,
    contact: &Contact,
    key: &str,
    sent_at: Option<SystemTime>,
) -> Reconciliation {
    let call = new_call(d, contact, key);
    match d
        .client
        .calls()
        .reconcile_waiting(&call, sent_at.unwrap_or(SystemTime::UNIX_EPOCH))
        .await
    {
        Ok(Reconciled::NotFound) => Reconciliation::Send,
        Ok(Reconciled::Found(found)) => Reconciliation::Placed(found.id),
        Ok(_) => Reconciliation::Unsettled(build::unfinished_in_journal(contact)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot reconcile a contact an earlier run started");
            Reconciliation::Unsettled(build::unfinished_in_journal(contact))
        }
    }
}

/// The create request of `contact` under `key`.
fn new_call(d: &Dialer, contact: &Contact, key: &str) -> NewCall {
    let mut call = NewCall::new(&*d.agent, contact.phone.clone());
    call.from_number = d.from.as_ref().map(|f| f.to_string());
    call.metadata = (!contact.metadata.is_empty()).then(|| contact.metadata.clone());
    call.idempotency_key = Some(key.to_owned());
    call
}

/// Creates the call; `Ok(Err(outcome))` when the contact ends without a call to follow.
async fn create(
    d: &Dialer,
    contact: &Contact,
    key: &str,
    sent: &Arc<AtomicBool>,
) -> Result<Result<PlacedCall, ContactOutcome>, CampaignError> {
    // Journaled only once the create is about to be sent: a contact still queued for a slot
    // or for pacing when the process dies was certainly not dialled.
    let journal_started = || {
        sent.store(true, Ordering::Release);
        let journal = d.journal.clone();
        let contact = contact.clone();
        let key = key.to_owned();
        async move {
            match journal {
                Some(j) => j
                    .started(&contact, &key)
                    .await
                    .map_err(std::io::Error::other),
                None => Ok(()),
            }
        }
        .boxed()
    };
    let call = new_call(d, contact, key);
    // An open circuit is an outage of the endpoint: waited out like a pause, as long as the
    // campaign may wait for one (`pacing.max_pause`, at least `MIN_OUTAGE_WAIT`); then the
    // contact ends `halted`.
    let max_outage = d.client.policy().config().max_pause().max(MIN_OUTAGE_WAIT);
    let mut circuit_waited = Duration::ZERO;
    let mut resends = 0;
    loop {
        match d
            .client
            .calls()
            .create_with_hook(&call, &journal_started)
            .await
        {
            Ok(placed) => return Ok(Ok(placed)),
            // The journal could not record the contact: nothing was sent; stop the campaign.
            Err(Error::Aborted { reason, .. }) => {
                return Err(CampaignError::Journal(reason.into()));
            }
            // The circuit of the calls endpoint is open: wait for it rather than burn through
            // the contact list. Safe to resend only when nothing was sent, or under the same
            // idempotency key the server honours.
            Err(Error::CircuitOpen {
                retry_in, detail, ..
            }) if circuit_waited < max_outage && (d.honoured || detail.attempts == 0) => {
                let wait = retry_in.max(MIN_CIRCUIT_WAIT) + stagger(contact.line);
                circuit_waited += wait;
                tokio::time::sleep(wait).await;
            }
            // The server may have placed the call, but it honours our key: resending under
            // the same key returns that call instead of dialling again.
            // A resend that could not go out (an open circuit: `attempts` 0) is still in doubt
            // but is not a resend: it waits out the outage like any create.
            Err(Error::Ambiguous { detail, .. })
                if d.honoured
                    && circuit_waited < max_outage
                    && (detail.attempts == 0 || resends < MAX_AMBIGUOUS_RESENDS) =>
            {
                let wait = if detail.attempts == 0 {
                    UNSENT_RESEND_WAIT
                } else {
                    resends += 1;
                    MIN_CIRCUIT_WAIT
                } + stagger(contact.line);
                circuit_waited += wait;
                tokio::time::sleep(wait).await;
            }
            Err(mut e) => {
                if let Some(slot) = e.take_slot() {
                    hold_slot(slot);
                }
                return Ok(Err(build::from_error(contact, &e)));
            }
        }
    }
}

/// Follows a placed call to its terminal status (`attempts`: the create's), through the
/// campaign's [`Watcher`]: reads timed to call lengths, many calls per read.
async fn follow(d: &Dialer, contact: &Contact, call_id: &str, attempts: u32) -> ContactOutcome {
    let born = redial_limiter::clock::now();
    match d.watcher.wait(call_id, born).await {
        Ok(done) => build::completed(contact, &done, attempts),
        Err(e) => build::call_lost(contact, &e, call_id, attempts),
    }
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
