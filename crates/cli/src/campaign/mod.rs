//! `redial campaign`: dial every contact of a CSV file through the resilient runtime.
//!
//! [`plan`] validates the flags into a [`Plan`]; [`execute`] starts what the plan needs
//! (metrics, an embedded simulator, the progress display, the signal handler), builds the
//! client and hands the contacts to the `redial-campaign` engine.

pub mod fleet;
pub mod plan;
pub mod report;

use std::path::Path;

use anyhow::Context as _;
use redial_campaign::{Campaign, CancelHandle, CsvSource, JsonlSink, Summary};
use redial_sim::{Sim, SimHandle};
use redial_transport::Client;

pub use plan::{Plan, Target};

use crate::args::CampaignArgs;
use crate::exit::{Status, usage};
use crate::progress::Progress;

/// Runs `redial campaign`.
///
/// # Errors
/// A usage error (exit 2) for bad flags or config; I/O errors otherwise.
pub async fn command(args: CampaignArgs) -> anyhow::Result<Status> {
    let plan = Plan::from_args(args)?;
    let summary = execute(plan).await?;
    Ok(exit_status(&summary))
}

/// The exit status a campaign's summary calls for.
pub fn exit_status(summary: &Summary) -> Status {
    if summary.halted_campaign() {
        Status::Halted
    } else if summary.interrupted {
        Status::Interrupted
    } else {
        Status::Ok
    }
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
    let fleet = match &plan.fleet {
        Some(f) => Some(fleet::start(f, &plan.config, &plan.agent, &plan.contacts).await?),
        None => None,
    };
    let client = fleet::client(fleet.as_ref(), Client::builder())
        .base_url(url)
        .api_key(key)
        .config(plan.config)
        .build()
        .map_err(|e| usage(e.to_string()))?;
    let source = CsvSource::open_counted(&plan.contacts)?;
    let sink = report::CliSink {
        inner: JsonlSink::create(&plan.out)
            .with_context(|| format!("cannot create results file {}", plan.out.display()))?,
        contacts: plan.contacts.clone(),
        support: match &plan.support_out {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => None,
        },
    };
    let cancel = CancelHandle::new();
    crate::interrupt::cancel_on_signal(cancel.clone());
    let mut builder = Campaign::builder(client.clone())
        .agent(plan.agent)
        .suppression(plan.suppress)
        .in_flight(plan.in_flight)
        .cancel_handle(cancel);
    if let Some(from) = plan.from {
        builder = builder.from_number(from);
    }
    if let Some(journal) = plan.journal {
        builder = builder.journal(journal);
    }
    if let Some(journal) = fleet::journal(fleet.as_ref()) {
        builder = builder.shared_journal(journal);
    }
    let campaign = builder.build().map_err(|e| usage(e.to_string()))?;
    let progress = Progress::start(campaign.progress(), client, plan.progress);
    let source = fleet::source(fleet.as_ref(), source, campaign.cancel_handle());
    let result = campaign.run(source, sink).await;
    fleet::finish(fleet).await;
    let min_rate = progress.finish().await;
    let mut summary = result?;
    summary.min_account_rate = min_rate;
    if let Some(sim) = &sim {
        add_sim_stats(&mut summary, sim);
    }
    eprint!("{}", summary.render());
    if plan.out != Path::new("-") {
        eprintln!("results: {}", plan.out.display());
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
    redial_campaign::metrics::describe();
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
