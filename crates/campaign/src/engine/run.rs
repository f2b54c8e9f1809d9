//! The campaign loop: pull contacts from the source, decide per contact (malformed,
//! duplicate, finished in the journal, suppressed, halted, stopped), dial the rest with a
//! bounded number in flight, and hand every outcome to the sink, the journal and the summary.
//!
//! The contact futures run concurrently inside the campaign's own task (a
//! `FuturesUnordered`), not as spawned tasks: one task polling a bounded set of futures is all
//! a dialer needs — the HTTP connections are driven by the runtime anyway — and the bound on
//! futures in flight is the bound on memory. The loop polls them while it waits for the
//! source too, so a slow source (or a stopped campaign writing its remaining contacts)
//! never stalls the polls of live calls.

use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt as _};
use redial_policy::HaltScope;
use redial_transport::Client;
use uuid::Uuid;

use super::Campaign;
use super::dial::{Dialer, Dialled, Start, dial};
use super::seen::SeenNumbers;
use super::watch::Watcher;
use crate::contact::{Contact, SourceItem};
use crate::error::{BoxError, CampaignError};
use crate::journal::{Journal, PriorState, idempotency_key};
use crate::metrics;
use crate::outcome::{ContactOutcome, OutcomeStatus, build};
use crate::progress::Progress;
use crate::sink::ResultSink;
use crate::source::ContactSource;
use crate::summary::Summary;
use crate::suppress::Suppression;

