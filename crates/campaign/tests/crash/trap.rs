//! Crash points as traps on the engine's seams: wrappers of [`Journal`] and [`ResultSink`]
//! that, at the N-th call of one method, report the contact it carries and park forever —
//! before the call reaches the real journal or sink, or after it did — or cut the
//! [`Proxy`] so that the contact's next request is lost on the way there or back.
//!
//! Parking is `std::future::pending`: the contact's future never completes, exactly as if the
//! process had stopped at that instruction, while the test kills the campaign.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use redial_campaign::{BoxError, Contact, ContactOutcome, Journal, PriorState, ResultSink};
use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

use super::proxy::{Cut, Proxy};

/// The journal calls a trap can be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `started`: a create is about to be sent.
    Started,
    /// `placed`: the create was answered with a call.
    Placed,
    /// `finished`: the contact's outcome.
    Finished,
}

/// What a sprung journal trap does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spring {
    /// Parks before the real journal sees the call: the record is never written.
    ParkBefore,
    /// Writes the record, then parks: the record is durable, the next step never runs.
    ParkAfter,
    /// Writes the record, then cuts the proxy and lets the contact go on: its next request
    /// (the create) is lost on the way to the server, or its answer on the way back.
    CutAfter(Cut),
}

/// Where a crash point's trap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trap {
    /// At the n-th call of a journal method.
    Journal(Op, usize, Spring),
    /// At the n-th result written (parked before the sink sees it).
    Write(usize),
    /// At the sink's `finish` (every result written, the results file not yet in place).
    Finish,
}

impl Trap {
    /// The same trap at the `nth` call (`Finish` is one call).
    pub(crate) fn at(self, nth: usize) -> Trap {
        match self {
            Trap::Journal(op, _, spring) => Trap::Journal(op, nth, spring),
            Trap::Write(_) => Trap::Write(nth),
            Trap::Finish => Trap::Finish,
        }
    }
}

/// Reports the number of the contact a trap caught (empty for `finish`).
pub(crate) type Hits = UnboundedSender<String>;

/// A journal with an optional trap.
#[derive(Debug)]
pub(crate) struct TrappedJournal {
    inner: Arc<dyn Journal>,
    trap: Option<(Op, usize, Spring)>,
    seen: [AtomicUsize; 3],
    hits: Hits,
    proxy: Option<Proxy>,
}

impl TrappedJournal {
    /// `inner` with `trap` (only journal traps apply); a [`Spring::CutAfter`] cuts `proxy`.
    pub(crate) fn new(
        inner: Arc<dyn Journal>,
        trap: Option<Trap>,
        hits: Hits,
        proxy: Option<Proxy>,
    ) -> Self {
        let trap = match trap {
            Some(Trap::Journal(op, nth, spring)) => Some((op, nth, spring)),
            _ => None,
        };
        Self {
            inner,
            trap,
            seen: Default::default(),
            hits,
            proxy,
        }
    }

    /// Counts a call of `op`; the spring when it is the trapped one.
    fn sprung(&self, op: Op) -> Option<Spring> {
        let n = self.seen[op as usize].fetch_add(1, Ordering::SeqCst) + 1;
        match self.trap {
            Some((o, nth, spring)) if o == op && nth == n => Some(spring),
            _ => None,
        }
    }

    /// Passes the call (made by `call` only if it is to happen) through the trap.
    async fn pass<'a>(
        &'a self,
        op: Op,
        phone: &'a str,
        call: impl FnOnce() -> BoxFuture<'a, Result<(), BoxError>> + Send + 'a,
    ) -> Result<(), BoxError> {
        let spring = self.sprung(op);
        if spring == Some(Spring::ParkBefore) {
            let _ = self.hits.send(phone.to_owned());
            pending::<()>().await;
        }
        // The real journals do their work when the future is made: make it only now.
        call().await?;
        match spring {
            Some(Spring::ParkAfter) => {
                let _ = self.hits.send(phone.to_owned());
                pending::<()>().await;
            }
            Some(Spring::CutAfter(cut)) => {
                let proxy = self.proxy.as_ref().expect("a cut needs the proxy");
                proxy.cut(cut, phone, self.hits.clone());
            }
            _ => {}
        }
        Ok(())
    }
}

impl Journal for TrappedJournal {
    fn campaign_id(&self) -> Uuid {
        self.inner.campaign_id()
    }

    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>> {
        self.inner.prior(key)
    }

    fn started<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.pass(Op::Started, &contact.phone, move || {
            self.inner.started(contact, idempotency_key)
        }))
    }

    fn placed<'a>(
        &'a self,
        contact: &'a Contact,
        idempotency_key: &'a str,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.pass(Op::Placed, &contact.phone, move || {
            self.inner.placed(contact, idempotency_key, call_id)
        }))
    }

    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.pass(Op::Finished, &outcome.phone, move || {
            self.inner.finished(key, outcome)
        }))
    }

    fn sync(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        self.inner.sync()
    }
}

/// A result sink with an optional trap.
#[derive(Debug)]
pub(crate) struct TrappedSink<S> {
    inner: S,
    trap: Option<Trap>,
    writes: usize,
    hits: Hits,
}

impl<S> TrappedSink<S> {
    /// `inner` with `trap` (only sink traps apply).
    pub(crate) fn new(inner: S, trap: Option<Trap>, hits: Hits) -> Self {
        let trap = trap.filter(|t| matches!(t, Trap::Write(_) | Trap::Finish));
        Self {
            inner,
            trap,
            writes: 0,
            hits,
        }
    }
}

impl<S: ResultSink> ResultSink for TrappedSink<S> {
    fn write<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.writes += 1;
            if self.trap == Some(Trap::Write(self.writes)) {
                let _ = self.hits.send(outcome.phone.clone());
                pending::<()>().await;
            }
            self.inner.write(outcome).await
        })
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move {
            if self.trap == Some(Trap::Finish) {
                let _ = self.hits.send(String::new());
                pending::<()>().await;
            }
            self.inner.finish().await
        })
    }
}
