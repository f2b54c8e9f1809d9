//! [`Campaign`]: the engine. Built once with [`Campaign::builder`], run once with
//! [`Campaign::run`].

mod dial;
mod run;
mod seen;
mod watch;

use std::fmt;
use std::sync::Arc;

use redial_policy::config::Idempotency;
use redial_transport::Client;

use crate::cancel::CancelHandle;
use crate::journal::Journal;
use crate::progress::Progress;
use crate::suppress::{SuppressList, Suppression};

pub use dial::MAX_AMBIGUOUS_RESENDS;

/// Fewest contacts kept waiting beyond the call slots by default.
pub const MIN_SPARE_IN_FLIGHT: usize = 8;

/// Contacts in flight by default for `slots` call slots: every slot's contact plus a quarter
/// more (at least [`MIN_SPARE_IN_FLIGHT`]) already waiting, so a freed slot is taken at once
/// while the engine reads the next contacts. Each contact in flight costs a few kilobytes
/// (its request and call state), so this bounds the engine's memory, not the account's
/// limits (the client's slot gate and pacer do that).
pub fn default_in_flight(slots: usize) -> usize {
    slots.saturating_add((slots / 4).max(MIN_SPARE_IN_FLIGHT))
}

/// Why a campaign could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No agent was given.
    #[error("a campaign needs an agent: call .agent(\"agent_...\")")]
    NoAgent,
    /// The agent id or the caller id is malformed.
    #[error(transparent)]
    InvalidInput(#[from] redial_transport::InvalidInput),
    /// `in_flight` was 0.
    #[error("in_flight must be at least 1")]
    NoneInFlight,
}

/// A campaign ready to run: a client, an agent, and the seams (journal, suppression).
pub struct Campaign {
    client: Client,
    agent: Arc<str>,
    from: Option<Arc<str>>,
    journal: Option<Arc<dyn Journal>>,
    suppression: Box<dyn Suppression>,
    in_flight: usize,
    cancel: CancelHandle,
    progress: Arc<Progress>,
    list_reads: bool,
}

impl fmt::Debug for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Campaign")
            .field("agent", &self.agent)
            .field("from", &self.from)
            .field("journal", &self.journal)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Campaign {
    /// Starts building a campaign that dials through `client` (its config decides pacing,
    /// slots, retries and whether idempotency keys are honoured).
    pub fn builder(client: Client) -> CampaignBuilder {
        CampaignBuilder {
            client,
            agent: None,
            from: None,
            journal: None,
            suppression: None,
            in_flight: None,
            cancel: None,
            list_reads: true,
        }
    }

    /// A handle that stops the campaign (clone it before `run`).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Live counters of the run (clone the `Arc` before `run`).
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// The client the campaign dials through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn keys_honoured(&self) -> bool {
        self.client.policy().config().retry.idempotency == Idempotency::Honoured
    }
}

/// Builds a [`Campaign`].
#[must_use]
pub struct CampaignBuilder {
    client: Client,
    agent: Option<String>,
    from: Option<String>,
    journal: Option<Arc<dyn Journal>>,
    suppression: Option<Box<dyn Suppression>>,
    in_flight: Option<usize>,
    cancel: Option<CancelHandle>,
    list_reads: bool,
}

impl fmt::Debug for CampaignBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CampaignBuilder")
            .field("agent", &self.agent)
            .field("from", &self.from)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl CampaignBuilder {
    /// The agent that places every call (required).
    pub fn agent(mut self, agent_id: impl Into<String>) -> Self {
        self.agent = Some(agent_id.into());
        self
    }

    /// The caller id of every call (optional; the agent's number otherwise).
    pub fn from_number(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Records progress in `journal`, so a rerun goes on without dialling anyone twice.
    /// Without a journal each run starts afresh (and the idempotency keys of this run are
    /// not known to the next).
    pub fn journal(self, journal: impl Journal + 'static) -> Self {
        self.shared_journal(Arc::new(journal))
    }

    /// [`CampaignBuilder::journal`] with a journal the caller keeps a handle to.
    pub fn shared_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Numbers never to dial; opt-outs met during the run are added to it. None by default.
    pub fn suppression(mut self, suppression: impl Suppression + 'static) -> Self {
        self.suppression = Some(Box::new(suppression));
        self
    }

    /// Contacts in flight at once (waiting for a slot, being created or followed). Default:
    /// [`default_in_flight`] of the client's config's call slots. It bounds the engine's
    /// memory, not the account's limits (the client's slot gate and pacer do that).
    pub fn in_flight(mut self, n: usize) -> Self {
        self.in_flight = Some(n);
        self
    }

    /// Whether live calls may be read many at a time with `GET /v1/calls` (default on; the
    /// answer is matched by call id and calls it does not show are read one by one, so a
    /// server that ignores the list's filters costs reads, never correctness). Off: one
    /// `GET /v1/calls/{id}` per read.
    pub fn list_reads(mut self, on: bool) -> Self {
        self.list_reads = on;
        self
    }

    /// Uses this cancel handle (one made before the campaign, e.g. by a signal handler).
    pub fn cancel_handle(mut self, cancel: CancelHandle) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`BuildError`] naming what is missing or malformed.
    pub fn build(self) -> Result<Campaign, BuildError> {
        let agent = self.agent.ok_or(BuildError::NoAgent)?;
        redial_transport::validate::path_id("agent_id", &agent)?;
        if let Some(from) = &self.from {
            redial_transport::validate::e164("from_number", from)?;
        }
        let slots = self.client.policy().config().slots.max_concurrent_calls as usize;
        let in_flight = self.in_flight.unwrap_or_else(|| default_in_flight(slots));
        if in_flight == 0 {
            return Err(BuildError::NoneInFlight);
        }
        Ok(Campaign {
            client: self.client,
            agent: agent.into(),
            from: self.from.map(Into::into),
            journal: self.journal,
            suppression: self
                .suppression
                .unwrap_or_else(|| Box::new(SuppressList::none())),
            in_flight,
            cancel: self.cancel.unwrap_or_default(),
            progress: Arc::default(),
            list_reads: self.list_reads,
        })
    }
}
