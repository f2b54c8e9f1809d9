//! Support reports (issue 12, item 4): what Nixflex support asks for, counted across requests.

mod common;

use common::{AGENT, client, config, sim};
use redial::sim::{FaultConfig, Scenario};
use redial::transport::NewCall;

fn faulty(f: impl FnOnce(&mut FaultConfig)) -> Scenario {
    let mut s = Scenario::default();
    f(&mut s.faults);
    s
}

/// A provider error that repeats for one operation across requests is a support case, even
/// when each request saw it once (before, only repeats within one request counted).
#[tokio::test(start_paused = true)]
async fn provider_errors_repeating_across_requests_make_a_report() {
    let sim = sim(faulty(|f| f.provider_error = 1.0)).await;
    let mut c = config();
    c.types.insert(
        "provider_error".into(),
        redial::policy::config::RuleConfig {
            max_attempts: Some(1),
            ..Default::default()
        },
    );
    let client = client(&sim, c);
    let first = client.agents().list().await.unwrap_err();
    assert!(
        first.support_report().is_none(),
        "one provider error is no case yet"
    );
    let second = client.agents().list().await.unwrap_err();
    let report = second.support_report().expect("the repeat is reported");
    assert_eq!(report.repeats, 2);
    assert_eq!(report.error.error_type.as_deref(), Some("provider_error"));
    assert_eq!(report.operation, "GET /v1/agents");
}

/// A bare 502 page from a gateway (no JSON body) is reported at once, like a server_error;
/// the report says who and what: agent, destination, operation, attempts, the full error.
#[tokio::test(start_paused = true)]
async fn a_bare_gateway_page_on_a_create_is_reported_with_who_and_what() {
    let sim = sim(faulty(|f| {
        f.html_502 = 1.0;
        f.routes = vec!["POST /v1/calls".into()];
    }))
    .await;
    let mut c = config();
    c.retry.reconcile = false;
    let client = client(&sim, c);
    let err = client
        .calls()
        .create(&NewCall::new(AGENT, "+442000030001"))
        .await
        .unwrap_err();
    let report = err
        .support_report()
        .expect("a gateway page is a support case");
    assert_eq!(report.operation, "POST /v1/calls");
    assert_eq!(report.agent_id.as_deref(), Some(AGENT));
    assert_eq!(report.to.as_deref(), Some("+442000030001"));
    assert_eq!(report.attempts, 1);
    assert_eq!(report.error.status, 502);
    let json: serde_json::Value = serde_json::to_value(report).unwrap();
    for key in [
        "timestamp",
        "operation",
        "agent_id",
        "to",
        "call_id",
        "request_id",
        "attempts",
    ] {
        assert!(json.get(key).is_some(), "{key}: {json}");
    }
    for key in ["type", "code", "message", "details"] {
        assert!(json["error"].get(key).is_some(), "error.{key}: {json}");
    }
    let t = &report.timestamp; // RFC 3339, UTC: 2026-01-01T00:00:00Z
    assert!(
        t.len() == 20 && t.ends_with('Z') && &t[10..11] == "T",
        "{t}"
    );
}
