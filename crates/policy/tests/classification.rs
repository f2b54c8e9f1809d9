//! A table test of every documented type and code under `Policy::default()`, and the
//! decision rules that combine a verdict with attempts, deadline, budget and idempotency.

use std::time::{Duration, SystemTime};

use redial_policy::{
    Action, ApiError, Attempt, Config, Decision, ErrorCode, ErrorType, Exhausted, Failure,
    GiveUpReason, HaltScope, MatchedBy, Method, Policy, RequestInfo, ResponseMeta, SideEffect,
    TransportError, TransportKind, Unlimited,
};
use serde_json::json;

const CALL: RequestInfo<'static> = RequestInfo {
    method: Method::Post,
    path: "/v1/calls",
    idempotency_key: false,
    agent_id: Some("agent_1"),
    sender: Some("+14155550100"),
};

fn first() -> Attempt {
    Attempt {
        waits: 0,
        number: 1,
        elapsed: Duration::ZERO,
        previous_delay: Duration::ZERO,
        jitter: 0.5,
    }
}

fn code(status: u16, code: &str) -> Failure {
    Failure::Api(ApiError::from_status(status).with_code(ErrorCode::from_name(code)))
}

#[test]
fn every_documented_code_has_its_default_action() {
    use Action::*;
    let agent = || Halt(HaltScope::Agent("agent_1".into()));
    let sender = || Halt(HaltScope::Sender("+14155550100".into()));
    let table: [(&str, u16, Action); 21] = [
        ("invalid_api_key", 401, Halt(HaltScope::Account)),
        ("key_secret_required", 401, Halt(HaltScope::Account)),
        ("agent_not_found", 404, agent()),
        ("agent_not_owned", 403, agent()),
        ("prompt_too_long", 400, Fatal),
        ("invalid_voice_id", 400, Fatal),
        ("invalid_phone_format", 400, Fatal),
        ("invalid_twilio_sid", 400, Fatal),
        ("number_not_in_twilio", 400, Fatal),
        ("twilio_invalid_credentials", 400, sender()),
        ("twilio_auth_failed", 400, sender()),
        ("number_already_imported", 409, Fatal),
        ("call_not_found", 404, Fatal),
        ("outbound_failed", 502, Fatal),
        ("from_number_not_owned", 403, sender()),
        ("agent_no_phone", 400, agent()),
        ("sms_not_supported_in_region", 400, Fatal),
        ("message_too_long", 400, Fatal),
        ("recipient_unsubscribed", 400, Fatal),
        ("rate_limit_exceeded", 429, Throttle),
        ("concurrent_call_limit", 429, WaitSlot),
    ];
    let policy = Policy::default();
    for (name, status, action) in table {
        let c = policy.classify(&code(status, name), &CALL);
        assert_eq!(c.action, action, "{name}");
        assert_eq!(c.matched_by, MatchedBy::Code, "{name}");
        assert_eq!(
            c.side_effect,
            SideEffect::NotActed,
            "{name}: every 4xx and outbound_failed prove nothing happened"
        );
        assert!(!c.unknown_code);
        assert_eq!(c.opted_out, name == "recipient_unsubscribed", "{name}");
    }
}

#[test]
fn every_documented_type_has_its_default_action() {
    let table = [
        (
            ErrorType::Authentication,
            401,
            Action::Halt(HaltScope::Account),
            SideEffect::NotActed,
        ),
        (
            ErrorType::Permission,
            403,
            Action::Fatal,
            SideEffect::NotActed,
        ),
        (
            ErrorType::InvalidRequest,
            400,
            Action::Fatal,
            SideEffect::NotActed,
        ),
        (
            ErrorType::NotFound,
            404,
            Action::Fatal,
            SideEffect::NotActed,
        ),
        (
            ErrorType::Conflict,
            409,
            Action::Fatal,
            SideEffect::NotActed,
        ),
        (
            ErrorType::RateLimit,
            429,
            Action::Throttle,
            SideEffect::NotActed,
        ),
        (
            ErrorType::Provider,
            502,
            Action::Retry,
            SideEffect::MayHaveActed,
        ),
        (
            ErrorType::Server,
            500,
            Action::Retry,
            SideEffect::MayHaveActed,
        ),
    ];
    let policy = Policy::default();
    for (t, status, action, side) in table {
        let f = Failure::Api(ApiError::from_status(status).with_type(t.clone()));
        let c = policy.classify(&f, &CALL);
        assert_eq!(
            (c.action, c.side_effect, c.matched_by),
            (action, side, MatchedBy::Type),
            "{t}"
        );
    }
}

