//! Campaigns at real time scales, on the paused clock: calls of minutes, quotas that answer
//! "come back in an hour", outages whose 502s sometimes placed the call, keys not honoured.
//! Hours of simulated time run in seconds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use redial_campaign::{
    Campaign, ContactOutcome, Journal, MemoryJournal, MemorySink, MemorySource, OutcomeStatus,
    PriorState, Summary, idempotency_key,
};
use redial_policy::config::{BucketConfig, Config, Idempotency};
use redial_sim::{Scenario, SimHandle};
use redial_transport::{Client, NewCall};

use common::*;

async fn run(
    client: &Client,
    journal: &Arc<MemoryJournal>,
    n: u64,
) -> (Summary, Vec<ContactOutcome>) {
    let sink = MemorySink::new();
    let summary = Campaign::builder(client.clone())
        .agent(AGENT)
        .shared_journal(journal.clone())
        .build()
        .unwrap()
        .run(MemorySource::new(contacts(n)), sink.clone())
        .await
        .unwrap();
    (summary, sink.outcomes())
}

/// An account with a quota of `calls` creates an hour, and calls of minutes.
fn quota(calls: u64) -> Scenario {
    let mut s = all_answered();
    s.quota.calls = calls;
    s.quota.window = Duration::from_secs(3600);
    s
}

/// Issue 12: a 429 whose Retry-After is longer than the campaign may wait used to burn every
/// later contact (`failed`, one refused request each) and exit 0. Now the campaign stops at
/// once: the contacts left are `halted` with `retry_at`, nothing is `failed`, and a rerun
/// after the pause dials exactly those.
#[tokio::test(start_paused = true)]
async fn a_quota_stops_the_campaign_with_a_time_to_rerun_and_burns_nobody() {
    let sim = sim(quota(10)).await;
    let client = client(&sim, config(5));
    let journal = Arc::new(MemoryJournal::default());
    let (summary, outcomes) = run(&client, &journal, 40).await;
    assert_once_each(&outcomes, 40);
    assert_eq!(
        count(&outcomes, OutcomeStatus::Failed),
        0,
        "a throttle never fails a contact"
    );
    assert_eq!(count(&outcomes, OutcomeStatus::Ambiguous), 0);
    // The quota also refuses status reads: the calls live at the stop are `halted` with their
    // call id (a rerun follows them); the rest were never dialled.
    let placed = outcomes.iter().filter(|o| o.call_id.is_some()).count();
    assert_eq!(placed, 10, "the quota's 10 calls");
    let halted: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status == OutcomeStatus::Halted)
        .collect();
    assert!(halted.len() >= 30, "{}", halted.len());
    for o in &halted {
        let e = o.error.as_ref().unwrap();
        assert_eq!(e.code, "rate_limit_exceeded", "{o:?}");
        assert_eq!(e.scope.as_deref(), Some("account"));
        assert!(e.retry_at.is_some(), "{o:?}");
    }
    assert!(summary.halted_campaign(), "exit status 3");
    assert!(summary.rerun_after.is_some());
    assert!(summary.render().contains("rerun"));
    let stats = sim.stats();
    // Only requests already on the wire when the first refusal came (at most one per live
    // call and waiting create) meet the quota; nothing is sent after it.
    assert!(
        stats.quota_refused <= 5,
        "after the first refusal nothing more is sent: {} refused",
        stats.quota_refused
    );

    // An hour later the quota is back: the rerun follows the 10 calls to their end and dials
    // 10 of the 30 never dialled (the quota again); nobody twice.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let (summary, again) = run(&client, &journal, 40).await;
    assert_once_each(&again, 40);
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 20);
    assert_eq!(stats.duplicate_dials, 0);
    let first_ten: Vec<_> = again
        .iter()
        .filter(|o| {
            outcomes
                .iter()
                .any(|p| p.phone == o.phone && p.call_id.is_some())
        })
        .collect();
    assert_eq!(first_ten.len(), 10);
    assert!(
        first_ten
            .iter()
            .all(|o| o.status == OutcomeStatus::Completed),
        "{first_ten:#?}"
    );
    assert_eq!(count(&again, OutcomeStatus::Failed), 0);
    assert!(summary.count(OutcomeStatus::Completed) >= 15, "{summary:?}");
}

/// The same quota, with a campaign told it may wait two hours: it waits the hour out (one
/// probe first) and finishes; nothing halted, nothing failed.
#[tokio::test(start_paused = true)]
async fn a_campaign_allowed_to_wait_waits_a_quota_out() {
    let sim = sim(quota(15)).await;
    let mut c = config(5);
    c.pacing.max_pause = Some(Duration::from_secs(2 * 3600));
    let client = client(&sim, c);
    let journal = Arc::new(MemoryJournal::default());
    let (summary, outcomes) = run(&client, &journal, 40).await;
    assert_eq!(
        count(&outcomes, OutcomeStatus::Completed),
        40,
        "{summary:?}"
    );
    assert!(
        summary.duration > Duration::from_secs(2 * 3600),
        "two quota windows waited"
    );
    assert_eq!(sim.stats().duplicate_dials, 0);
}

