//! Status reads, counted on the paused clock: reads timed to call lengths and many calls per
//! read keep a rate-bound campaign's requests per contact near or below 2 — and a server that
//! ignores the list's filters costs reads, never a contact.

mod common;

use std::time::Duration;

use redial_campaign::{Campaign, MemoryJournal, MemorySink, MemorySource, OutcomeStatus};
use redial_policy::config::BucketConfig;
use redial_sim::{Scenario, SimHandle};

use common::*;

/// A rate-bound account: 10 requests/s, 20 live calls, calls of 20 s to 1 min.
fn paced() -> Scenario {
    let mut s = all_answered();
    s.limits.requests_per_second = 10.0;
    s.limits.burst = 10;
    s.limits.max_concurrent_calls = 20;
    s.calls.ringing_after = Duration::from_secs(1);
    s.calls.answered_after = Duration::from_secs(4);
    s.calls.duration_min = Duration::from_secs(20);
    s.calls.duration_max = Duration::from_secs(60);
    s
}

/// Runs 300 contacts told the account's limits; returns requests per contact.
async fn requests_per_contact(sim: &SimHandle, lists: bool) -> f64 {
    let mut c = config(20);
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 10.0,
        burst: 10,
    }];
    let client = client(sim, c);
    let sink = MemorySink::new();
    let summary = Campaign::builder(client)
        .agent(AGENT)
        .journal(MemoryJournal::default())
        .list_reads(lists)
        .build()
        .unwrap()
        .run(MemorySource::new(contacts(300)), sink.clone())
        .await
        .unwrap();
    assert_eq!(summary.count(OutcomeStatus::Completed), 300, "{summary:?}");
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0);
    stats.total_requests() as f64 / 300.0
}

#[tokio::test(start_paused = true)]
async fn list_reads_bring_requests_per_contact_below_two() {
    let sim = sim(paced()).await;
    let per_contact = requests_per_contact(&sim, true).await;
    eprintln!("with lists: {per_contact:.2} requests per contact");
    assert!(per_contact <= 1.3, "{per_contact:.2} requests per contact");
    assert!(sim.stats().list_requests() > 0);
}

#[tokio::test(start_paused = true)]
async fn reads_timed_to_call_lengths_stay_near_two_per_contact_without_lists() {
    let sim = sim(paced()).await;
    let per_contact = requests_per_contact(&sim, false).await;
    eprintln!("without lists: {per_contact:.2} requests per contact");
    assert!(per_contact <= 3.5, "{per_contact:.2} requests per contact");
    assert_eq!(sim.stats().list_requests(), 0);
}

/// The list's filters are assumed: a server that ignores them returns the account's newest
/// calls, and some live calls are read one by one. Every contact still ends once.
#[tokio::test(start_paused = true)]
async fn a_list_that_ignores_its_filters_costs_reads_not_contacts() {
    let mut s = paced();
    s.calls.list_ignores_filters = true;
    let sim = sim(s).await;
    let per_contact = requests_per_contact(&sim, true).await;
    eprintln!("filters ignored: {per_contact:.2} requests per contact");
    assert!(per_contact <= 3.0, "{per_contact:.2}");
}
