//! Reconcile instead of giving up (issue 12, item 3): every create carries its key in its
//! metadata; a create whose answer was lost is looked up with `GET /v1/calls` and adopted, or
//! proven not placed and sent again under the same key. The simulator's list returns every
//! call, newest first, with `created_at` and `metadata` and ignores the filters — a server the
//! contract allows (the client filters the answer itself). Answers the simulator cannot give
//! (a 409 for a key still in use) come from a scripted stub (`common/stub.rs`).

mod common;

use std::time::Duration;

use common::stub::{self, Reply};
use common::{AGENT, client, client_at, config, honoured, requests, sim};
use redial::sim::{FaultKind, Scenario, ScheduledFault};
use redial::transport::{Error, IDEMPOTENCY_KEY_FIELD, NewCall, Reconciled};

fn window(end: Duration, kind: FaultKind) -> ScheduledFault {
    ScheduledFault {
        start: Duration::ZERO,
        end,
        kind,
        rate: 1.0,
        routes: vec!["POST /v1/calls".into()],
    }
}

/// A create whose answer is lost after the server placed the call (a reset), while every
/// `GET /v1/calls` meets `kind` for `outage`: the reconciliation cannot list at first.
fn lost_answer_and_list_outage(outage: Duration, kind: FaultKind) -> Scenario {
    let mut s = Scenario::default();
    s.faults.scheduled = vec![
        window(Duration::from_millis(1), FaultKind::ResetAfter),
        ScheduledFault {
            start: Duration::ZERO,
            end: outage,
            kind,
            rate: 1.0,
            routes: vec!["GET /v1/calls".into()],
        },
    ];
    s
}

/// A client of `sim` that waits out account-level trouble for ten minutes
/// (`pacing.max_pause`), so a list outage of two minutes is waited out and one of a day not.
fn patient_client(sim: &redial::sim::SimHandle) -> redial::transport::Client {
    let mut c = config();
    c.pacing.max_pause = Some(Duration::from_secs(600));
    client(sim, c)
}

#[tokio::test(start_paused = true)]
async fn every_create_carries_its_key_in_metadata_beside_the_callers() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let mut call = NewCall::new(AGENT, "+442000020001");
    call.idempotency_key = Some("campaign-7:line-1".into());
    let mut metadata = serde_json::Map::new();
    metadata.insert("campaign".into(), "spring".into());
    call.metadata = Some(metadata);
    let placed = client.calls().create(&call).await.unwrap();
    assert!(!placed.adopted);
    let listed = client.calls().list(&Default::default()).await.unwrap();
    let mine = listed.iter().find(|c| c.id == placed.call.id).unwrap();
    assert_eq!(mine.idempotency_key(), Some("campaign-7:line-1"));
    let meta = mine.metadata.as_ref().unwrap();
    assert_eq!(meta["campaign"], "spring", "the caller's metadata is kept");
    assert_eq!(meta[IDEMPOTENCY_KEY_FIELD], "campaign-7:line-1");
}

/// The create placed the call and the answer was lost (a reset after the server acted): the
/// call is found and adopted, its slot held, nobody dialled twice.
#[tokio::test(start_paused = true)]
async fn a_create_whose_answer_was_lost_is_found_and_adopted() {
    let mut s = Scenario::default();
    s.faults.scheduled = vec![window(Duration::from_millis(1), FaultKind::ResetAfter)];
    let sim = sim(s).await;
    let client = client(&sim, config());
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000020002"))
        .await
        .expect("adopted");
    assert!(placed.adopted);
    assert_eq!(placed.attempts, 1);
    assert_eq!(
        client.limiter().slots().held(),
        1,
        "the adopted call holds its slot"
    );
    let stats = sim.stats();
    assert_eq!((stats.calls_created, stats.duplicate_dials), (1, 0));
    let done = client
        .calls()
        .wait_until_done(&placed.call.id)
        .await
        .unwrap();
    assert!(done.status.is_terminal());
}

/// A gateway outage: HTML 502s on creates that placed nothing. Two lists a settle period apart
/// prove it, and the create is sent again under the same key: placed once, not ambiguous.
#[tokio::test(start_paused = true)]
async fn a_create_proven_not_placed_is_sent_again_under_the_same_key() {
    let mut s = Scenario::default();
    s.faults.scheduled = vec![window(Duration::from_millis(1), FaultKind::Html502)];
    let sim = sim(s).await;
    let client = client(&sim, config());
    let started = redial::limiter::clock::now();
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000020003"))
        .await
        .expect("placed on the resend");
    assert!(!placed.adopted);
    assert_eq!(placed.attempts, 2);
    assert!(started.elapsed() >= redial::policy::config::DEFAULT_RECONCILE_SETTLE);
    assert_eq!(requests(&sim, "GET /v1/calls"), 2, "two lists");
    assert_eq!(sim.stats().calls_created, 1);
}

