//! [`RedisSource`]: the fleet's contact list, each contact handed to one process.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::journal::{Stored, read_prior};
use super::load::Entry;
use super::{AbortOnDrop, Claim, RedisWorkError, Shared, metrics, reply, scripts};
use crate::cancel::CancelHandle;
use crate::contact::{InvalidContact, SourceItem};
use crate::error::BoxError;
use crate::outcome::{ContactOutcome, OutcomeStatus};
use crate::source::ContactSource;

/// First wait before asking again when nothing is free (other processes hold the rest).
const POLL_MIN: Duration = Duration::from_millis(100);
/// Longest wait between two asks (assumed: a contact lasts minutes, a second is responsive).
const POLL_MAX: Duration = Duration::from_secs(1);

/// The work queue of one process: hands out the run's contacts, each to exactly one process
/// of the fleet, and acknowledges a contact once its outcome is durable.
///
/// [`ContactSource::next`] returns a new contact, else one another process stopped renewing
/// its claim for `claim_timeout` (it died), and `None` once the whole list is acknowledged
/// across the fleet. While other processes still hold contacts it waits for them (polling),
/// but only when this process holds none itself: with contacts of its own in flight it
/// returns `None` at once so the engine can record them (a queue cannot be acknowledged
/// from inside `next`), and is asked again afterwards.
#[derive(Debug)]
pub struct RedisSource {
    shared: Arc<Shared>,
    _heartbeat: Arc<AbortOnDrop>,
    stop: Option<CancelHandle>,
    finished: bool,
}

impl RedisSource {
    pub(crate) fn new(shared: Arc<Shared>, heartbeat: Arc<AbortOnDrop>) -> Self {
        Self {
            shared,
            _heartbeat: heartbeat,
            stop: None,
            finished: false,
        }
    }

    /// Stops handing out contacts once `cancel` is cancelled (the campaign's own handle):
    /// the rest of the list stays for the other processes.
    #[must_use]
    pub fn stop_on(mut self, cancel: CancelHandle) -> Self {
        self.stop = Some(cancel);
        self
    }

