//! `/v1/calls`.

use std::time::{Duration, SystemTime};

use redial_limiter::CallSlot;
use redial_policy::config::Idempotency;
use redial_policy::{GiveUpReason, Method};
use serde::Serialize;
use tokio::time::Instant;

use crate::client::Client;
use crate::clock;
use crate::error::{Error, FailureDetail};
use crate::model::{Call, IDEMPOTENCY_KEY_FIELD, List, ListCalls, NewCall};
use crate::reconcile::{RECONCILE_LIST_LIMIT, Reconciled, conclude};
use crate::request::Request;
use crate::validate;

/// First wait before a reconciliation list that failed is asked again (assumed: an outage
/// of a gateway lasts seconds to minutes).
const RECONCILE_RETRY_FIRST: Duration = Duration::from_secs(5);
/// Longest wait between two reconciliation lists while the list keeps failing (assumed).
const RECONCILE_RETRY_MAX: Duration = Duration::from_secs(60);

/// Whether a failed read may succeed if asked again later: the server failed, timed out,
/// throttled or a breaker was open — not a refusal, a halt or a bad argument.
fn may_succeed_later(e: &Error) -> bool {
    matches!(
        e,
        Error::Exhausted { .. }
            | Error::Timeout { .. }
            | Error::CircuitOpen { .. }
            | Error::BudgetExhausted { .. }
            | Error::Paused { .. }
    )
}

/// Endpoint group of call reads (status polls, lists). Apart from `calls` (creates) so that a
/// circuit opened by failing creates does not stop the polls that tell when live calls end,
/// and a successful poll does not close the circuit creates still trip.
const STATUS_GROUP: &str = "call_status";

/// A hook run right before a create is sent (see [`Calls::create_with_hook`]). It is async so
/// that a dialer can record the send in a shared store (a journal in Redis) before it happens;
/// the future it returns owns what it needs (clone an `Arc` into it).
pub type BeforeSend<'a> =
    dyn Fn() -> futures::future::BoxFuture<'static, std::io::Result<()>> + Send + Sync + 'a;

/// Call endpoints.
#[derive(Debug)]
pub struct Calls<'c> {
    client: &'c Client,
}

/// A created (or adopted) call and the concurrent-call slot it holds. Keep the slot until the
/// call is terminal (normally after [`Calls::wait_until_done`]); dropping it frees the slot.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlacedCall {
    /// The call as created (or as listed, when adopted).
    pub call: Call,
    /// The slot; drop it (or `release()` it) when the call has ended.
    pub slot: CallSlot,
    /// Attempts the create took (every send, across reconciliations).
    pub attempts: u32,
    /// The create's answer was lost and a reconciliation found the call it placed: the call
    /// was adopted rather than created by a successful answer.
    pub adopted: bool,
}

/// The body of `POST /v1/calls`: the caller's call, its metadata merged with the key.
#[derive(Serialize)]
struct CreateBody<'a> {
    agent_id: &'a str,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_number: Option<&'a str>,
    metadata: serde_json::Map<String, serde_json::Value>,
}