#[test]
fn unknown_code_falls_back_to_type_then_status() {
    let policy = Policy::default();
    let f = Failure::Api(
        ApiError::from_status(503)
            .with_type(ErrorType::from_name("server_error"))
            .with_code(ErrorCode::from_name("brand_new")),
    );
    let c = policy.classify(&f, &CALL);
    assert_eq!(
        (c.action.clone(), c.matched_by, c.unknown_code),
        (Action::Retry, MatchedBy::Type, true)
    );
    let f =
        Failure::Api(ApiError::from_status(418).with_type(ErrorType::from_name("teapot_error")));
    let c = policy.classify(&f, &CALL);
    assert_eq!(
        (c.action.clone(), c.matched_by, c.unknown_type),
        (Action::Fatal, MatchedBy::Status, true)
    );
    for (status, action) in [
        (408, Action::Retry),
        (503, Action::Retry),
        (429, Action::Throttle),
        (401, Action::Halt(HaltScope::Account)),
        (422, Action::Fatal),
    ] {
        let c = policy.classify(
            &Failure::Api(ApiError::parse(
                status,
                ResponseMeta::default(),
                b"<html>",
                SystemTime::UNIX_EPOCH,
            )),
            &CALL,
        );
        assert_eq!(c.action, action, "{status}");
    }
}

#[test]
fn outbound_failed_looks_into_the_twilio_code() {
    let policy = Policy::default();
    let twilio = |n: u32| {
        Failure::Api(
            ApiError::from_status(502)
                .with_code(ErrorCode::OutboundFailed)
                .with_details(json!({ "twilio_error": n })),
        )
    };
    for n in [21211, 21214, 21215, 21216, 21217] {
        assert_eq!(
            policy.classify(&twilio(n), &CALL).action,
            Action::Fatal,
            "{n}"
        );
    }
    let opt = policy.classify(&twilio(21610), &CALL);
    assert!(opt.opted_out && opt.action == Action::Fatal);
    for n in [20500, 20503] {
        let c = policy.classify(&twilio(n), &CALL);
        assert_eq!(
            (c.action.clone(), c.side_effect),
            (Action::Retry, SideEffect::NotActed),
            "{n}"
        );
        assert!(
            matches!(
                policy.decide(&twilio(n), &CALL, &first(), &Unlimited),
                Decision::Retry { .. }
            ),
            "outbound_failed proves no call was made, so even a keyless POST retries"
        );
    }
    // Twilio 20429 is a rate limit: slow the account down (throttle), not a retry on the
    // 100 ms schedule (issue 12, item 5).
    let c = policy.classify(&twilio(20429), &CALL);
    assert_eq!(
        (c.action.clone(), c.side_effect),
        (Action::Throttle, SideEffect::NotActed)
    );
    assert!(matches!(
        policy.decide(&twilio(20429), &CALL, &first(), &Unlimited),
        Decision::Throttle {
            retry_after: None,
            ..
        }
    ));
    assert_eq!(
        policy.classify(&twilio(20003), &CALL).action,
        Action::Halt(HaltScope::Sender("+14155550100".into()))
    );
}

#[test]
fn transport_failures_know_whether_the_server_may_have_acted() {
    let policy = Policy::default();
    let t = |kind, sent| Failure::Transport(TransportError::new(kind, sent, "x"));
    assert_eq!(
        policy
            .classify(&t(TransportKind::Connect, false), &CALL)
            .side_effect,
        SideEffect::NotActed
    );
    assert_eq!(
        policy
            .classify(&t(TransportKind::Timeout, true), &CALL)
            .side_effect,
        SideEffect::MayHaveActed
    );
    assert_eq!(
        policy
            .classify(&t(TransportKind::Reset, false), &CALL)
            .side_effect,
        SideEffect::NotActed
    );
    assert_eq!(
        policy
            .classify(&t(TransportKind::Reset, true), &CALL)
            .side_effect,
        SideEffect::MayHaveActed
    );
    // A keyless create after a timeout is ambiguous; after a refused connect it retries.
    assert_eq!(
        policy.decide(
            &t(TransportKind::Timeout, true),
            &CALL,
            &first(),
            &Unlimited
        ),
        Decision::Ambiguous
    );
    assert!(matches!(
        policy.decide(
            &t(TransportKind::Connect, false),
            &CALL,
            &first(),
            &Unlimited
        ),
        Decision::Retry { .. }
    ));
}

