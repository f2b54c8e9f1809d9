//! `/v1/calls`.

use std::time::Duration;

use redial_limiter::CallSlot;
use redial_policy::{GiveUpReason, Method};

use crate::client::Client;
use crate::clock;
use crate::error::{Error, FailureDetail};
use crate::model::{Call, List, NewCall};
use crate::request::Request;
use crate::validate;

/// Endpoint group of call reads (status polls, lists). Apart from `calls` (creates) so that a
/// circuit opened by failing creates does not stop the polls that tell when live calls end.
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

/// A created call and the concurrent-call slot it holds. Keep the slot until the call is
/// terminal (normally after [`Calls::wait_until_done`]); dropping it frees the slot.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlacedCall {
    /// The call as created.
    pub call: Call,
    /// The slot; drop it (or `release()` it) when the call has ended.
    pub slot: CallSlot,
    /// Attempts the create took.
    pub attempts: u32,
}

impl<'c> Calls<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `POST /v1/calls`: waits for a call slot, then creates the call. The request carries an
    /// `Idempotency-Key` (the one in `call`, or a new UUID) that stays the same on every
    /// attempt; after a failure where the server may have acted, it is retried only when the
    /// config says the server honours that key, otherwise it ends [`Error::Ambiguous`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-E.164 `to` or `from_number`; [`Error`] otherwise.
    pub async fn create(&self, call: &NewCall) -> Result<PlacedCall, Error> {
        self.create_inner(call, None).await
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
        self.create_inner(call, Some(before_send)).await
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
        let mut req = Request::new(Method::Post, "/v1/calls".into(), "POST /v1/calls", "calls");
        req.body = Some(super::to_body(call)?);
        req.idempotency_key = Some(super::idempotency_key(call.idempotency_key.as_ref()));
        req.agent_id = Some(&call.agent_id);
        req.sender = call.from_number.as_deref();
        req.before_send = before_send;
        let mut slot: Option<CallSlot> = None;
        let (created, attempts): (Call, u32) =
            self.client.execute_counted(&req, Some(&mut slot)).await?;
        self.client.inner.limiter.slots().on_created();
        let slot = match slot {
            Some(slot) => slot,
            // The loop holds a slot whenever it sends a create, so this does not happen; if it
            // ever did, taking one now keeps the live call accounted for.
            None => self.client.inner.limiter.slots().acquire().await,
        };
        Ok(PlacedCall {
            call: created,
            slot,
            attempts,
        })
    }

    /// `GET /v1/calls/{id}`.
    ///
    /// # Errors
    /// [`Error`] when the id is malformed or the request does not succeed.
    pub async fn get(&self, id: &str) -> Result<Call, Error> {
        validate::path_id("call_id", id)?;
        let mut req = Request::new(
            Method::Get,
            format!("/v1/calls/{id}"),
            "GET /v1/calls/{id}",
            "calls",
        );
        req.call_id = Some(id);
        self.client.execute(&req, None).await
    }

    /// `GET /v1/calls`.
    ///
    /// # Errors
    /// [`Error`] when the request does not succeed.
    pub async fn list(&self) -> Result<Vec<Call>, Error> {
        let req = Request::new(
            Method::Get,
            "/v1/calls".into(),
            "GET /v1/calls",
            STATUS_GROUP,
        );
        let list: List<Call> = self.client.execute(&req, None).await?;
        Ok(list.data)
    }

    /// Polls a call until its status is terminal, waiting `[polling]` between polls (growing
    /// from `initial` to `max`): every poll counts against the account's rate.
    ///
    /// # Errors
    /// The first poll that fails (after its own retries), or [`Error::Timeout`] when the call
    /// is still not terminal after `polling.max_wait` (the call may still be live: keep its
    /// slot until you know).
    pub async fn wait_until_done(&self, id: &str) -> Result<Call, Error> {
        let polling = self.client.policy().config().polling.clone();
        let started = clock::now();
        let mut delay = polling.initial;
        let mut polls = 0;
        loop {
            if clock::now().saturating_duration_since(started) + delay > polling.max_wait {
                let mut detail = FailureDetail::new("GET /v1/calls/{id}");
                detail.attempts = polls;
                detail.elapsed = clock::now().saturating_duration_since(started);
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
                return Ok(call);
            }
            delay = Duration::from_secs_f64(
                (delay.as_secs_f64() * polling.multiplier).min(polling.max.as_secs_f64()),
            );
        }
    }
}
