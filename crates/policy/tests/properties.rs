//! Property tests: delays stay within the cap and the deadline; parsing never panics.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use redial_policy::{
    ApiError, Attempt, Backoff, Decision, ErrorCode, Failure, Jitter, Method, Policy, RequestInfo,
    ResponseMeta, Unlimited, parse_retry_after,
};

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        Just(Jitter::None)
    ]
}

proptest! {
    #[test]
    fn backoff_never_exceeds_the_cap(
        j in jitter(), base_ms in 0u64..10_000, mult in 0.0f64..50.0, cap_ms in 0u64..100_000,
        retry in any::<u32>(), prev_ms in 0u64..1_000_000, sample in any::<f64>(),
    ) {
        let b = Backoff::new(j, Duration::from_millis(base_ms), mult, Duration::from_millis(cap_ms));
        let d = b.delay(retry, Duration::from_millis(prev_ms), sample);
        prop_assert!(d <= Duration::from_millis(cap_ms.max(base_ms)));
    }

    #[test]
    fn decisions_never_wait_past_the_deadline(
        status in prop_oneof![Just(429u16), Just(500), Just(502), Just(503), Just(408)],
        number in 1u32..10, elapsed_ms in 0u64..200_000, retry_after in proptest::option::of(0u64..100),
        sample in 0.0f64..1.0,
    ) {
        let policy = Policy::default();
        let mut e = ApiError::from_status(status);
        if status == 429 { e = e.with_code(ErrorCode::RateLimitExceeded); }
        if let Some(s) = retry_after { e = e.with_retry_after(Duration::from_secs(s)); }
        let request = RequestInfo::new(Method::Get, "/v1/agents");
        let attempt = Attempt { number, waits: 0, elapsed: Duration::from_millis(elapsed_ms), previous_delay: Duration::ZERO, jitter: sample };
        let d = policy.decide(&Failure::Api(e), &request, &attempt, &Unlimited);
        if let Decision::Throttle { .. } = d {
            // A throttle is a wait, not an attempt: the transport pauses the account and bounds
            // the request's wait with `pacing.max_pause`, not the deadline.
            prop_assert_eq!(status, 429);
        } else if let Some(after) = d.retry_delay() {
            prop_assert!(attempt.elapsed + after < policy.limits(&request).deadline);
            prop_assert!(after <= Duration::from_secs(60));
        } else {
            let gave_up = matches!(d, Decision::GiveUp { .. });
            prop_assert!(gave_up);
        }
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(
        status in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..512),
        retry_after in ".{0,40}", content_type in proptest::option::of(".{0,30}"), truncated in any::<bool>(),
    ) {
        let meta = ResponseMeta { retry_after: Some(&retry_after), request_id: Some("r"), content_type: content_type.as_deref(), truncated };
        let e = ApiError::parse(status, meta, &body, SystemTime::UNIX_EPOCH);
        prop_assert_eq!(e.status, status);
        let _ = Policy::default().classify(&Failure::Api(e), &RequestInfo::new(Method::Post, "/v1/calls"));
    }

    #[test]
    fn parsing_json_like_bodies_never_panics(
        t in ".{0,20}", c in ".{0,20}", details in ".{0,40}",
    ) {
        let body = format!(r#"{{"error":{{"type":{t:?},"code":{c:?},"details":{details}}}}}"#);
        let _ = ApiError::parse(500, ResponseMeta::default(), body.as_bytes(), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn retry_after_parsing_never_panics(v in "\\PC{0,64}", secs in any::<u64>()) {
        let _ = parse_retry_after(&v, SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 4_000_000_000));
    }
}
