//! Acquires per second through `RedisPacer` against a local `redis-server`, with 1, 8 and 64
//! concurrent callers, at a rate so high that nobody waits: what the pacer's round trip costs.
//! Compare with `redis-benchmark -n 100000 -c 50 EVAL "return 1" 0` on the same machine
//! (docs/fleet.md).
//!
//! Run: `cargo bench -p redial-limiter --features redis --bench redis_acquire -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redial_limiter::Pacer;
use redial_limiter::redis::{FleetConfig, RedisFleet, RedisPacer};
use redial_policy::Method;
use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig};

/// A rate so high that the bucket never makes anyone wait.
const UNTHROTTLED: f64 = 1e9;

fn config() -> PacingConfig {
    PacingConfig {
        max_pause: None,
        in_flight: Default::default(),
        buckets: vec![BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate: UNTHROTTLED,
            burst: 1_000_000,
        }],
        adaptive: AdaptiveConfig {
            enabled: false,
            ..AdaptiveConfig::default()
        },
    }
}

fn bench(c: &mut Criterion) {
    let Some(server) = support::RedisServer::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pacer: Arc<RedisPacer> = rt.block_on(async {
        let fleet = RedisFleet::new(FleetConfig::new(server.url(), "bench")).unwrap();
        Arc::new(fleet.pacer(&config()).unwrap())
    });
    let mut g = c.benchmark_group("redis_acquire");
    g.throughput(Throughput::Elements(1));
    for callers in [1u64, 8, 64] {
        g.bench_function(format!("{callers}_callers"), |b| {
            #[allow(clippy::disallowed_methods)] // a bench measures real time
            b.iter_custom(|iters| {
                let per = iters.div_ceil(callers);
                let start = std::time::Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = (0..callers)
                        .map(|_| {
                            let pacer = Arc::clone(&pacer);
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    pacer.acquire(Method::Post, "/v1/calls").await;
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                // Per acquire: the work was `per * callers` acquires.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * callers) as f64)
            })
        });
    }
    g.finish();
    drop(pacer);
    drop(rt);
    drop(server);
}

criterion_group!(benches, bench);
criterion_main!(benches);
