//! Runs the simulator standalone.
//!
//! ```text
//! cargo run -p redial-sim --example serve -- [SCENARIO] [ADDR]
//! ```
//!
//! `SCENARIO` is a TOML file, or a preset: `default`, `demo`, `realistic` or `unlimited`
//! (default: `default`);
//! `ADDR` defaults to `127.0.0.1:8080`. Stops on Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;

use redial_sim::{Scenario, Sim, SimError};

fn scenario(arg: Option<&str>) -> Result<Scenario, SimError> {
    let name = arg.unwrap_or("default");
    match Scenario::preset(name) {
        Some(s) => Ok(s),
        None => Scenario::from_file(Path::new(name)),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = scenario(args.first().map(String::as_str))?;
    let addr: SocketAddr = args
        .get(1)
        .map_or("127.0.0.1:8080", String::as_str)
        .parse()?;
    let sim = Sim::builder()
        .scenario(scenario)
        .listen(addr)
        .start()
        .await?;
    println!("Nixflex simulator listening on {}", sim.base_url());
    println!("Authorization: Bearer demo_key:demo_secret (with the default account)");
    tokio::signal::ctrl_c().await?;
    println!("{}", serde_json::to_string_pretty(&sim.stats())?);
    sim.shutdown().await;
    Ok(())
}
