//! Overhead of the redial client over raw reqwest: the same requests (`GET /v1/agents`, typed
//! decode of the body in both) through an unlimited, fault-free simulator on loopback, 32 in
//! flight. The goal is at least 95% of raw reqwest's throughput (docs/benchmarks.md).
//!
//! Two load shapes:
//! - `sustained`: 32 requests always in flight; as one ends the next starts (how a dialer
//!   works). Throughput in its plain sense, and the goal's measure.
//! - `batches`: 32 requests started together and all awaited before the next 32; the slowest
//!   of each batch sets the pace, so this shape also charges per-request latency.
//!
//! `cargo bench --bench overhead`

use std::future::Future;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::future::join_all;
use redial::limiter::clock;
use redial::policy::config::{BucketConfig, Config};
use redial::sim::{Scenario, Sim};
use redial::transport::{Agent, ApiKey, Client};

const IN_FLIGHT: usize = 32;
const KEY: &str = "demo_key:demo_secret";

#[derive(serde::Deserialize)]
struct List {
    data: Vec<Agent>,
}

/// Runs `n` requests made by `request`, keeping [`IN_FLIGHT`] of them in flight.
async fn sustained<F, Fut>(n: u64, request: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let started = clock::now();
    futures::stream::iter(0..n)
        .map(|_| request())
        .buffer_unordered(IN_FLIGHT)
        .for_each(|len| {
            black_box(len);
            async {}
        })
        .await;
    clock::now().saturating_duration_since(started)
}

/// Runs one batch of [`IN_FLIGHT`] requests made by `request` and waits for all of them.
async fn batch<F, Fut>(request: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    black_box(join_all((0..IN_FLIGHT).map(|_| request())).await);
}

fn bench(c: &mut Criterion) {
    let sim = Sim::builder()
        .scenario(Scenario::unlimited())
        .start_background()
        .expect("simulator starts");
    let url = format!("{}/v1/agents", sim.base_url());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime builds");

    let raw = reqwest::Client::new();
    let raw_request = || async {
        let response = raw
            .get(&url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sim answers");
        // The same typed decode the client does, so only the runtime's work differs.
        let list: List = response.json().await.expect("agents list");
        list.data.len()
    };

    let mut config = Config::default();
    config.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 1e6,
        burst: 1_000_000,
    }];
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(KEY).expect("valid key"))
        .config(config)
        .build()
        .expect("client builds");
    let redial_request = || async { client.agents().list().await.expect("sim answers").len() };

    let mut group = c.benchmark_group("get_agents_sustained_32_in_flight");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| sustained(iters * IN_FLIGHT as u64, raw_request));
    });
    group.bench_function("redial_client", |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| sustained(iters * IN_FLIGHT as u64, redial_request));
    });
    group.finish();

    let mut group = c.benchmark_group("get_agents_batches_of_32");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| batch(raw_request));
    });
    group.bench_function("redial_client", |b| {
        b.to_async(&runtime).iter(|| batch(redial_request));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
