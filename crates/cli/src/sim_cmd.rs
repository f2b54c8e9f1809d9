//! `redial sim`: the Nixflex simulator standalone, until Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use clap::ValueEnum as _;
use redial_sim::{Scenario, Sim};

use crate::args::SimArgs;
use crate::exit::{Status, usage};

/// Runs `redial sim`.
///
/// # Errors
/// A usage error (exit 2) for a bad scenario or listen address.
pub async fn command(args: SimArgs) -> anyhow::Result<Status> {
    let scenario = match &args.config {
        Some(path) => Scenario::from_file(path)
            .map_err(|e| usage(format!("--config {}: {e}", path.display())))?,
        // Presets by name: every `--preset` value is a `Scenario::preset` name, so a preset
        // added to the simulator only needs its value in `SimPreset`.
        None => {
            let name = args
                .preset
                .to_possible_value()
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            Scenario::preset(&name).ok_or_else(|| {
                usage(format!(
                    "--preset {name}: unknown; the simulator has {}",
                    Scenario::PRESET_NAMES.join(", ")
                ))
            })?
        }
    };
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        usage(format!(
            "--listen {:?}: expected IP:PORT like 127.0.0.1:8080",
            args.listen
        ))
    })?;
    let sim = Sim::builder()
        .scenario(scenario)
        .listen(listen)
        .start()
        .await
        .map_err(|e| usage(format!("cannot start the simulator: {e}")))?;
    println!("Nixflex simulator listening on {}", sim.base_url());
    println!("API key: demo_key:demo_secret   agent: agent_demo   (Ctrl-C to stop)");
    println!(
        "try: redial campaign --api-url {} --api-key demo_key:demo_secret --agent agent_demo --contacts contacts.csv",
        sim.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    // Ignore a closed stdout (e.g. piped into `head`): the stats are a courtesy.
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&sim.stats())?
    );
    sim.shutdown().await;
    Ok(Status::Ok)
}
