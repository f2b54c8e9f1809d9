//! Overhead of the redial client over raw reqwest: the same requests (`GET /v1/agents`, typed
//! decode of the body in both) through an unlimited, fault-free simulator on loopback, 32 in
//! flight. The goal is at least 95% of raw reqwest's throughput (docs/benchmarks.md).
//!
//! The requests run in a task on a default multi-thread runtime (one worker per core), as a
//! dialer's do. Two load shapes:
//! - `sustained`: 32 requests always in flight; as one ends the next starts (how a dialer
//!   works). Throughput in its plain sense: the machine is never idle, so every cycle the
//!   client adds is paid for.
//! - `batches`: 32 requests started together and all awaited before the next 32; the slowest
//!   of each batch sets the pace.
//!
//! `cargo bench --bench overhead`

#[path = "support/overhead_workload.rs"]
mod overhead_workload;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overhead_workload::{Clients, IN_FLIGHT, Shape};
use redial::sim::{Scenario, Sim};

fn bench(c: &mut Criterion) {
    let sim = Sim::builder()
        .scenario(Scenario::unlimited())
        .start_background()
        .expect("simulator starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    let clients = Arc::new(Clients::new(&sim.base_url()));

    for (group_name, shape) in [
        ("get_agents_sustained_32_in_flight", Shape::Sustained),
        ("get_agents_batches_of_32", Shape::Batches),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(IN_FLIGHT as u64));
        group.measurement_time(Duration::from_secs(5));
        for (name, redial) in [("raw_reqwest", false), ("redial_client", true)] {
            group.bench_function(name, |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    // In a task on the runtime's workers, beside the connections' tasks.
                    let clients = Arc::clone(&clients);
                    let task = runtime.spawn(async move {
                        if redial {
                            shape.run(iters, || clients.redial()).await
                        } else {
                            shape.run(iters, || clients.raw()).await
                        }
                    });
                    async move { task.await.expect("benchmark task") }
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
