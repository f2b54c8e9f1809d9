//! The call quota per window: once used up, every request of the account gets 429
//! `rate_limit_exceeded` with a `Retry-After` of hours, until the window ends. On tokio's
//! paused clock, at real time scales.

mod common;

use std::time::Duration;

use common::*;
use redial_sim::{LimitsConfig, QuotaConfig, RetryAfterFormat, Scenario, SimError};

const HOUR: Duration = Duration::from_secs(3600);

fn quota(calls: u64, window: Duration) -> Scenario {
    Scenario {
        quota: QuotaConfig { calls, window },
        ..Scenario::default()
    }
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_used_up_quota_refuses_everything_for_hours_then_renews() {
    let sim = start(quota(3, 3 * HOUR)).await;
    tokio::time::advance(Duration::from_secs(600)).await;
    for i in 0..3 {
        assert_eq!(
            post(&sim, "/v1/calls", call_to(&number(i))).await.status(),
            201
        );
    }
    assert_eq!(sim.stats().quota_used, 3);

    // Every route, not only creates, until the window ends at 3 h.
    let resp = post(&sim, "/v1/calls", call_to(&number(3))).await;
    let secs = retry_after(&resp);
    assert_eq!(
        secs,
        3 * 3600 - 600,
        "Retry-After is the rest of the window"
    );
    let err = expect_error(resp, 429, "rate_limit_error", "rate_limit_exceeded").await;
    assert_eq!(err["details"]["retry_after_ms"], secs * 1000);
    assert_eq!(err["details"]["quota"], 3);
    for path in ["/v1/agents", "/v1/calls", "/v1/calls/call_0000000000000000"] {
        let resp = get(&sim, path).await;
        assert_eq!(resp.status(), 429, "{path}");
        assert!(retry_after(&resp) > 2 * 3600, "{path}: hours, not seconds");
    }

    tokio::time::advance(2 * HOUR).await;
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(retry_after(&resp), 3000, "50 minutes left");

    tokio::time::advance(Duration::from_secs(2999)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 429, "1 s left");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(get(&sim, "/v1/agents").await.status(), 200, "a new window");
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(3))).await.status(),
        201
    );

    let st = sim.stats();
    assert_eq!(st.quota_refused, 6);
    assert_eq!(st.rate_limited_with("rate_limit_exceeded"), 6);
    assert_eq!(st.quota_used, 1);
    assert_eq!(st.calls_created, 4);
    assert_eq!(st.duplicate_dials, 0);
}

#[tokio::test(start_paused = true)]
async fn quota_retry_after_follows_the_header_format() {
    let mut s = quota(1, HOUR);
    s.limits = LimitsConfig {
        retry_after: RetryAfterFormat::HttpDate,
        ..LimitsConfig::default()
    };
    let sim = start(s).await;
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(0))).await.status(),
        201
    );
    let resp = get(&sim, "/v1/agents").await;
    assert_eq!(resp.status(), 429);
    let date = resp.headers()["retry-after"].to_str().unwrap().to_owned();
    let at = httpdate::parse_http_date(&date).expect("an HTTP date");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["details"]["retry_after_ms"], 3_600_000);
    assert!(at > std::time::SystemTime::UNIX_EPOCH);
}

#[tokio::test(start_paused = true)]
async fn refused_creates_do_not_use_the_quota_and_failed_ones_neither() {
    let sim = start(quota(2, HOUR)).await;
    // A refusal (unsubscribed) and a Twilio reject place no call.
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+14155559999"))
            .await
            .status(),
        400
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to("+15005550001"))
            .await
            .status(),
        502
    );
    assert_eq!(sim.stats().quota_used, 0);
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(0))).await.status(),
        201
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(1))).await.status(),
        201
    );
    assert_eq!(
        post(&sim, "/v1/calls", call_to(&number(2))).await.status(),
        429
    );
}

#[test]
fn quota_keys_parse_and_validate() {
    let s = Scenario::from_toml_str("[quota]\ncalls = 1000\nwindow = \"24h\"\n").unwrap();
    assert_eq!(s.quota.calls, 1000);
    assert_eq!(s.quota.window, 24 * HOUR);
    assert_eq!(Scenario::default().quota.calls, 0, "off by default");
    assert_eq!(Scenario::demo().quota.calls, 0);
    let e = Scenario::from_toml_str("[quota]\ncalls = 5\nwindow = \"0s\"\n").unwrap_err();
    assert!(
        matches!(&e, SimError::Invalid { key, .. } if key == "quota.window"),
        "{e}"
    );
}