#[test]
fn a_may_have_acted_create_is_retried_only_with_an_honoured_key() {
    let f = code(500, "whatever");
    let keyed = RequestInfo {
        idempotency_key: true,
        ..CALL
    };
    assert_eq!(
        Policy::default().decide(&f, &keyed, &first(), &Unlimited),
        Decision::Ambiguous
    );
    let honoured =
        Policy::new(Config::from_toml_str("[retry]\nidempotency = \"honoured\"").unwrap()).unwrap();
    assert_eq!(
        honoured.decide(&f, &CALL, &first(), &Unlimited),
        Decision::Ambiguous,
        "no key, no retry"
    );
    assert!(matches!(
        honoured.decide(&f, &keyed, &first(), &Unlimited),
        Decision::Retry { .. }
    ));
    let get = RequestInfo::new(Method::Get, "/v1/calls/call_1");
    assert!(matches!(
        Policy::default().decide(&f, &get, &first(), &Unlimited),
        Decision::Retry { .. }
    ));
}

#[test]
fn limits_attempts_deadline_budget_and_retry_after() {
    let policy = Policy::default();
    let get = RequestInfo::new(Method::Get, "/v1/agents");
    let server = code(500, "x");
    let at = |number, elapsed| Attempt {
        waits: 0,
        number,
        elapsed,
        ..first()
    };
    assert_eq!(
        policy.decide(&server, &get, &at(5, Duration::ZERO), &Unlimited),
        Decision::GiveUp {
            reason: GiveUpReason::AttemptsExhausted { attempts: 5 }
        }
    );
    let provider = Failure::Api(ApiError::from_status(502).with_type(ErrorType::Provider));
    assert!(
        matches!(
            policy.decide(&provider, &get, &at(3, Duration::ZERO), &Unlimited),
            Decision::GiveUp { .. }
        ),
        "provider_error: 3 attempts"
    );
    assert_eq!(
        policy.decide(
            &server,
            &get,
            &at(1, Duration::from_millis(119_990)),
            &Unlimited
        ),
        Decision::GiveUp {
            reason: GiveUpReason::DeadlineExceeded
        }
    );
    assert_eq!(
        policy.decide(&server, &get, &first(), &Exhausted),
        Decision::GiveUp {
            reason: GiveUpReason::BudgetExhausted
        }
    );
    let throttled = |secs| {
        Failure::Api(
            ApiError::from_status(429)
                .with_code(ErrorCode::RateLimitExceeded)
                .with_retry_after(Duration::from_secs(secs)),
        )
    };
    assert_eq!(
        policy.decide(&throttled(2), &get, &first(), &Exhausted),
        Decision::Throttle {
            after: Duration::from_secs(2),
            retry_after: Some(Duration::from_secs(2))
        },
        "throttles are paced, not charged to the budget"
    );
    // Issue 12, item 2: a throttle never gives up, whatever its Retry-After or the attempts
    // made: the account is paused for all of it and the transport bounds the request's wait.
    assert_eq!(
        policy.decide(
            &throttled(3600),
            &get,
            &at(50, Duration::from_secs(600)),
            &Unlimited
        ),
        Decision::Throttle {
            after: Duration::from_secs(3600),
            retry_after: Some(Duration::from_secs(3600))
        }
    );
    // A retry answer's long Retry-After still gives up.
    let unavailable =
        Failure::Api(ApiError::from_status(503).with_retry_after(Duration::from_secs(3600)));
    assert_eq!(
        policy.decide(&unavailable, &get, &first(), &Unlimited),
        Decision::GiveUp {
            reason: GiveUpReason::RetryAfterTooLong {
                retry_after: Duration::from_secs(3600),
                max: Duration::from_secs(60)
            }
        }
    );
    // Throttles answered earlier are not charged to max_attempts.
    let waited = Attempt {
        number: 9,
        waits: 8,
        ..first()
    };
    assert!(matches!(
        policy.decide(&server, &get, &waited, &Unlimited),
        Decision::Retry { .. }
    ));
    let slot = code(429, "concurrent_call_limit");
    assert!(matches!(
        policy.decide(&slot, &CALL, &first(), &Unlimited),
        Decision::WaitSlot { .. }
    ));
}

#[test]
fn halt_without_a_named_scope_degrades_to_fatal() {
    let policy = Policy::default();
    let bare = RequestInfo::new(Method::Post, "/v1/calls");
    assert_eq!(
        policy.classify(&code(404, "agent_not_found"), &bare).action,
        Action::Fatal
    );
}

