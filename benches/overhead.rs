//! Overhead of the redial client over raw reqwest: the same requests (`GET /v1/agents`, typed
//! decode of the body in both) through an unlimited, fault-free simulator on loopback, 32 in
//! flight. The goal is at least 95% of raw reqwest's throughput (docs/benchmarks.md).
//!
//! The requests run in a task on a default multi-thread runtime (one worker per core), as a
//! dialer's do. Two load shapes:
//! - `sustained`: 32 requests always in flight; as one ends the next starts (how a dialer
//!   works). Throughput in its plain sense: the machine is never idle, so every instruction
//!   and cache miss the client adds is paid for.
//! - `batches`: 32 requests started together and all awaited before the next 32; the slowest
//!   of each batch sets the pace.
//!
//! `cargo bench --bench overhead`

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
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

/// The two clients under test.
struct Clients {
    raw: reqwest::Client,
    url: String,
    redial: Client,
}

impl Clients {
    async fn raw(&self) -> usize {
        let response = self
            .raw
            .get(&self.url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sim answers");
        // The same typed decode the client does, so only the runtime's work differs.
        let list: List = response.json().await.expect("agents list");
        list.data.len()
    }

    async fn redial(&self) -> usize {
        self.redial
            .agents()
            .list()
            .await
            .expect("sim answers")
            .len()
    }
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

/// Runs `n` batches of [`IN_FLIGHT`] requests made by `request`, each awaited in full.
async fn batches<F, Fut>(n: u64, request: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let started = clock::now();
    for _ in 0..n {
        black_box(join_all((0..IN_FLIGHT).map(|_| request())).await);
    }
    clock::now().saturating_duration_since(started)
}

fn bench(c: &mut Criterion) {
    let sim = Sim::builder()
        .scenario(Scenario::unlimited())
        .start_background()
        .expect("simulator starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    let mut config = Config::default();
    config.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 1e6,
        burst: 1_000_000,
    }];
    let clients = Arc::new(Clients {
        raw: reqwest::Client::new(),
        url: format!("{}/v1/agents", sim.base_url()),
        redial: Client::builder()
            .base_url(sim.base_url())
            .api_key(ApiKey::parse(KEY).expect("valid key"))
            .config(config)
            .build()
            .expect("client builds"),
    });

    for shape in [Shape::Sustained, Shape::Batches] {
        let mut group = c.benchmark_group(shape.group_name());
        group.throughput(Throughput::Elements(IN_FLIGHT as u64));
        group.measurement_time(Duration::from_secs(5));
        for (name, redial) in [("raw_reqwest", false), ("redial_client", true)] {
            group.bench_function(name, |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    // In a task on the runtime's workers, beside the connections' tasks.
                    let task = runtime.spawn(shape.run(Arc::clone(&clients), redial, iters));
                    async move { task.await.expect("benchmark task") }
                });
            });
        }
        group.finish();
    }
}

/// Load shape of a benchmark group.
#[derive(Clone, Copy)]
enum Shape {
    Sustained,
    Batches,
}

impl Shape {
    fn group_name(self) -> &'static str {
        match self {
            Shape::Sustained => "get_agents_sustained_32_in_flight",
            Shape::Batches => "get_agents_batches_of_32",
        }
    }

    /// Runs `iters` iterations (32 requests each) through raw reqwest or redial.
    async fn run(self, clients: Arc<Clients>, redial: bool, iters: u64) -> Duration {
        match (self, redial) {
            (Shape::Sustained, false) => {
                sustained(iters * IN_FLIGHT as u64, || clients.raw()).await
            }
            (Shape::Sustained, true) => {
                sustained(iters * IN_FLIGHT as u64, || clients.redial()).await
            }
            (Shape::Batches, false) => batches(iters, || clients.raw()).await,
            (Shape::Batches, true) => batches(iters, || clients.redial()).await,
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
