//! `decide` for a known code and one backoff delay: the per-failure cost of the policy.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use redial_policy::{
    ApiError, Attempt, Backoff, ErrorCode, Failure, Jitter, Method, Policy, RequestInfo, Unlimited,
};

fn bench(c: &mut Criterion) {
    let policy = Policy::default();
    let request = RequestInfo::new(Method::Post, "/v1/calls");
    let attempt = Attempt {
        waits: 0,
        number: 2,
        elapsed: Duration::from_secs(1),
        previous_delay: Duration::from_millis(100),
        jitter: 0.4,
    };
    let fatal = Failure::Api(ApiError::from_status(400).with_code(ErrorCode::InvalidPhoneFormat));
    let throttle = Failure::Api(
        ApiError::from_status(429)
            .with_code(ErrorCode::RateLimitExceeded)
            .with_retry_after(Duration::from_secs(1)),
    );
    let unknown =
        Failure::Api(ApiError::from_status(503).with_code(ErrorCode::from_name("new_code")));
    c.bench_function("decide/known_code_fatal", |b| {
        b.iter(|| policy.decide(black_box(&fatal), &request, &attempt, &Unlimited))
    });
    c.bench_function("decide/known_code_throttle", |b| {
        b.iter(|| policy.decide(black_box(&throttle), &request, &attempt, &Unlimited))
    });
    c.bench_function("decide/unknown_code_fallback", |b| {
        b.iter(|| policy.decide(black_box(&unknown), &request, &attempt, &Unlimited))
    });
    let backoff = Backoff::new(
        Jitter::Full,
        Duration::from_millis(100),
        2.0,
        Duration::from_secs(20),
    );
    c.bench_function("backoff/full_jitter_delay", |b| {
        b.iter(|| backoff.delay(black_box(4), Duration::ZERO, black_box(0.37)))
    });
    let dec = Backoff::new(
        Jitter::Decorrelated,
        Duration::from_millis(100),
        2.0,
        Duration::from_secs(20),
    );
    c.bench_function("backoff/decorrelated_delay", |b| {
        b.iter(|| dec.delay(black_box(4), Duration::from_millis(300), black_box(0.37)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
