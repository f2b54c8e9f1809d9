//! A second measure of the client's overhead, beside `benches/overhead.rs`: the wall time of
//! a fixed number of requests (`GET /v1/agents`, 32 in flight) through raw reqwest or through
//! redial, against an unlimited, fault-free simulator on loopback. Both decode the same typed
//! body. Run each mode many times, interleaved, and compare medians (docs/benchmarks.md):
//!
//! `cargo run --release --example overhead_probe -- raw|redial [ROUNDS]`

use std::time::Duration;

use futures::future::join_all;
use redial::limiter::clock;
use redial::policy::config::{BucketConfig, Config};
use redial::sim::{Scenario, Sim};
use redial::transport::{Agent, ApiKey, Client};

const KEY: &str = "demo_key:demo_secret";
const IN_FLIGHT: usize = 32;

#[derive(serde::Deserialize)]
struct List {
    data: Vec<Agent>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "redial".to_owned());
    let rounds: usize = args.next().map_or(Ok(1_500), |r| r.parse())?;
    let sim = Sim::builder()
        .scenario(Scenario::unlimited())
        .start_background()?;
    let url = format!("{}/v1/agents", sim.base_url());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let raw = reqwest::Client::new();
    let mut config = Config::default();
    config.pacing.buckets = vec![BucketConfig {
        name: "account".into(),
        routes: vec!["*".into()],
        rate: 1e6,
        burst: 1_000_000,
    }];
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse(KEY)?)
        .config(config)
        .build()?;
    let elapsed: Duration =
        runtime.block_on(async {
            let started = clock::now();
            for _ in 0..rounds {
                if mode == "raw" {
                    join_all((0..IN_FLIGHT).map(|_| async {
                        let response = raw
                            .get(&url)
                            .bearer_auth(KEY)
                            .send()
                            .await
                            .expect("sim answers");
                        let list: List = response.json().await.expect("agents list");
                        list.data.len()
                    }))
                    .await;
                } else {
                    join_all((0..IN_FLIGHT).map(|_| async {
                        client.agents().list().await.expect("sim answers").len()
                    }))
                    .await;
                }
            }
            clock::now().saturating_duration_since(started)
        });
    let requests = rounds * IN_FLIGHT;
    println!(
        "{mode}: {requests} requests in {:.3} s = {:.0} req/s",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