/// Keys not honoured, a run crashed after journaling two creates: one had placed its call,
/// the other had not. The rerun asks the server: it follows the first call and creates the
/// second, dialling nobody twice.
#[tokio::test(start_paused = true)]
async fn a_rerun_reconciles_contacts_a_crashed_run_left_started() {
    let sim = sim(all_answered()).await;
    let client = client(&sim, config(4));
    let journal = Arc::new(MemoryJournal::default());
    let placed_contact = contact(1);
    let unsent_contact = contact(2);
    let key = |c: &redial_campaign::Contact| idempotency_key(journal.campaign_id(), &c.key);
    for c in [&placed_contact, &unsent_contact] {
        journal.started(c, &key(c)).await.unwrap();
    }
    let mut call = NewCall::new(AGENT, placed_contact.phone.clone());
    call.idempotency_key = Some(key(&placed_contact));
    let placed = client.calls().create(&call).await.unwrap();
    drop(placed.slot);
    // Let the list show it (the settle period), as a crash of some seconds would.
    tokio::time::sleep(Duration::from_secs(15)).await;

    let (_, outcomes) = run(&client, &journal, 3).await;
    assert_once_each(&outcomes, 3);
    assert_eq!(
        count(&outcomes, OutcomeStatus::Completed),
        3,
        "{outcomes:#?}"
    );
    let first = outcomes
        .iter()
        .find(|o| o.phone == placed_contact.phone)
        .unwrap();
    assert_eq!(
        first.call_id.as_deref(),
        Some(placed.call.id.as_str()),
        "adopted"
    );
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 3);
    assert_eq!(stats.duplicate_dials, 0);
}

/// Every contact that ended on a server_error carries the report Nixflex support asks for.
#[tokio::test(start_paused = true)]
async fn contacts_ended_by_server_errors_carry_support_reports() {
    let mut s = all_answered();
    s.faults.server_error = 1.0;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    let client = client(&sim, config(4));
    let journal = Arc::new(MemoryJournal::default());
    let (summary, outcomes) = run(&client, &journal, 3).await;
    assert_eq!(summary.support_reports, 3);
    for o in &outcomes {
        let e = o.error.as_ref().unwrap();
        assert_eq!(e.error_type, "server_error");
        let report = e.support.as_ref().expect("a support report");
        for field in [
            "timestamp",
            "operation",
            "to",
            "request_id",
            "attempts",
            "error",
        ] {
            assert!(report.get(field).is_some(), "{field}: {report}");
        }
        assert_eq!(report["operation"], "POST /v1/calls");
        assert_eq!(report["error"]["type"], "server_error");
    }
}

/// The realistic preset at full size: 1,000 contacts, calls of minutes with a long tail, a
/// quota of 600 calls per 3 h, gateway outages whose 502s sometimes placed the call, keys not
/// honoured. The campaign may wait out the quota. Hours of simulated time.
#[tokio::test(start_paused = true)]
async fn a_thousand_contacts_at_real_time_scales() {
    let account = Scenario::realistic();
    let sim = sim(account.clone()).await;
    let mut c = Config::default();
    c.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: account.limits.requests_per_second,
        burst: 10,
    }];
    c.slots.max_concurrent_calls = account.limits.max_concurrent_calls;
    c.retry.idempotency = Idempotency::Ignored;
    c.pacing.max_pause = Some(Duration::from_secs(4 * 3600));
    let client = client(&sim, c);
    let journal = Arc::new(MemoryJournal::default());
    let (summary, outcomes) = run(&client, &journal, 1000).await;
    assert_once_each(&outcomes, 1000);
    assert_invariants(&sim, &journal, &outcomes);
    assert!(
        summary.duration > Duration::from_secs(3 * 3600),
        "the quota window was waited out: {:?}",
        summary.duration
    );
    eprintln!("{}", summary.render());
}

/// What every real-time-scale campaign must show.
fn assert_invariants(sim: &SimHandle, journal: &MemoryJournal, outcomes: &[ContactOutcome]) {
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "nobody dialled twice");
    assert!(stats.duplicate_numbers.is_empty());
    for o in outcomes {
        let code = o.code().unwrap_or("");
        // No contact fails undialled, and no throttle fails a contact.
        if o.status == OutcomeStatus::Failed {
            assert!(
                o.attempts > 0 || o.call_id.is_some(),
                "failed undialled: {o:?}"
            );
            assert_ne!(code, "rate_limit_exceeded", "{o:?}");
            assert_ne!(code, "concurrent_call_limit", "{o:?}");
        }
        // Ambiguous only when the server could not be asked.
        assert_ne!(o.status, OutcomeStatus::Ambiguous, "{o:?}");
        // The results and the journal agree.
        assert_eq!(
            journal.state(&o.phone),
            Some(PriorState::Finished(o.clone())),
            "{o:?}"
        );
    }
    assert!(
        outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::Completed)
            .count()
            >= 950,
        "at most a few fatal provider answers"
    );
}
