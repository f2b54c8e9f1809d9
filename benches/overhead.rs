//! Overhead of the redial client over raw reqwest: the same requests through an unlimited,
//! fault-free simulator on loopback, 32 in flight. The goal is at least 95% of raw reqwest's
//! throughput (docs/benchmarks.md).
//!
//! `cargo bench --bench overhead`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use redial::policy::config::{BucketConfig, Config};
use redial::sim::{Scenario, Sim};
use redial::transport::{ApiKey, Client};

const IN_FLIGHT: usize = 32;

#[derive(serde::Deserialize)]
struct List {
    data: Vec<redial::transport::Agent>,
}
const KEY: &str = "demo_key:demo_secret";

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
        .unwrap();

    let raw = reqwest::Client::new();
    let mut config = Config::default();
    config.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 1e6,
        burst: 1_000_000,
    }];
    let client = runtime.block_on(async {
        Client::builder()
            .base_url(sim.base_url())
            .api_key(ApiKey::parse(KEY).unwrap())
            .config(config)
            .build()
            .unwrap()
    });

    let mut group = c.benchmark_group("get_agents_32_in_flight");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let requests = (0..IN_FLIGHT).map(|_| async {
                let response = raw.get(&url).bearer_auth(KEY).send().await.unwrap();
                // The same typed decode the client does, so only the runtime's work differs.
                let body: List = response.json().await.unwrap();
                black_box(body.data);
            });
            join_all(requests).await;
        });
    });
    group.bench_function("redial_client", |b| {
        b.to_async(&runtime).iter(|| async {
            let requests =
                (0..IN_FLIGHT).map(|_| async { black_box(client.agents().list().await.unwrap()) });
            join_all(requests).await;
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
