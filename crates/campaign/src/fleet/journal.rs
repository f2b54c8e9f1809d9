//! [`RedisJournal`]: the fleet's journal, one Redis hash, every write fenced by the claim.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AbortOnDrop, RedisWorkError, Shared, reply, scripts};
use crate::contact::Contact;
use crate::error::BoxError;
use crate::journal::{Journal, PriorState};
use crate::outcome::ContactOutcome;

/// A contact's state as stored (the value of its journal field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Stored {
    /// A create is about to be sent under this idempotency key (at `at`, Unix ms).
    Started {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
    },
    /// The call exists.
    Placed { key: String, call_id: String },
    /// The contact's outcome.
    Finished { outcome: ContactOutcome },
}

impl From<Stored> for PriorState {
    fn from(s: Stored) -> Self {
        match s {
            Stored::Started { key, at } => PriorState::Started {
                key,
                sent_at: at.map(crate::clock::from_unix_millis),
            },
            Stored::Placed { key, call_id } => PriorState::Placed { key, call_id },
            Stored::Finished { outcome } => PriorState::Finished(outcome),
        }
    }
}

/// Reads a contact's state.
pub(crate) async fn read_prior(s: &Shared, key: &str) -> Result<Option<Stored>, RedisWorkError> {
    let mut inv = scripts::PRIOR.prepare_invoke();
    inv.key(s.keys.marker()).key(s.keys.journal());
    s.campaign_args(&mut inv);
    inv.arg(key);
    let (v, _) = s.conn.call("prior", &inv).await?;
    let items = reply::items(&v).ok_or_else(|| reply::corrupt("prior", &v))?;
    match reply::tag(&v).as_deref() {
        Some("ok") => match items.get(1).and_then(reply::text) {
            None => Ok(None),
            Some(json) => {
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| RedisWorkError::Corrupt {
                        what: "journal record",
                        detail: format!("{key}: {e}"),
                    })
            }
        },
        Some(tag) => Err(s
            .refusal(tag, 0)
            .unwrap_or_else(|| reply::corrupt("prior", &v))),
        None => Err(reply::corrupt("prior", &v)),
    }
}

/// The journal of one process of a fleet campaign: what was started, placed and finished,
/// for every contact of the list, in Redis. A record is written only while this process
/// still holds the contact's claim (checked in the same script), so a process that stalled
/// past its claim cannot record a create for a contact another process took over.
///
/// Durable as Redis is: run it with AOF (`appendfsync everysec` or `always`) or a replica
/// (docs/fleet.md). `sync` does nothing.
#[derive(Debug)]
pub struct RedisJournal {
    shared: Arc<Shared>,
    _heartbeat: Arc<AbortOnDrop>,
}

impl RedisJournal {
    pub(crate) fn new(shared: Arc<Shared>, heartbeat: Arc<AbortOnDrop>) -> Self {
        Self {
            shared,
            _heartbeat: heartbeat,
        }
    }

    async fn record(&self, key: &str, state: Stored) -> Result<(), RedisWorkError> {
        let s = &self.shared;
        let (line, claim) = s
            .claims()
            .by_key(key)
            .ok_or_else(|| RedisWorkError::NotClaimed {
                key: key.to_owned(),
            })?;
        let json = serde_json::to_string(&state).map_err(|e| RedisWorkError::Corrupt {
            what: "journal record",
            detail: e.to_string(),
        })?;
        let mut inv = scripts::RECORD.prepare_invoke();
        inv.key(s.keys.marker())
            .key(s.keys.stream())
            .key(s.keys.journal());
        s.campaign_args(&mut inv);
        inv.arg(&s.me)
            .arg(&claim.id)
            .arg(claim.delivery)
            .arg(key)
            .arg(json);
        let (v, _) = s.conn.call("record", &inv).await?;
        match reply::tag(&v).as_deref() {
            Some(tag) => s.refusal(tag, line).map_or(Ok(()), Err),
            None => Err(reply::corrupt("record", &v)),
        }
    }
}

impl Journal for RedisJournal {
    fn campaign_id(&self) -> Uuid {
        self.shared.campaign_id
    }

    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>> {
        Box::pin(async move {
            read_prior(&self.shared, key)
                .await
                .map(|s| s.map(PriorState::from))
                .map_err(BoxError::from)
        })
    }

    fn started<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let state = Stored::Started {
                key: idempotency_key.to_owned(),
                at: Some(crate::clock::unix_millis(crate::clock::wall_now())),
            };
            self.record(&contact.key, state)
                .await
                .map_err(BoxError::from)
        })
    }

    fn placed<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let state = Stored::Placed {
                key: idempotency_key.to_owned(),
                call_id: call_id.to_owned(),
            };
            self.record(&contact.key, state)
                .await
                .map_err(BoxError::from)
        })
    }

    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let state = Stored::Finished {
                outcome: outcome.clone(),
            };
            self.record(key, state).await.map_err(BoxError::from)
        })
    }
}