impl Campaign {
    /// Runs the campaign to its end: every record of `source` gets exactly one outcome in
    /// `sink`, and the summary counts them.
    ///
    /// # Errors
    /// [`CampaignError`] when the source, the journal, the sink or the suppression list
    /// fails. The outcomes written before stay written, and the journal lets a rerun go on.
    pub async fn run(
        self,
        mut source: impl ContactSource,
        mut sink: impl ResultSink,
    ) -> Result<Summary, CampaignError> {
        let honoured = self.keys_honoured();
        let reconcile = self.client.policy().config().retry.reconcile;
        let Campaign {
            client,
            agent,
            from,
            journal,
            suppression,
            in_flight,
            cancel,
            progress,
            list_reads,
        } = self;
        let start = redial_limiter::clock::now();
        progress.set_total(source.size_hint());
        let campaign_id = journal
            .as_ref()
            .map_or_else(Uuid::new_v4, |j| j.campaign_id());
        let dialer = Dialer {
            client: client.clone(),
            journal: journal.clone(),
            agent: agent.clone(),
            from: from.clone(),
            progress: progress.clone(),
            cancel: cancel.clone(),
            honoured,
            watcher: Watcher::start(client.clone(), agent.to_string(), list_reads),
        };
        let mut rec = Recorder {
            sink: &mut sink,
            journal: journal.as_deref(),
            suppression,
            summary: Summary::default(),
            progress: &progress,
            halt_cause: None,
        };
        // Numbers already taken by this run, 8 bytes each (see `number_key`).
        let mut seen = SeenNumbers::default();
        let mut tasks = FuturesUnordered::new();
        let mut ready: Vec<Dialled> = Vec::new();
        loop {
            for done in ready.drain(..) {
                rec.dialled(done, &mut source).await?;
            }
            while tasks.len() >= in_flight {
                if let Some(done) = tasks.next().await {
                    rec.dialled(done, &mut source).await?;
                }
            }
            let item = next_item(&mut source, &mut tasks, &mut ready)
                .await
                .map_err(CampaignError::Source)?;
            let contact = match item {
                // A shared queue (fleet mode) ends only when the whole fleet is done, and
                // acknowledges a contact only once it is recorded: a `None` while contacts
                // are in flight lets the engine record them; then it asks again.
                None if !tasks.is_empty() || !ready.is_empty() => {
                    for done in ready.drain(..) {
                        rec.dialled(done, &mut source).await?;
                    }
                    while let Some(done) = tasks.next().await {
                        rec.dialled(done, &mut source).await?;
                    }
                    continue;
                }
                None => break,
                Some(SourceItem::Contact(contact)) => contact,
                Some(SourceItem::Invalid(bad)) => {
                    tracing::warn!(line = bad.line, reason = %bad.reason, "invalid contact");
                    // Not journaled: it is derived from the source again on every run, and
                    // its number may be a real contact's.
                    rec.emit(None, &build::invalid(&bad), &mut source).await?;
                    continue;
                }
            };
            // A number that is not E.164 has no key: its create fails validation, unsent.
            if let Some(number) = number_key(&contact.phone)
                && !seen.insert(number)
            {
                rec.emit(None, &build::duplicate(&contact), &mut source)
                    .await?;
                continue;
            }
            let mut start = Start::Create(idempotency_key(campaign_id, &contact.key));
            let prior = match &journal {
                Some(j) => j
                    .prior(&contact.key)
                    .await
                    .map_err(CampaignError::Journal)?,
                None => None,
            };
            match prior {
                // Stopped while its call was live (a pause, a stop): follow that call now.
                Some(PriorState::Finished(done)) if done.call_unfinished() => {
                    start = Start::Follow(done.call_id.unwrap_or_default());
                }
                Some(PriorState::Finished(done)) if !done.retry_on_rerun() => {
                    rec.resumed(&contact, done, &mut source).await?;
                    continue;
                }
                // The call exists: follow it to its end.
                Some(PriorState::Placed { call_id, .. }) => start = Start::Follow(call_id),
                // Resend under the key the earlier run used: the server answers with that call.
                Some(PriorState::Started { key: earlier, .. }) if honoured => {
                    start = Start::Create(earlier);
                }
                // Keys not honoured: ask the server whether the earlier run placed the call.
                Some(PriorState::Started {
                    key: earlier,
                    sent_at,
                }) if reconcile => {
                    start = Start::Reconcile {
                        key: earlier,
                        sent_at,
                    };
                }
                Some(PriorState::Started { .. }) => {
                    let outcome = build::unfinished_in_journal(&contact);
                    rec.emit(Some(&contact.key), &outcome, &mut source).await?;
                    continue;
                }
                _ => {}
            }
            if rec
                .suppression
                .contains(&contact.phone)
                .await
                .map_err(CampaignError::Suppression)?
            {
                let outcome = build::suppressed(&contact);
                rec.emit(Some(&contact.key), &outcome, &mut source).await?;
                continue;
            }
            if cancel.is_cancelled() {
                let outcome = build::interrupted(&contact);
                rec.emit(Some(&contact.key), &outcome, &mut source).await?;
                continue;
            }
            // The account is paused for longer than the campaign may wait (a quota): stop.
            if let Some(pause) = client.pause()
                && pause.retry_in > client.policy().config().max_pause()
            {
                let outcome = build::paused(&contact, &pause);
                rec.emit(Some(&contact.key), &outcome, &mut source).await?;
                continue;
            }
            if let Some(scope) = campaign_halt(&client, &agent, from.as_deref()) {
                let cause = rec
                    .halt_cause
                    .clone()
                    .unwrap_or_else(|| "halted".to_owned());
                let outcome = build::not_attempted_halted(&contact, scope, &cause);
                rec.emit(Some(&contact.key), &outcome, &mut source).await?;
                continue;
            }
            tasks.push(dial(dialer.clone(), contact, start));
        }
        for done in ready.drain(..) {
            rec.dialled(done, &mut source).await?;
        }
        while let Some(done) = tasks.next().await {
            rec.dialled(done, &mut source).await?;
        }
        if let Some(j) = &journal {
            j.sync().await.map_err(CampaignError::Journal)?;
        }
        let mut summary = rec.summary;
        drop(rec.suppression);
        sink.finish().await.map_err(CampaignError::Sink)?;
        summary.interrupted = cancel.is_cancelled();
        summary.duration = redial_limiter::clock::now().saturating_duration_since(start);
        summary.max_live_calls = progress.max_live();
        Ok(summary)
    }
}

