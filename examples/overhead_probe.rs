//! A second measure of the client's overhead, beside `benches/overhead.rs`: `GET /v1/agents`
//! through raw reqwest and through redial, 32 in flight, against an unlimited, fault-free
//! simulator on loopback. Both decode the same typed body.
//!
//! ```sh
//! cargo run --release --example overhead_probe -- compare [PAIRS] [sustained|batches]
//! cargo run --release --example overhead_probe -- raw|redial [ROUNDS] [sustained|batches]
//! ```
//!
//! `compare` alternates blocks of 6,400 requests through raw reqwest and through redial in one
//! process, `PAIRS` times (default 40), and prints the median and quartiles of redial's
//! throughput over raw's in each adjacent pair: alternating cancels the slow drifts of a
//! shared machine that make two separate runs disagree by several percent. `raw` and `redial`
//! time one client alone (a round is 32 requests), for profilers such as callgrind.
//!
//! `sustained` keeps 32 requests in flight (the default); `batches` starts 32 together and
//! waits for all of them before the next 32. The requests run in a task on a default
//! multi-thread runtime (one worker per core), beside the connections' tasks, as a dialer's do.

#[path = "../benches/support/overhead_workload.rs"]
mod overhead_workload;

use std::sync::Arc;

use overhead_workload::{Clients, IN_FLIGHT, Shape};
use redial::sim::{Scenario, Sim};

/// Rounds of one block of `compare`: 6,400 requests.
const COMPARE_ROUNDS: u64 = 200;

/// Runs `rounds` rounds of requests made by `request`; returns requests per second.
async fn run<F, Fut>(rounds: u64, shape: Shape, request: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let elapsed = shape.run(rounds, request).await;
    (rounds * IN_FLIGHT as u64) as f64 / elapsed.as_secs_f64()
}

/// Alternates raw and redial blocks `pairs` times; returns redial / raw of each pair.
async fn compare(clients: &Clients, pairs: u64, shape: Shape) -> Vec<f64> {
    // Warm both pools and both code paths first.
    run(COMPARE_ROUNDS, shape, || clients.raw()).await;
    run(COMPARE_ROUNDS, shape, || clients.redial()).await;
    let mut ratios = Vec::new();
    for i in 0..pairs {
        // Alternate which goes first, so neither always runs on a machine the other warmed.
        let (raw, redial) = if i % 2 == 0 {
            let raw = run(COMPARE_ROUNDS, shape, || clients.raw()).await;
            (raw, run(COMPARE_ROUNDS, shape, || clients.redial()).await)
        } else {
            let redial = run(COMPARE_ROUNDS, shape, || clients.redial()).await;
            (run(COMPARE_ROUNDS, shape, || clients.raw()).await, redial)
        };
        ratios.push(redial / raw);
    }
    ratios
}

/// The `q` quantile (0..=1) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "compare".to_owned());
    let count: Option<u64> = args.next().map(|r| r.parse()).transpose()?;
    let shape = match args.next().as_deref() {
        None | Some("sustained") => Shape::Sustained,
        Some("batches") => Shape::Batches,
        Some(other) => return Err(format!("unknown load shape {other:?}").into()),
    };
    if !matches!(mode.as_str(), "compare" | "raw" | "redial") {
        return Err(format!("unknown mode {mode:?}: compare, raw or redial").into());
    }
    let sim = Sim::builder()
        .scenario(Scenario::unlimited())
        .start_background()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let clients = Arc::new(Clients::new(&sim.base_url()));
    let work = async move {
        match mode.as_str() {
            "compare" => {
                let mut ratios = compare(&clients, count.unwrap_or(40), shape).await;
                ratios.sort_by(f64::total_cmp);
                println!(
                    "redial / raw over {} alternating pairs of 6,400 requests: median {:.1} % \
                     (quartiles {:.1} – {:.1} %)",
                    ratios.len(),
                    quantile(&ratios, 0.5) * 100.0,
                    quantile(&ratios, 0.25) * 100.0,
                    quantile(&ratios, 0.75) * 100.0,
                );
            }
            "raw" => {
                let rate = run(count.unwrap_or(1_500), shape, || clients.raw()).await;
                println!("raw: {rate:.0} req/s");
            }
            _ => {
                let rate = run(count.unwrap_or(1_500), shape, || clients.redial()).await;
                println!("redial: {rate:.0} req/s");
            }
        }
    };
    // In a task on the workers, beside the connections' tasks.
    runtime.block_on(runtime.spawn(work))?;
    Ok(())
}
