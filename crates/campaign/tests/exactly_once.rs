//! The engine's promise, on the paused clock against redial-sim with calls of minutes: every
//! record of the source gets exactly one outcome per run, nobody is dialled twice (within a
//! run, across reruns, whatever rows the source repeats), and a journal that cannot record a
//! contact stops the campaign before that contact is dialled.

mod common;

use std::sync::Arc;

use futures::future::BoxFuture;
use redial_campaign::{
    BoxError, Campaign, CampaignError, Contact, ContactOutcome, FileJournal, InvalidContact,
    Journal, MemoryJournal, MemorySink, MemorySource, OutcomeStatus, PriorState, SourceItem,
    SuppressList,
};
use uuid::Uuid;

use common::*;

/// The simulator's STOP list holds this number (recipient_unsubscribed).
const OPTED_OUT: &str = "+14155559999";

#[tokio::test(start_paused = true)]
async fn every_record_gets_exactly_one_outcome_and_nobody_is_dialled_twice() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(10));
    let dir = tempfile::tempdir().unwrap();
    let suppress_path = dir.path().join("suppress.txt");
    std::fs::write(&suppress_path, format!("{}\n", number(3))).unwrap();
    let mut items = contacts(30);
    items.push(SourceItem::Contact(contact(7).at_line(40))); // the same number again
    items.push(SourceItem::Invalid(InvalidContact::new(
        41,
        "0207",
        "not E.164",
    )));
    items.push(SourceItem::Contact(Contact::new(OPTED_OUT).at_line(42)));
    items.push(SourceItem::Contact(Contact::new(OPTED_OUT).at_line(43)));
    let records = items.len();
    let sink = MemorySink::new();
    let campaign = Campaign::builder(client.clone())
        .agent(AGENT)
        .suppression(SuppressList::load(&suppress_path).unwrap())
        .build()
        .unwrap();
    let summary = campaign
        .run(MemorySource::new(items), sink.clone())
        .await
        .unwrap();
    let outcomes = sink.outcomes();
    assert_once_each(&outcomes, records);
    assert_eq!(summary.total(), records as u64);
    assert_eq!(
        count(&outcomes, OutcomeStatus::Completed),
        29,
        "30 less the suppressed one"
    );
    assert_eq!(
        count(&outcomes, OutcomeStatus::OptedOut),
        2,
        "suppressed, and STOP"
    );
    assert_eq!(
        count(&outcomes, OutcomeStatus::Failed),
        3,
        "two duplicates, one invalid row"
    );
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 29);
    assert_eq!(stats.duplicate_dials, 0);
    assert!(stats.max_live_calls <= 10, "{}", stats.max_live_calls);
    assert_eq!(client.limiter().slots().held(), 0, "every slot is back");
    // The opt-out the API reported was added to the suppress file for the next campaign.
    let suppressed = std::fs::read_to_string(&suppress_path).unwrap();
    assert!(suppressed.contains(OPTED_OUT), "{suppressed}");
}

#[tokio::test(start_paused = true)]
async fn a_rerun_with_the_journal_re_emits_and_dials_nobody() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(8));
    let journal = Arc::new(MemoryJournal::default());
    let run = |journal: Arc<MemoryJournal>| {
        let client = client.clone();
        async move {
            let sink = MemorySink::new();
            let summary = Campaign::builder(client)
                .agent(AGENT)
                .shared_journal(journal)
                .build()
                .unwrap()
                .run(MemorySource::new(contacts(20)), sink.clone())
                .await
                .unwrap();
            (summary, sink.outcomes())
        }
    };
    let (first, outcomes) = run(journal.clone()).await;
    assert_eq!(first.count(OutcomeStatus::Completed), 20);
    assert_eq!(sim.stats().calls_created, 20);
    let (second, again) = run(journal.clone()).await;
    assert_eq!(sim.stats().calls_created, 20, "nobody dialled again");
    assert_eq!(second.resumed, 20);
    assert_once_each(&again, 20);
    let mut a = outcomes.clone();
    let mut b = again.clone();
    a.sort_by_key(|o| o.line);
    b.sort_by_key(|o| o.line);
    assert_eq!(a, b, "the same outcomes, from the journal");
}

/// Review finding (issue 12): duplicate and malformed rows were journaled under the phone
/// number and overwrote the real contact's record, so a third run re-emitted the duplicate's
/// `failed` in place of the `completed` call.
#[tokio::test(start_paused = true)]
async fn duplicate_and_malformed_rows_never_overwrite_the_real_contacts_record() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(4));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let contacts_file = dir.path().join("contacts.csv");
    let items = || {
        vec![
            SourceItem::Contact(contact(1)),
            SourceItem::Contact(contact(1).at_line(3)),
            SourceItem::Invalid(InvalidContact::new(4, number(1), "wrong field count")),
        ]
    };
    for run in 1..=3 {
        let journal = FileJournal::open(&path, AGENT, &contacts_file).unwrap();
        let sink = MemorySink::new();
        Campaign::builder(client.clone())
            .agent(AGENT)
            .journal(journal)
            .build()
            .unwrap()
            .run(MemorySource::new(items()), sink.clone())
            .await
            .unwrap();
        let outcomes = sink.outcomes();
        let real = outcomes.iter().find(|o| o.line == 2).unwrap();
        assert_eq!(
            real.status,
            OutcomeStatus::Completed,
            "run {run}: {outcomes:#?}"
        );
        assert_eq!(outcomes.len(), 3, "run {run}");
    }
    assert_eq!(sim.stats().calls_created, 1);
}

/// A journal whose `started` record cannot be written.
#[derive(Debug)]
struct FullDisk(MemoryJournal);

impl Journal for FullDisk {
    fn campaign_id(&self) -> Uuid {
        self.0.campaign_id()
    }
    fn prior<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PriorState>, BoxError>> {
        self.0.prior(key)
    }
    fn started<'a>(&'a self, _: &'a Contact, _: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Err::<(), BoxError>("no space left on device".into()) })
    }
    fn finished<'a>(
        &'a self,
        key: &'a str,
        outcome: &'a ContactOutcome,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        self.0.finished(key, outcome)
    }
}

#[tokio::test(start_paused = true)]
async fn a_journal_that_cannot_record_a_start_stops_the_campaign_unsent() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(4));
    let err = Campaign::builder(client.clone())
        .agent(AGENT)
        .journal(FullDisk(MemoryJournal::default()))
        .build()
        .unwrap()
        .run(MemorySource::new(contacts(5)), MemorySink::new())
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::Journal(_)), "{err}");
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(sim.stats().calls_created, 0, "nothing was dialled");
    assert_eq!(client.limiter().slots().held(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_bad_build_is_refused_with_what_is_wrong() {
    let sim = sim(minutes_long_calls()).await;
    let client = client(&sim, config(4));
    let e = Campaign::builder(client.clone()).build().unwrap_err();
    assert!(e.to_string().contains("agent"), "{e}");
    let e = Campaign::builder(client.clone())
        .agent("agent/../x")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("agent_id"), "{e}");
    let e = Campaign::builder(client)
        .agent(AGENT)
        .in_flight(0)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("in_flight"), "{e}");
}
