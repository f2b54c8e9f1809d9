//! Reruns after a crash: what the journal proves decides what is dialled again.

mod common;

use std::sync::Arc;

use redial_campaign::{
    Campaign, Journal, MemoryJournal, MemorySink, MemorySource, OutcomeStatus, idempotency_key,
};
use redial_transport::NewCall;

use common::*;

/// A crash after the create succeeded (journal `placed`) but before the call ended: the rerun
/// follows that call to its end and creates nothing, whether or not keys are honoured.
#[tokio::test(start_paused = true)]
async fn a_placed_call_is_followed_not_created_again() {
    let sim = sim(all_answered()).await;
    let client = client(&sim, config(4));
    let journal = Arc::new(MemoryJournal::default());
    let c = contact(1);
    let key = idempotency_key(journal.campaign_id(), &c.key);
    // The crashed run: `started`, the create, `placed` — then nothing.
    journal.started(&c, &key).await.unwrap();
    let mut call = NewCall::new(AGENT, c.phone.clone());
    call.idempotency_key = Some(key.clone());
    let placed = client.calls().create(&call).await.unwrap();
    journal.placed(&c, &key, &placed.call.id).await.unwrap();
    drop(placed.slot);
    assert_eq!(sim.stats().calls_created, 1);

    let sink = MemorySink::new();
    Campaign::builder(client.clone())
        .agent(AGENT)
        .shared_journal(journal.clone())
        .build()
        .unwrap()
        .run(MemorySource::new(contacts(3)), sink.clone())
        .await
        .unwrap();
    let outcomes = sink.outcomes();
    assert_once_each(&outcomes, 3);
    let first = outcomes.iter().find(|o| o.phone == c.phone).unwrap();
    assert_eq!(first.status, OutcomeStatus::Completed);
    assert_eq!(first.call_id.as_deref(), Some(placed.call.id.as_str()));
    assert_eq!(first.call_status.as_deref(), Some("completed"));
    let stats = sim.stats();
    assert_eq!(
        stats.calls_created, 3,
        "the two others, and no second call to the first"
    );
    assert_eq!(stats.duplicate_dials, 0);
}