impl<'c> Calls<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `POST /v1/calls`: waits for a call slot, then creates the call. The request carries an
    /// `Idempotency-Key` (the one in `call`, or a new UUID) that stays the same on every
    /// attempt, and the same key in its `metadata` under [`IDEMPOTENCY_KEY_FIELD`] (beside the
    /// caller's metadata). After a failure where the server may have acted, it is retried only
    /// when the config says the server honours that key; otherwise, with `retry.reconcile` on
    /// (the default), the call is reconciled ([`Calls::reconcile`]): adopted if it exists
    /// (`PlacedCall::adopted`), sent again under the same key if two lists
    /// `retry.reconcile_settle` apart prove it does not. [`Error::Ambiguous`] is left only
    /// when the list fails or cannot settle it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-E.164 `to` or `from_number`; [`Error`] otherwise.
    pub async fn create(&self, call: &NewCall) -> Result<PlacedCall, Error> {
        // Boxed: the reconciliation makes the create's state large, and callers hold many of
        // these futures at once.
        Box::pin(self.create_inner(call, None)).await
    }

    /// [`Calls::create`], calling `before_send` right before the create is first written to
    /// the wire — after the call slot, pacing and every check — and again before any resend.
    /// A dialer records "this contact may now be dialled" there (its journal), so that a
    /// contact still waiting in a queue when the process dies is known not to have been
    /// dialled. An error from `before_send` stops the create unsent ([`Error::Aborted`]).
    ///
    /// # Errors
    /// As [`Calls::create`], and [`Error::Aborted`].
    pub async fn create_with_hook(
        &self,
        call: &NewCall,
        before_send: &BeforeSend<'_>,
    ) -> Result<PlacedCall, Error> {
        Box::pin(self.create_inner(call, Some(before_send))).await
    }

    async fn create_inner(
        &self,
        call: &NewCall,
        before_send: Option<&BeforeSend<'_>>,
    ) -> Result<PlacedCall, Error> {
        validate::path_id("agent_id", &call.agent_id)?;
        validate::e164("to", &call.to)?;
        if let Some(from) = &call.from_number {
            validate::e164("from_number", from)?;
        }
        let key = super::idempotency_key(call.idempotency_key.as_ref());
        let mut metadata = call.metadata.clone().unwrap_or_default();
        metadata.insert(IDEMPOTENCY_KEY_FIELD.to_owned(), key.clone().into());
        let body = CreateBody {
            agent_id: &call.agent_id,
            to: &call.to,
            from_number: call.from_number.as_deref(),
            metadata,
        };
        let mut req = Request::new(Method::Post, "/v1/calls".into(), "POST /v1/calls", "calls");
        req.body = Some(super::to_body(&body)?);
        req.idempotency_key = Some(key.clone());
        req.agent_id = Some(&call.agent_id);
        req.to = Some(&call.to);
        req.sender = call.from_number.as_deref();
        req.before_send = before_send;
        let inner = &self.client.inner;
        // A resend of a create that ended ambiguous under honoured keys may meet the first
        // send still being handled: it starts as "may have acted".
        req.in_doubt = inner.in_doubt.contains(&key);
        let mut slot: Option<CallSlot> = None;
        let mut sent = 0u32;
        loop {
            let error = match self
                .client
                .execute_counted::<Call>(&req, Some(&mut slot))
                .await
            {
                Ok((created, attempts)) => {
                    inner.in_doubt.remove(&key);
                    inner.limiter.slots().on_created();
                    return Ok(self.placed(created, slot, sent + attempts, false).await);
                }
                Err(e) => e,
            };
            let Error::Ambiguous {
                detail,
                operation,
                slot: kept,
            } = error
            else {
                return Err(error);
            };
            sent += detail.attempts;
            let policy = self.client.policy();
            let retry = &policy.config().retry;
            if retry.idempotency == Idempotency::Honoured || !retry.reconcile {
                if retry.idempotency == Idempotency::Honoured {
                    inner.in_doubt.insert(&key);
                }
                return Err(Error::Ambiguous {
                    detail,
                    operation,
                    slot: kept,
                });
            }
            let mut keyed = call.clone();
            keyed.idempotency_key = Some(key.clone());
            let sent_after = detail.first_sent.unwrap_or_else(clock::wall_now);
            match self
                .settle(&keyed, sent_after, retry.reconcile_settle)
                .await
            {
                Some(Reconciled::Found(found)) => {
                    tracing::info!(call_id = %found.id, "ambiguous create reconciled: call found, adopted");
                    inner.limiter.slots().on_created();
                    return Ok(self.placed(found, kept, sent, true).await);
                }
                Some(Reconciled::NotFound) if sent < policy.limits(&req.info()).max_attempts => {
                    tracing::info!(
                        "ambiguous create reconciled: not placed, sending again under the same key"
                    );
                    slot = kept;
                }
                Some(Reconciled::NotFound) => {
                    // Proven not placed, but out of attempts: a plain failure, re-dialable.
                    let mut detail = detail;
                    detail.may_have_acted = false;
                    detail.attempts = sent;
                    detail.give_up = Some(GiveUpReason::AttemptsExhausted { attempts: sent });
                    return Err(Error::Exhausted { detail, operation });
                }
                _ => {
                    return Err(Error::Ambiguous {
                        detail,
                        operation,
                        slot: kept,
                    });
                }
            }
        }
    }

    /// A placed call with its slot (taking one if, exceptionally, none is held).
    async fn placed(
        &self,
        call: Call,
        slot: Option<CallSlot>,
        attempts: u32,
        adopted: bool,
    ) -> PlacedCall {
        let slot = match slot {
            Some(slot) => slot,
            // The loop holds a slot whenever it sends a create, so this does not happen; if it
            // ever did, taking one now keeps the live call accounted for.
            None => self.client.inner.limiter.slots().acquire().await,
        };
        self.client.inner.births.record(&call.id);
        PlacedCall {
            call,
            slot,
            attempts,
            adopted,
        }
    }

    /// Reconciles twice when needed: a `NotFound` is confirmed by a second list `settle`
    /// later (a list may not show a call created a moment ago). `None` when the server could
    /// not be asked.
    async fn settle(
        &self,
        call: &NewCall,
        sent_after: SystemTime,
        settle: Duration,
    ) -> Option<Reconciled> {
        let ask = || async {
            self.reconcile_waiting(call, sent_after)
                .await
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "reconciliation list failed; the create stays ambiguous");
                })
                .ok()
        };
        match ask().await? {
            Reconciled::NotFound => {}
            other => return Some(other),
        }
        tokio::time::sleep(settle).await;
        ask().await
    }

    /// [`Calls::reconcile`], asked again while the list fails for a while (an outage that
    /// covers `GET /v1/calls` too): waits growing from 5 s to 60 s between lists, for at most
    /// `pacing.max_pause` in all — as long as a campaign waits out any outage.
    ///
    /// # Errors
    /// As [`Calls::reconcile`]: at once for a refusal or a bad argument; the last failure
    /// when the list could not be read within `pacing.max_pause`.
    pub async fn reconcile_waiting(
        &self,
        call: &NewCall,
        sent_after: SystemTime,
    ) -> Result<Reconciled, Error> {
        let patience = self.client.policy().config().max_pause();
        let start = clock::now();
        let mut wait = RECONCILE_RETRY_FIRST;
        loop {
            match self.reconcile(call, sent_after).await {
                Err(e)
                    if may_succeed_later(&e)
                        && clock::now().saturating_duration_since(start) + wait <= patience =>
                {
                    tracing::warn!(error = %e, retry_in = ?wait, "reconciliation list failed; asking again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RECONCILE_RETRY_MAX);
                }
                answer => return answer,
            }
        }
    }

    /// Did a create of `call` (with `call.idempotency_key`, the key it was sent under) first
    /// sent at `sent_after` place a call? Lists the calls of `call.to` and `call.agent_id`
    /// (`GET /v1/calls`, [`RECONCILE_LIST_LIMIT`] at most), filters the answer itself (the
    /// filters are assumed), and looks for the key in each call's metadata. `NotFound` only
    /// when the page covers everything since `sent_after` (not full, or its oldest call older
    /// than `sent_after` less [`crate::CLOCK_SKEW_MARGIN`]); `Unknown` otherwise.
    ///
    /// Use it for a contact a crashed run left started: the journal's key and the time the
    /// create was journaled.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `call` has no idempotency key or a malformed number;
    /// [`Error`] when the list fails (after its own retries): the server cannot be asked.
    pub async fn reconcile(
        &self,
        call: &NewCall,
        sent_after: SystemTime,
    ) -> Result<Reconciled, Error> {
        validate::e164("to", &call.to)?;
        let Some(key) = call.idempotency_key.as_deref() else {
            return Err(Error::InvalidInput(crate::validate::InvalidInput {
                field: "idempotency_key",
                reason: "a reconciliation needs the key the create was sent with".to_owned(),
                code: redial_policy::ErrorCode::from_name("invalid_request"),
            }));
        };
        let page = self
            .list(&ListCalls {
                to: Some(call.to.clone()),
                agent_id: Some(call.agent_id.clone()),
                limit: Some(RECONCILE_LIST_LIMIT),
            })
            .await?;
        Ok(conclude(&page, call, key, sent_after, RECONCILE_LIST_LIMIT))
    }

    /// `GET /v1/calls/{id}`. A status read: it has its own breaker group (`call_status`), so a
    /// circuit opened by failing creates does not stop it, and its successes do not close that
    /// circuit. A terminal answer ends the client's record of the call's creation (kept for
    /// `polling.max_wait`), so a dialer that polls with `get` keeps no memory per ended call.
    ///
    /// # Errors
    /// [`Error`] when the id is malformed or the request does not succeed.
    pub async fn get(&self, id: &str) -> Result<Call, Error> {
        validate::path_id("call_id", id)?;
        let mut req = Request::new(
            Method::Get,
            format!("/v1/calls/{id}"),
            "GET /v1/calls/{id}",
            STATUS_GROUP,
        );
        req.call_id = Some(id);
        let call: Call = self.client.execute(&req, None).await?;
        if call.status.is_terminal() {
            self.client.inner.births.forget(id);
        }
        Ok(call)
    }

    /// `GET /v1/calls`, newest first. The filters are **assumed** (a server may ignore them):
    /// filter the answer yourself, and never assume more than `limit` calls come back.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed `to`; [`Error`] when the request does not
    /// succeed.
    pub async fn list(&self, query: &ListCalls) -> Result<Vec<Call>, Error> {
        if let Some(to) = &query.to {
            validate::e164("to", to)?;
        }
        let req = Request::new(Method::Get, query.path(), "GET /v1/calls", STATUS_GROUP);
        let list: List<Call> = self.client.execute(&req, None).await?;
        for call in list.data.iter().filter(|c| c.status.is_terminal()) {
            self.client.inner.births.forget(&call.id);
        }
        Ok(list.data)
    }

    /// Polls a call until its status is terminal, waiting `[polling]` between polls (growing
    /// from `initial` to `max`): every poll counts against the account's rate.
    /// `polling.max_wait` is counted from the call's creation (as this client saw it: the
    /// create's answer, an adoption, or the first poll): calling this again for the same call
    /// does not restart it. See [`Calls::wait_until_done_since`] to give the start yourself.
    ///
    /// # Errors
    /// The first poll that fails (after its own retries), or [`Error::Timeout`] when the call
    /// is still not terminal `polling.max_wait` after its creation (the call may still be
    /// live: keep its slot until you know).
    pub async fn wait_until_done(&self, id: &str) -> Result<Call, Error> {
        let born = self.client.inner.births.record(id);
        self.wait_until_done_since(id, born).await
    }

    /// [`Calls::wait_until_done`] with the call's creation given (e.g. a dialer resuming the
    /// polls of a call created by an earlier attempt or process): `polling.max_wait` is
    /// counted from `created_at`, or from an earlier creation this client recorded.
    ///
    /// # Errors
    /// As [`Calls::wait_until_done`].
    pub async fn wait_until_done_since(
        &self,
        id: &str,
        created_at: Instant,
    ) -> Result<Call, Error> {
        let polling = self.client.policy().config().polling.clone();
        let born = self.client.inner.births.record_at(id, created_at);
        let mut delay = polling.initial;
        let mut polls = 0;
        loop {
            let now = clock::now();
            // At least one read: a call older than the bound (taken over from an earlier run,
            // or followed again after a stop) still gets its status asked once.
            if polls > 0 && now.saturating_duration_since(born) + delay > polling.max_wait {
                // Wait out what is left of the bound, then one last poll would exceed it:
                // end here, bounded from the call's birth.
                let mut detail = FailureDetail::new("GET /v1/calls/{id}");
                detail.attempts = polls;
                detail.elapsed = now.saturating_duration_since(born);
                detail.give_up = Some(GiveUpReason::DeadlineExceeded);
                return Err(Error::Timeout {
                    detail: Box::new(detail),
                    operation: "GET /v1/calls/{id}",
                });
            }
            tokio::time::sleep(delay).await;
            let call = self.get(id).await?;
            polls += 1;
            if call.status.is_terminal() {
                self.client.inner.births.forget(id);
                return Ok(call);
            }
            delay = Duration::from_secs_f64(
                (delay.as_secs_f64() * polling.multiplier).min(polling.max.as_secs_f64()),
            );
        }
    }
}

