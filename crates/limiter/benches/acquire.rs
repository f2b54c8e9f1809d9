//! Overhead of `Pacer::acquire` on an unthrottled bucket against a bare governor `check`, and
//! of a place on the wire (`InFlightGate::acquire` then `answered`) when one is free.
//!
//! Run: `cargo bench -p redial-limiter --bench acquire -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use governor::{Quota, RateLimiter};
use redial_limiter::clock::TokioClock;
use redial_limiter::{InFlightGate, InProcessPacer, Pacer};
use redial_policy::Method;
use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig};

/// A rate so high that the bucket never makes anyone wait.
const UNTHROTTLED: f64 = 1e12;

fn config() -> PacingConfig {
    PacingConfig {
        buckets: vec![BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate: UNTHROTTLED,
            burst: u32::MAX / 2,
        }],
        adaptive: AdaptiveConfig::default(),
        max_pause: None,
        in_flight: Default::default(),
    }
}

/// Wall time for each of two threads to run `op` `iters` times while the other does the same.
#[allow(clippy::disallowed_methods)] // a bench measures real time, not the limiter's clock
fn on_two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..iters {
                    op();
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("acquire");
    let quota = Quota::per_second(NonZeroU32::new(u32::MAX).unwrap())
        .allow_burst(NonZeroU32::new(u32::MAX / 2).unwrap());
    let bare = RateLimiter::direct_with_clock(quota, TokioClock);
    g.bench_function("governor_check", |b| {
        b.iter(|| black_box(bare.check()).is_ok())
    });
    g.bench_function("governor_check_2_threads", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, || {
                let _ = black_box(bare.check());
            })
        })
    });

    let pacer = InProcessPacer::new(&config());
    let acquire = || {
        pacer
            .acquire(Method::Get, black_box("/v1/agents"))
            .now_or_never()
            .expect("never waits")
    };
    g.bench_function("pacer_acquire", |b| b.iter(acquire));
    g.bench_function("pacer_acquire_2_threads", |b| {
        b.iter_custom(|iters| on_two_threads(iters, acquire))
    });

    let gate = InFlightGate::new(&Default::default());
    let place = || {
        gate.acquire()
            .now_or_never()
            .expect("a place is free")
            .answered(black_box("GET /v1/agents"));
    };
    g.bench_function("in_flight_place", |b| b.iter(place));
    g.bench_function("in_flight_place_2_threads", |b| {
        b.iter_custom(|iters| on_two_threads(iters, place))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
