//! `redial campaign`: dial every contact of a CSV file through the resilient runtime.
//!
//! [`plan`] validates the flags into a [`Plan`]; [`execute`] starts what the plan needs
//! (metrics, an embedded simulator), builds the client and hands the loop to [`runner`].

pub mod metrics;
pub mod outcome;
pub mod plan;
pub mod runner;

use std::path::Path;

use anyhow::Context as _;
use redial_policy::config::Idempotency;
use redial_sim::{Sim, SimHandle};
use redial_transport::Client;

pub use plan::{Plan, Target};

use crate::args::CampaignArgs;
use crate::exit::{Status, usage};
use crate::summary::Summary;

/// Runs `redial campaign`.
///
/// # Errors
/// A usage error (exit 2) for bad flags or config; I/O errors otherwise.
pub async fn command(args: CampaignArgs) -> anyhow::Result<Status> {
    let plan = Plan::from_args(args)?;
    let summary = execute(plan).await?;
    Ok(if summary.halted_campaign() {
        Status::Halted
    } else if summary.interrupted {
        Status::Interrupted
    } else {
        Status::Ok
    })
}

/// Runs a validated plan and prints its summary on stderr.
///
/// # Errors
/// A usage error when metrics cannot be served or the client cannot be built; I/O errors.
pub async fn execute(plan: Plan) -> anyhow::Result<Summary> {
    if let Some(addr) = plan.metrics_addr {
        serve_metrics(addr)?;
    }
    let (url, key, sim) = match plan.target {
        Target::Embedded { scenario, key } => {
            let sim = Sim::builder()
                .scenario(*scenario)
                .start()
                .await
                .context("cannot start the embedded simulator")?;
            eprintln!(
                "embedded Nixflex simulator at {} (key demo_key:demo_secret)",
                sim.base_url()
            );
            (sim.base_url(), key, Some(sim))
        }
        Target::Remote { url, key } => (url, key, None),
    };
    let honoured = plan.config.retry.idempotency == Idempotency::Honoured;
    let client = Client::builder()
        .base_url(url)
        .api_key(key)
        .config(plan.config)
        .build()
        .map_err(|e| usage(e.to_string()))?;
    let out = plan.out.clone();
    let start = redial_limiter::clock::now();
    let campaign = runner::Campaign {
        contacts: plan.contacts,
        agent: plan.agent,
        from: plan.from,
        out: plan.out,
        journal: plan.journal,
        suppress: plan.suppress,
        progress: plan.progress,
        in_flight: plan.in_flight,
        honoured,
        interrupt: crate::interrupt::Interrupt::watch(),
    };
    let mut summary = runner::run(campaign, &client).await?;
    summary.duration = redial_limiter::clock::now().saturating_duration_since(start);
    if let Some(sim) = &sim {
        add_sim_stats(&mut summary, sim);
    }
    eprint!("{}", summary.render());
    if out != Path::new("-") {
        eprintln!("results: {}", out.display());
    }
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    Ok(summary)
}

/// Installs the Prometheus exporter on `addr` and describes the campaign's own metrics.
///
/// # Errors
/// A usage error naming the address when it cannot be served.
pub fn serve_metrics(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    crate::telemetry::install(addr).map_err(|e| usage(format!("--metrics-addr: {e}")))?;
    metrics::describe();
    eprintln!("metrics: http://{addr}/metrics");
    Ok(())
}

fn add_sim_stats(summary: &mut Summary, sim: &SimHandle) {
    let stats = sim.stats();
    summary.throttles = Some(
        stats
            .rate_limited
            .get("rate_limit_exceeded")
            .copied()
            .unwrap_or(0),
    );
    summary.slot_limit_hits = Some(
        stats
            .rate_limited
            .get("concurrent_call_limit")
            .copied()
            .unwrap_or(0),
    );
}
