//! Embedding the campaign engine: a small campaign from an in-memory source into an
//! in-memory sink, against a redial-sim started on 127.0.0.1.
//!
//! ```sh
//! cargo run -p redial-campaign --example embed
//! ```

use redial_campaign::{Campaign, Contact, MemoryJournal, MemorySink, MemorySource};
use redial_sim::{Scenario, Sim};
use redial_transport::{ApiKey, Client};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A simulated Nixflex account: its seeded key and agent, calls of a second or two.
    let mut scenario = Scenario::default();
    scenario.calls.duration_min = std::time::Duration::from_millis(500);
    scenario.calls.duration_max = std::time::Duration::from_millis(1500);
    let sim = Sim::builder().scenario(scenario).start().await?;

    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse("demo_key:demo_secret")?)
        .build()?;
    let campaign = Campaign::builder(client)
        .agent("agent_demo")
        .journal(MemoryJournal::default())
        .build()?;
    let stop = campaign.cancel_handle(); // stop.cancel() drains and returns early

    let contacts = (1..=12).map(|i| {
        Contact::new(format!("+4474464668{i:02}"))
            .at_line(i)
            .with_field("name", format!("contact {i}"))
    });
    let sink = MemorySink::new();
    let summary = campaign
        .run(MemorySource::from_contacts(contacts), sink.clone())
        .await?;
    drop(stop);

    for outcome in sink.outcomes() {
        println!(
            "{:<15} {:<10} call {:<14} {}",
            outcome.phone,
            outcome.status,
            outcome.call_id.as_deref().unwrap_or("-"),
            outcome.call_status.as_deref().unwrap_or("")
        );
    }
    print!("{}", summary.render());
    sim.shutdown().await;
    Ok(())
}