    /// Whether the whole list was acknowledged across the fleet (the run is complete).
    pub fn is_complete(&self) -> bool {
        self.finished
    }

    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(CancelHandle::is_cancelled)
    }

    async fn next_item(&mut self) -> Result<Option<SourceItem>, RedisWorkError> {
        let mut wait = POLL_MIN;
        loop {
            if self.finished || self.stopped() {
                return Ok(None);
            }
            let s = &self.shared;
            let mut inv = scripts::CLAIM.prepare_invoke();
            inv.key(s.keys.marker()).key(s.keys.stream());
            s.campaign_args(&mut inv);
            inv.arg(&s.me).arg(s.claim_timeout_ms());
            let (v, _) = s.conn.call("claim", &inv).await?;
            let items = reply::items(&v).ok_or_else(|| reply::corrupt("claim", &v))?;
            match reply::tag(&v).as_deref() {
                Some(how @ ("new" | "taken_over")) => {
                    let how = if how == "new" { "new" } else { "taken_over" };
                    return self.handed(how, items).await.map(Some);
                }
                Some("none") => {
                    let total = items.get(1).and_then(reply::int).unwrap_or(0);
                    let done = items.get(2).and_then(reply::int).unwrap_or(0);
                    if done >= total {
                        tracing::info!(total, "the fleet finished the list");
                        self.finished = true;
                        return Ok(None);
                    }
                    if s.claims().len() > 0 {
                        return Ok(None);
                    }
                    let stop = self.stop.clone();
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = async move {
                            match stop {
                                Some(c) => c.cancelled().await,
                                None => std::future::pending().await,
                            }
                        } => {}
                    }
                    wait = (wait * 2).min(POLL_MAX);
                }
                Some(tag) => {
                    return Err(s
                        .refusal(tag, 0)
                        .unwrap_or_else(|| reply::corrupt("claim", &v)));
                }
                None => return Err(reply::corrupt("claim", &v)),
            }
        }
    }

    /// A contact handed to this process: `items` = tag, entry id, deliveries, fields.
    async fn handed(
        &mut self,
        how: &'static str,
        items: &[::redis::Value],
    ) -> Result<SourceItem, RedisWorkError> {
        let bad = || RedisWorkError::Corrupt {
            what: "contact entry",
            detail: format!("{items:?}"),
        };
        let id = items.get(1).and_then(reply::text).ok_or_else(bad)?;
        let delivery = items.get(2).and_then(reply::int).ok_or_else(bad)?;
        let fields = items.get(3).and_then(reply::items).ok_or_else(bad)?;
        let json = fields
            .chunks(2)
            .find(|kv| kv.first().and_then(reply::text).as_deref() == Some("c"))
            .and_then(|kv| kv.get(1))
            .and_then(reply::text)
            .ok_or_else(bad)?;
        let entry: Entry = serde_json::from_str(&json).map_err(|e| RedisWorkError::Corrupt {
            what: "contact entry",
            detail: e.to_string(),
        })?;
        metrics::claimed(how);
        let key = entry.key();
        let line = entry.l;
        self.shared.claims().insert(
            line,
            Claim {
                id,
                delivery,
                key: key.clone(),
            },
        );
        let max = i64::from(self.shared.config.max_deliveries);
        if let Some(key) = &key
            && delivery > max
        {
            // Every process it was handed to died with it. Hand it out once more only when
            // a create may have gone out (the engine then follows or reconciles it).
            let prior = read_prior(&self.shared, key).await?;
            if !matches!(prior, Some(Stored::Started { .. } | Stored::Placed { .. })) {
                metrics::poison();
                tracing::error!(
                    line,
                    delivery,
                    "contact handed out too many times; not dialled"
                );
                return Ok(SourceItem::Invalid(InvalidContact::new(
                    line,
                    entry.p,
                    format!(
                        "handed out {delivery} times and every process it was handed to stopped \
                         before finishing it (fleet.max_deliveries = {max}); not dialled"
                    ),
                )));
            }
        }
        if how == "taken_over" {
            tracing::info!(
                line,
                delivery,
                "took over a contact from a process that stopped"
            );
        }
        Ok(entry.into_item())
    }

    async fn ack(&mut self, outcome: &ContactOutcome) -> Result<(), RedisWorkError> {
        let Some(claim) = self.shared.claims().take(outcome.line) else {
            tracing::warn!(
                line = outcome.line,
                "an outcome for a contact this process does not hold"
            );
            return Ok(());
        };
        let s = &self.shared;
        // Stopped before it was dialled: give it back at once for another process to dial.
        let release = outcome.status == OutcomeStatus::Halted
            && outcome.call_id.is_none()
            && outcome.code() == Some("interrupted");
        let mut inv = if release {
            scripts::RELEASE.prepare_invoke()
        } else {
            scripts::ACK.prepare_invoke()
        };
        inv.key(s.keys.marker()).key(s.keys.stream());
        s.campaign_args(&mut inv);
        inv.arg(&s.me).arg(&claim.id).arg(claim.delivery);
        if release {
            inv.arg(s.claim_timeout_ms());
        }
        let op = if release { "release" } else { "ack" };
        let (v, retried) = s.conn.call(op, &inv).await?;
        match reply::tag(&v).as_deref() {
            // Acknowledged by an earlier try whose reply was lost.
            Some("gone") if retried => Ok(()),
            Some(tag) => s.refusal(tag, outcome.line).map_or(Ok(()), Err),
            None => Err(reply::corrupt(op, &v)),
        }
    }
}

impl ContactSource for RedisSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>> {
        Box::pin(async move { self.next_item().await.map_err(BoxError::from) })
    }

    fn done<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move { self.ack(outcome).await.map_err(BoxError::from) })
    }
}
