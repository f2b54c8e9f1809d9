//! Stopping a campaign (Ctrl-C in the CLI, [`CancelHandle`] for embedders), on the paused
//! clock with calls of minutes: contacts still waiting for a call slot are not dialled, the
//! live calls are followed to their end, and a rerun dials exactly the contacts left.

mod common;

use std::sync::Arc;
use std::time::Duration;

use redial_campaign::{Campaign, MemoryJournal, MemorySink, MemorySource, OutcomeStatus};

use common::*;

/// Review finding (issue 12): Ctrl-C still dialled the contacts queued for a slot.
#[tokio::test(start_paused = true)]
async fn a_stop_dials_nobody_queued_and_follows_the_live_calls_to_their_end() {
    let sim = sim(all_answered()).await;
    let client = client(&sim, config(5));
    let journal = Arc::new(MemoryJournal::default());
    let campaign = Campaign::builder(client.clone())
        .agent(AGENT)
        .shared_journal(journal.clone())
        .build()
        .unwrap();
    let stop = campaign.cancel_handle();
    tokio::spawn(async move {
        // The first five calls are live (they last at least a minute); ten contacts wait
        // for their slots, the rest are not read yet.
        tokio::time::sleep(Duration::from_secs(30)).await;
        stop.cancel();
    });
    let sink = MemorySink::new();
    let summary = campaign
        .run(MemorySource::new(contacts(40)), sink.clone())
        .await
        .unwrap();
    let outcomes = sink.outcomes();
    assert_once_each(&outcomes, 40);
    assert!(summary.interrupted);
    assert_eq!(
        sim.stats().calls_created,
        5,
        "only the live calls were placed"
    );
    assert_eq!(
        count(&outcomes, OutcomeStatus::Completed),
        5,
        "followed to their end"
    );
    let stopped: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status == OutcomeStatus::Halted)
        .collect();
    assert_eq!(stopped.len(), 35);
    assert!(
        stopped
            .iter()
            .all(|o| o.code() == Some("interrupted") && o.attempts == 0)
    );
    assert_eq!(client.limiter().slots().held(), 0);

    // A rerun with the journal dials exactly the 35 left, and re-emits the 5.
    let sink = MemorySink::new();
    let summary = Campaign::builder(client.clone())
        .agent(AGENT)
        .shared_journal(journal)
        .build()
        .unwrap()
        .run(MemorySource::new(contacts(40)), sink.clone())
        .await
        .unwrap();
    let again = sink.outcomes();
    assert_eq!(summary.resumed, 5, "{again:#?}");
    assert_eq!(summary.count(OutcomeStatus::Completed), 40, "{again:#?}");
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 40);
    assert_eq!(stats.duplicate_dials, 0);
}

/// Review finding (issue 12): after an interrupt, writing the remaining contacts blocked the
/// polls of the calls in flight. Here the source is long: the live calls still end on time.
#[tokio::test(start_paused = true)]
async fn writing_the_stopped_contacts_does_not_stall_the_live_calls() {
    let sim = sim(all_answered()).await;
    let client = client(&sim, config(3));
    let campaign = Campaign::builder(client.clone())
        .agent(AGENT)
        .build()
        .unwrap();
    let stop = campaign.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        stop.cancel();
    });
    let sink = MemorySink::new();
    let summary = campaign
        .run(MemorySource::new(contacts(5_000)), sink.clone())
        .await
        .unwrap();
    assert_eq!(summary.total(), 5_000);
    assert_eq!(summary.count(OutcomeStatus::Completed), 3);
    // Calls last at most 8 s ringing + 3 min talking; polls every 20 s at most.
    assert!(
        summary.duration < Duration::from_secs(260),
        "{:?}",
        summary.duration
    );
}