#[cfg(test)]
mod births_tests {
    use std::time::Duration;

    use redial_sim::{Scenario, Sim};

    use crate::model::{ListCalls, NewCall};
    use crate::{ApiKey, Client};

    /// Regression: calls followed by list reads (the campaign's watcher) were never forgotten,
    /// so every call of a run stayed in the birth map until its cap (about 8 MB).
    #[tokio::test(start_paused = true)]
    async fn calls_seen_ended_by_a_read_are_forgotten() {
        let sim = Sim::builder()
            .scenario(Scenario::unlimited())
            .start()
            .await
            .unwrap();
        let client = Client::builder()
            .base_url(sim.base_url())
            .api_key(ApiKey::parse("demo_key:demo_secret").unwrap())
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..4 {
            let call = NewCall::new("agent_demo", format!("+4474000000{i:02}"));
            ids.push(client.calls().create(&call).await.unwrap().call.id);
        }
        assert_eq!(client.inner.births.len(), 4);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        // One call read by id, the rest by a list read.
        assert!(
            client
                .calls()
                .get(&ids[0])
                .await
                .unwrap()
                .status
                .is_terminal()
        );
        assert_eq!(client.inner.births.len(), 3);
        let listed = client.calls().list(&ListCalls::default()).await.unwrap();
        assert!(listed.iter().all(|c| c.status.is_terminal()));
        assert_eq!(client.inner.births.len(), 0);
    }
}
