//! The typed endpoints against the simulator: agents, numbers, calls, messages.

mod common;

use common::{AGENT, client, config, sim};
use redial::policy::ErrorCode;
use redial::sim::Scenario;
use redial::transport::{
    CallStatus, Error, NewAgent, NewCall, NewMessage, NumberImport, Secret, sms,
};

const SID: &str = "AC0123456789abcdef0123456789abcdef";

#[tokio::test(start_paused = true)]
async fn agents_list_get_create() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let agents = client.agents().list().await.unwrap();
    assert!(agents.iter().any(|a| a.id == AGENT));
    let agent = client.agents().get(AGENT).await.unwrap();
    assert_eq!(agent.phone_numbers, ["+14155550100"]);
    let created = client
        .agents()
        .create(&NewAgent {
            name: "Support".into(),
            system_prompt: "Be kind.".into(),
            voice_id: "alloy".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.name, "Support");
    let err = client
        .agents()
        .create(&NewAgent {
            name: "x".into(),
            system_prompt: "p".repeat(10_001),
            voice_id: "alloy".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PromptTooLong));
    let err = client
        .agents()
        .create(&NewAgent {
            name: "x".into(),
            system_prompt: "p".into(),
            voice_id: "robot".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidVoiceId));
}

#[tokio::test(start_paused = true)]
async fn numbers_import_and_delete() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let import = |number: &str, token: &str| NumberImport {
        agent_id: "agent_nophone".into(),
        phone_number: number.into(),
        twilio_account_sid: SID.into(),
        twilio_auth_token: Secret::new(token),
    };
    let n = client
        .numbers()
        .import(&import("+14155550101", "twilio_demo_token"))
        .await
        .unwrap();
    assert_eq!(n.agent_id, "agent_nophone");
    client.numbers().delete("+14155550101").await.unwrap();
    let err = client
        .numbers()
        .import(&import("+14155550102", "stale_token"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Halted { .. }),
        "rejected Twilio credentials halt the sender: {err}"
    );
    assert!(!format!("{err:?}").contains("stale_token"));
    let err = client
        .numbers()
        .import(&import("+14155550101", "twilio_demo_token"))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 0, "the SID's scope is halted");
}

#[tokio::test(start_paused = true)]
async fn calls_create_get_list_and_wait() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let placed = client
        .calls()
        .create(&NewCall::new(AGENT, "+447446466847"))
        .await
        .unwrap();
    assert_eq!(
        client.limiter().slots().held(),
        1,
        "the slot is held for the life of the call"
    );
    let got = client.calls().get(&placed.call.id).await.unwrap();
    assert_eq!(got.id, placed.call.id);
    assert!(
        client
            .calls()
            .list(&Default::default())
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == placed.call.id)
    );
    let done = client
        .calls()
        .wait_until_done(&placed.call.id)
        .await
        .unwrap();
    assert!(done.status.is_terminal() && done.status != CallStatus::Queued);
    drop(placed.slot);
    assert_eq!(client.limiter().slots().held(), 0);
    let err = client.calls().get("call_does_not_exist").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::CallNotFound));
    assert!(matches!(err, Error::Fatal { .. }));
}

#[tokio::test(start_paused = true)]
async fn messages_send_and_opt_out() {
    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let msg = |to: &str, body: String| NewMessage {
        to: to.into(),
        body,
        from_number: Some("+14155550100".into()),
        agent_id: None,
        idempotency_key: None,
    };
    client
        .messages()
        .send(&msg("+447446466847", "hello".into()))
        .await
        .unwrap();
    let err = client
        .messages()
        .send(&msg("+14155559999", "hello".into()))
        .await
        .unwrap_err();
    assert!(err.is_opted_out(), "{err}");
    let long = "word ".repeat(400);
    let err = client
        .messages()
        .send(&msg("+447446466847", long.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(_)),
        "send never splits silently"
    );
    for part in sms::split_body(&long) {
        client
            .messages()
            .send(&msg("+447446466847", part))
            .await
            .unwrap();
    }
    let err = client
        .messages()
        .send(&msg("+447446466847", "hi".into()))
        .await;
    assert!(err.is_ok());
    // +14155550101 is a US number without A2P registration; import it, then send from it.
    client
        .numbers()
        .import(&NumberImport {
            agent_id: "agent_nophone".into(),
            phone_number: "+14155550101".into(),
            twilio_account_sid: SID.into(),
            twilio_auth_token: Secret::new("twilio_demo_token"),
        })
        .await
        .unwrap();
    let us = NewMessage {
        from_number: Some("+14155550101".into()),
        ..msg("+447446466847", "hi".into())
    };
    assert_eq!(
        client.messages().send(&us).await.unwrap_err().code(),
        Some(&ErrorCode::SmsNotSupportedInRegion)
    );
}

/// The before-send hook runs right before a create goes on the wire (after slot, pacing and
/// every check), so a dialer's journal never records a contact that was only queued.
#[tokio::test(start_paused = true)]
async fn the_before_send_hook_runs_only_when_a_create_is_sent() {
    use futures::FutureExt as _;
    use std::sync::atomic::{AtomicU32, Ordering};

    let sim = sim(Scenario::default()).await;
    let client = client(&sim, config());
    let calls = AtomicU32::new(0);
    let count = || {
        calls.fetch_add(1, Ordering::SeqCst);
        futures::future::ready(Ok(())).boxed()
    };
    let placed = client
        .calls()
        .create_with_hook(&NewCall::new(AGENT, "+447446466901"), &count)
        .await
        .unwrap();
    drop(placed);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Halted before sending: the hook does not run.
    let _ = client
        .calls()
        .create(&NewCall::new("agent_nophone", "+447446466902"))
        .await;
    let err = client
        .calls()
        .create_with_hook(&NewCall::new("agent_nophone", "+447446466903"), &count)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Halted { .. }));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A failing hook stops the create unsent.
    let before = sim.stats().calls_created;
    let failing = || futures::future::ready(Err(std::io::Error::other("disk full"))).boxed();
    let err = client
        .calls()
        .create_with_hook(&NewCall::new(AGENT, "+447446466904"), &failing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Aborted { .. }), "{err}");
    assert_eq!(err.attempts(), 0);
    assert_eq!(sim.stats().calls_created, before);
    assert_eq!(client.limiter().slots().held(), 0, "the slot is given back");
}
