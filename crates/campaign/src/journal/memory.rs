//! [`MemoryJournal`]: a journal that lives as long as the process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use futures::future::BoxFuture;
use uuid::Uuid;

use super::{Journal, PriorState};
use crate::contact::Contact;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// A journal in memory: runs of one process share it (clone the `Arc` it is put in), a crash
/// loses it. For tests and for embedders that persist progress elsewhere.
#[derive(Debug)]
pub struct MemoryJournal {
    campaign_id: Uuid,
    states: Mutex<HashMap<String, PriorState>>,
}

impl Default for MemoryJournal {
    fn default() -> Self {
        Self::new(Uuid::new_v4())
    }
}

impl MemoryJournal {
    /// An empty journal of campaign `campaign_id`.
    pub fn new(campaign_id: Uuid) -> Self {
        Self {
            campaign_id,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// The state recorded for `key` (without forgetting it, unlike [`Journal::prior`]).
    pub fn state(&self, key: &str) -> Option<PriorState> {
        self.lock().get(key).cloned()
    }

    /// Contacts recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PriorState>> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, key: &str, state: PriorState) -> BoxFuture<'static, Result<(), BoxError>> {
        self.lock().insert(key.to_owned(), state);
        Box::pin(std::future::ready(Ok(())))
    }
}

impl Journal for MemoryJournal {
    fn campaign_id(&self) -> Uuid {
        self.campaign_id
    }

    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>> {
        Box::pin(std::future::ready(Ok(self.state(key))))
    }

    fn started<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        self.set(
            &contact.key,
            PriorState::Started {
                key: idempotency_key.to_owned(),
                sent_at: Some(crate::clock::wall_now()),
            },
        )
    }

    fn placed<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        self.set(
            &contact.key,
            PriorState::Placed {
                key: idempotency_key.to_owned(),
                call_id: call_id.to_owned(),
            },
        )
    }

    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        self.set(key, PriorState::Finished(outcome.clone()))
    }
}