/// The measured outage of the issue, at scale: 40 creates through resets after the server
/// acted (30%) end placed exactly once each — none ambiguous, none dialled twice.
#[tokio::test(start_paused = true)]
async fn an_outage_of_lost_answers_leaves_nothing_ambiguous_and_nobody_dialled_twice() {
    let mut s = Scenario {
        seed: 12,
        ..Scenario::default()
    };
    s.faults.reset_after = 0.3;
    s.faults.html_502 = 0.1;
    s.faults.routes = vec!["POST /v1/calls".into()];
    let sim = sim(s).await;
    let client = client(&sim, config());
    let mut adopted = 0;
    for i in 0..40 {
        let placed = client
            .calls()
            .create(&NewCall::new(AGENT, format!("+4421000{i:05}")))
            .await
            .unwrap_or_else(|e| panic!("contact {i}: {e}"));
        adopted += usize::from(placed.adopted);
    }
    assert!(adopted > 0);
    let stats = sim.stats();
    assert_eq!(stats.calls_created, 40, "{stats:?}");
    assert_eq!(stats.duplicate_dials, 0);
}

/// A contact a crashed run left `started`: `reconcile` with its key and the time it was sent.
#[tokio::test(start_paused = true)]
async fn reconcile_resolves_a_contact_a_crashed_run_left_started() {
    let sim = sim(Scenario::default()).await;
    let first_run = client(&sim, config());
    let mut call = NewCall::new(AGENT, "+442000020004");
    call.idempotency_key = Some("run-1:line-4".into());
    let placed = first_run.calls().create(&call).await.unwrap();
    drop(first_run); // "crashed"
    // When the crashed run journaled the contact (here: the call's creation, a second early).
    let before = placed.call.created_at_time().unwrap() - Duration::from_secs(1);

    let rerun = client(&sim, config());
    let Reconciled::Found(found) = rerun.calls().reconcile(&call, before).await.unwrap() else {
        panic!("the call placed by the crashed run is found");
    };
    assert_eq!(found.id, placed.call.id);
    call.idempotency_key = Some("run-1:line-5".into());
    assert_eq!(
        rerun.calls().reconcile(&call, before).await.unwrap(),
        Reconciled::NotFound
    );
    call.idempotency_key = None;
    assert!(matches!(
        rerun.calls().reconcile(&call, before).await,
        Err(Error::InvalidInput(_))
    ));
}

/// When the list itself cannot be had, the create stays ambiguous (and keeps its slot).
#[tokio::test(start_paused = true)]
async fn a_create_stays_ambiguous_when_the_server_cannot_be_asked() {
    let sim = sim(lost_answer_and_list_outage(
        Duration::from_secs(3600),
        FaultKind::ServerError,
    ))
    .await;
    let client = client(&sim, config());
    let mut err = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000020005"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    assert!(err.take_slot().is_some());
    assert_eq!(sim.stats().calls_created, 1);
}