#[test]
fn config_overrides_by_code_type_and_route() {
    let config = Config::from_toml_str(
        r#"
        [codes.number_already_imported]
        action = "halt"
        scope = "agent"
        [codes.new_upstream_hiccup]
        action = "retry"
        max_attempts = 2
        [types.server_error]
        max_attempts = 2
        [routes."GET /v1/calls/{id}"]
        max_attempts = 9
        attempt_timeout = "2s"
        "#,
    )
    .unwrap();
    let policy = Policy::new(config).unwrap();
    assert_eq!(
        policy
            .classify(&code(409, "number_already_imported"), &CALL)
            .action,
        Action::Halt(HaltScope::Agent("agent_1".into()))
    );
    let hiccup = policy.classify(&code(400, "new_upstream_hiccup"), &CALL);
    assert_eq!(
        (hiccup.action, hiccup.max_attempts, hiccup.unknown_code),
        (Action::Retry, Some(2), true)
    );
    let poll = RequestInfo::new(Method::Get, "/v1/calls/call_9");
    assert_eq!(policy.limits(&poll).max_attempts, 9);
    assert_eq!(policy.limits(&poll).attempt_timeout, Duration::from_secs(2));
    assert_eq!(policy.limits(&CALL).max_attempts, 5);
}

#[test]
fn decide_for_a_known_code_does_not_allocate_a_scope_for_non_halts() {
    // Behavioural check backing the no-allocation bench: fatal, retry and throttle verdicts
    // carry no owned data.
    let policy = Policy::default();
    let d = policy.decide(
        &code(400, "invalid_phone_format"),
        &CALL,
        &first(),
        &Unlimited,
    );
    assert_eq!(d, Decision::Fatal { opted_out: false });
}

/// Regression (review): `[codes.outbound_failed] action = "retry"` bypassed the Twilio table,
/// so a Twilio 21610 (the recipient sent STOP) became a retry. Opt-outs come before any rule.
#[test]
fn twilio_opt_out_is_final_whatever_the_outbound_failed_rule() {
    let config = Config::from_toml_str("[codes.outbound_failed]\naction = \"retry\"").unwrap();
    let policy = Policy::new(config).unwrap();
    let f = Failure::Api(
        ApiError::from_status(502)
            .with_code(ErrorCode::OutboundFailed)
            .with_details(json!({ "twilio_error": 21610 })),
    );
    let c = policy.classify(&f, &CALL);
    assert_eq!((c.action, c.opted_out), (Action::Fatal, true));
}

/// Regression (review): route overrides were tried in alphabetical order, so `"POST *"` beat
/// `"POST /v1/calls"` (`*` sorts before `/`). The most specific pattern wins.
#[test]
fn the_most_specific_route_wins() {
    let config = Config::from_toml_str(
        "[routes.\"POST *\"]\nmax_attempts = 7\n[routes.\"POST /v1/calls\"]\nmax_attempts = 1",
    )
    .unwrap();
    let policy = Policy::new(config).unwrap();
    assert_eq!(policy.limits(&CALL).max_attempts, 1);
    assert_eq!(
        policy
            .limits(&RequestInfo::new(Method::Post, "/v1/messages"))
            .max_attempts,
        7
    );
}

/// Issue 12, item 3: with honoured keys, a 409 for a key still in use means "wait and send
/// the same key again" — never `fatal` while the first request may be placing the call.
#[test]
fn a_key_still_in_use_is_waited_for_never_fatal() {
    use redial_policy::config::Idempotency;
    let mut config = redial_policy::Config::default();
    config.retry.idempotency = Idempotency::Honoured;
    let honoured = Policy::new(config).unwrap();
    let keyed = RequestInfo {
        idempotency_key: true,
        ..CALL
    };
    let in_use = code(409, "idempotency_key_in_use");
    let bare_409 = Failure::Api(ApiError::from_status(409));
    for failure in [&in_use, &bare_409] {
        let c = honoured.classify(failure, &keyed);
        assert_eq!(
            (c.action.clone(), c.side_effect),
            (Action::Retry, SideEffect::MayHaveActed),
            "{failure}"
        );
        assert!(matches!(
            honoured.decide(failure, &keyed, &first(), &Unlimited),
            Decision::Retry { .. }
        ));
    }
    // A documented conflict code keeps its own rule.
    let imported = code(409, "number_already_imported");
    assert_eq!(honoured.classify(&imported, &keyed).action, Action::Fatal);
    // Keys not honoured: the first request may be acting, so a keyless repeat is unsafe.
    assert_eq!(
        Policy::default().decide(&in_use, &keyed, &first(), &Unlimited),
        Decision::Ambiguous
    );
}
