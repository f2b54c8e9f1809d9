//! A shared queue's protocol (fleet mode): a `None` while contacts are in flight is not the
//! end. The engine records those contacts (`done` is called for each), then asks again.

mod common;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use redial_campaign::{
    BoxError, Campaign, ContactOutcome, ContactSource, MemorySink, OutcomeStatus, SourceItem,
};

use common::*;

/// Hands out the first half, then answers `None` until every contact handed out is done
/// (as a fleet queue does while others hold the rest), then the second half.
struct Halves {
    first: VecDeque<SourceItem>,
    second: VecDeque<SourceItem>,
    outstanding: usize,
    nones_in_flight: Arc<AtomicUsize>,
}

impl ContactSource for Halves {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>> {
        let item = if let Some(item) = self.first.pop_front() {
            Some(item)
        } else if self.outstanding > 0 {
            self.nones_in_flight.fetch_add(1, Ordering::Relaxed);
            None
        } else {
            self.second.pop_front()
        };
        if item.is_some() {
            self.outstanding += 1;
        }
        Box::pin(std::future::ready(Ok(item)))
    }

    fn done<'a>(&'a mut self, _outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        self.outstanding -= 1;
        Box::pin(std::future::ready(Ok(())))
    }
}

#[tokio::test(start_paused = true)]
async fn a_none_while_contacts_are_in_flight_is_asked_again() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(4));
    let mut all = contacts(8);
    let second: VecDeque<_> = all.split_off(4).into();
    let nones = Arc::new(AtomicUsize::new(0));
    let source = Halves {
        first: all.into(),
        second,
        outstanding: 0,
        nones_in_flight: nones.clone(),
    };
    let sink = MemorySink::new();
    let summary = Campaign::builder(client)
        .agent(AGENT)
        .build()
        .unwrap()
        .run(source, sink.clone())
        .await
        .unwrap();
    let outcomes = sink.outcomes();
    assert_once_each(&outcomes, 8);
    assert_eq!(count(&outcomes, OutcomeStatus::Completed), 8);
    assert_eq!(summary.total(), 8);
    assert!(
        nones.load(Ordering::Relaxed) >= 1,
        "the queue said None mid-way"
    );
    assert_eq!(sim.stats().calls_created, 8);
}