/// Issue 12, item 5: under honoured keys, a create that ended ambiguous and is sent again by
/// the caller met `409 idempotency_key_in_use` (the first send still being handled) and ended
/// `fatal` — "failed" while the call was being placed. A 409 for the key is now waited out and
/// the key sent again; the resend starts as "may have acted".
#[tokio::test(start_paused = true)]
async fn an_ambiguous_create_resent_under_honoured_keys_waits_out_a_key_in_use() {
    let stub = stub::start(|req, i| match (req.method.as_str(), i) {
        // The first send is being handled for a long time: no answer.
        ("POST", 0) => Reply::Hang,
        // The resend: the key is in use once, then the first send's call.
        ("POST", 1) => Reply::Json(
            409,
            r#"{"error":{"type":"conflict","code":"idempotency_key_in_use","message":"in use"}}"#
                .into(),
        ),
        _ => Reply::Json(201, stub::call_json("call_1", "+442000020006", "k-6")),
    })
    .await;
    let mut c = honoured(config());
    c.retry.max_attempts = 1;
    c.retry.attempt_timeout = Duration::from_secs(2);
    let client = client_at(&stub.base_url, c.clone());
    let mut call = NewCall::new(AGENT, "+442000020006");
    call.idempotency_key = Some("k-6".into());
    let err = client.calls().create(&call).await.unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    // The caller resends under the same key (a campaign's rerun does the same).
    c.retry.max_attempts = 3;
    client.apply_config(c).unwrap();
    let placed = client
        .calls()
        .create(&call)
        .await
        .expect("the key in use is waited out, never failed");
    assert_eq!(placed.call.id, "call_1");
    let seen = stub.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.idempotency_key.as_deref() == Some("k-6"))
    );
    assert!(seen[0].body.contains(r#""redial_idempotency_key":"k-6""#));
}

/// Issue 12, item 5: a create halted (or refused) after an earlier attempt that may have
/// placed the call freed its call slot at once, though the call may be live: the campaign
/// could then overrun the account's live-call limit. The slot now travels in the error.
#[tokio::test(start_paused = true)]
async fn a_create_halted_after_an_attempt_that_may_have_acted_keeps_its_slot() {
    let stub = stub::start(|req, i| match (req.method.as_str(), i) {
        // The first send gets no answer: it may have placed the call.
        ("POST", 0) => Reply::Hang,
        // The resend under the honoured key: the key was revoked meanwhile.
        _ => Reply::Json(
            401,
            r#"{"error":{"type":"authentication_error","code":"invalid_api_key","message":"revoked"}}"#
                .into(),
        ),
    })
    .await;
    let mut c = honoured(config());
    c.retry.attempt_timeout = Duration::from_secs(2);
    let client = client_at(&stub.base_url, c);
    let mut call = NewCall::new(AGENT, "+442000020007");
    call.idempotency_key = Some("k-7".into());
    let mut err = client.calls().create(&call).await.unwrap_err();
    assert!(matches!(err, Error::Halted { .. }), "{err}");
    assert!(err.may_have_acted());
    assert_eq!(
        client.limiter().slots().held(),
        1,
        "the call may be live: its slot is kept"
    );
    let slot = err.take_slot().expect("the slot travels in the error");
    drop(slot);
    assert_eq!(client.limiter().slots().held(), 0);
}

/// An outage that covers the list too: the create's answer is lost after the server placed
/// the call, and every `GET /v1/calls` fails for two minutes. The reconciliation asks again
/// until the outage is over (within `pacing.max_pause`) and adopts the call — it does not
/// give up as `ambiguous`.
/// (Regression: the first failed list left the create ambiguous; the soak saw 8 such.)
#[tokio::test(start_paused = true)]
async fn a_reconciliation_waits_out_an_outage_of_the_list() {
    let sim = sim(lost_answer_and_list_outage(
        Duration::from_secs(120),
        FaultKind::Html502,
    ))
    .await;
    let client = patient_client(&sim);
    let started = redial::limiter::clock::now();
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000020009"))
        .await
        .expect("adopted once the list answers again");
    assert!(placed.adopted);
    assert!(
        started.elapsed() >= Duration::from_secs(120),
        "found only after the outage: {:?}",
        started.elapsed()
    );
    assert!(
        requests(&sim, "GET /v1/calls") > 2,
        "the list was asked again"
    );
    let stats = sim.stats();
    assert_eq!((stats.calls_created, stats.duplicate_dials), (1, 0));
}

/// The same outage lasting longer than the campaign waits out any pause (`pacing.max_pause`):
/// the create ends ambiguous (may have acted), never sent again.
#[tokio::test(start_paused = true)]
async fn a_reconciliation_gives_up_after_max_pause() {
    let sim = sim(lost_answer_and_list_outage(
        Duration::from_secs(24 * 3600),
        FaultKind::Html502,
    ))
    .await;
    let client = patient_client(&sim);
    let started = redial::limiter::clock::now();
    let e = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000020010"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Ambiguous { .. }), "{e:?}");
    assert!(e.may_have_acted());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(500) && waited <= Duration::from_secs(700),
        "waited about max_pause: {waited:?}"
    );
    let stats = sim.stats();
    assert_eq!((stats.calls_created, stats.duplicate_dials), (1, 0));
}

/// A rerun reconciling a contact a crashed run left started, while the list is down for two
/// minutes: `reconcile_waiting` asks again until it answers (the campaign engine uses it),
/// where a single `reconcile` fails. A list down longer than `pacing.max_pause` is an error.
#[tokio::test(start_paused = true)]
async fn a_rerun_reconciliation_waits_out_an_outage_of_the_list() {
    let sim = sim(Scenario::default()).await;
    let first_run = client(&sim, config());
    let mut call = NewCall::new(AGENT, "+442000020011");
    call.idempotency_key = Some("run-1:line-11".into());
    let placed = first_run.calls().create(&call).await.unwrap();
    drop(first_run); // "crashed"
    let before = placed.call.created_at_time().unwrap() - Duration::from_secs(1);
    sim.set_faults(
        lost_answer_and_list_outage(Duration::from_secs(120), FaultKind::Html502).faults,
    );

    let rerun = patient_client(&sim);
    assert!(
        rerun.calls().reconcile(&call, before).await.is_err(),
        "the list is down"
    );
    let Reconciled::Found(found) = rerun
        .calls()
        .reconcile_waiting(&call, before)
        .await
        .unwrap()
    else {
        panic!("found once the list answers again");
    };
    assert_eq!(found.id, placed.call.id);

    sim.set_faults(
        lost_answer_and_list_outage(Duration::from_secs(24 * 3600), FaultKind::Html502).faults,
    );
    let started = redial::limiter::clock::now();
    assert!(
        rerun
            .calls()
            .reconcile_waiting(&call, before)
            .await
            .is_err()
    );
    assert!(
        started.elapsed() <= Duration::from_secs(700),
        "bounded by max_pause"
    );
    assert_eq!(sim.stats().calls_created, 1, "nobody dialled again");
}