/// The source's next record, polling the contacts in flight meanwhile (their outcomes go to
/// `ready`). The source's future is awaited to the end, never dropped.
async fn next_item<S, F>(
    source: &mut S,
    tasks: &mut FuturesUnordered<F>,
    ready: &mut Vec<Dialled>,
) -> Result<Option<SourceItem>, BoxError>
where
    S: ContactSource,
    F: Future<Output = Dialled>,
{
    let mut next = source.next();
    loop {
        tokio::select! {
            biased;
            Some(done) = tasks.next(), if !tasks.is_empty() => ready.push(done),
            item = &mut next => return item,
        }
    }
}

/// A number's key for finding duplicates: an E.164 number is `+` and at most 15 digits with
/// no leading 0, so its digits as an integer tell it apart from every other — 8 bytes a
/// contact instead of the string. `None` for anything else.
fn number_key(phone: &str) -> Option<u64> {
    let digits = phone.strip_prefix('+')?;
    if digits.is_empty() || digits.len() > 15 || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
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

/// Where outcomes go: the sink, the journal, the suppression list, the summary, progress and
/// metrics — and the source's acknowledgement once all of that is done.
struct Recorder<'a, K> {
    sink: &'a mut K,
    journal: Option<&'a dyn Journal>,
    suppression: Box<dyn Suppression>,
    summary: Summary,
    progress: &'a Arc<Progress>,
    /// The code of the first error that halted a campaign scope.
    halt_cause: Option<String>,
}

impl<K: ResultSink> Recorder<'_, K> {
    /// A dialled contact's outcome (or the error that stops the campaign).
    async fn dialled(
        &mut self,
        done: Dialled,
        source: &mut impl ContactSource,
    ) -> Result<(), CampaignError> {
        let (contact, outcome) = done?;
        // The cause is the answer that tripped the halt, not a later request that failed fast.
        if outcome.status == OutcomeStatus::Halted
            && outcome.attempts > 0
            && self.halt_cause.is_none()
        {
            self.halt_cause = outcome.code().map(str::to_owned);
        }
        self.emit(Some(&contact.key), &outcome, source).await
    }

    /// An outcome an earlier run recorded: written again, counted, not journaled again, and
    /// its halt does not stop this run.
    async fn resumed(
        &mut self,
        contact: &Contact,
        outcome: ContactOutcome,
        source: &mut impl ContactSource,
    ) -> Result<(), CampaignError> {
        self.summary.resumed += 1;
        self.summary.add_resumed(&outcome);
        self.write(&outcome, source).await?;
        tracing::trace!(key = %contact.key, "resumed from the journal");
        Ok(())
    }

    /// A new outcome of this run; journaled under `key` when it has one.
    async fn emit(
        &mut self,
        key: Option<&str>,
        outcome: &ContactOutcome,
        source: &mut impl ContactSource,
    ) -> Result<(), CampaignError> {
        let from_api = outcome.code().is_some_and(|c| c != "suppressed");
        if outcome.status == OutcomeStatus::OptedOut && from_api {
            self.suppression
                .add(&outcome.phone)
                .await
                .map_err(CampaignError::Suppression)?;
        }
        if let (Some(key), Some(j)) = (key, self.journal) {
            j.finished(key, outcome)
                .await
                .map_err(CampaignError::Journal)?;
        }
        self.summary.add(outcome);
        self.write(outcome, source).await
    }

    async fn write(
        &mut self,
        outcome: &ContactOutcome,
        source: &mut impl ContactSource,
    ) -> Result<(), CampaignError> {
        self.sink
            .write(outcome)
            .await
            .map_err(CampaignError::Sink)?;
        self.progress.contact_done(outcome.attempts);
        metrics::contact_done(outcome.status);
        source.done(outcome).await.map_err(CampaignError::Source)
    }
}

#[cfg(test)]
mod tests {
    use super::number_key;

    #[test]
    fn number_keys_tell_e164_numbers_apart() {
        assert_eq!(number_key("+447446466847"), Some(447_446_466_847));
        assert_ne!(number_key("+14155550100"), number_key("+141555501000"));
        assert_eq!(number_key("+999999999999999"), Some(999_999_999_999_999));
        for bad in [
            "",
            "+",
            "447446466847",
            "+0123",
            "+1234567890123456",
            "+12a4",
            "+-1",
        ] {
            assert_eq!(number_key(bad), None, "{bad}");
        }
    }
}
