//! The clean handler pattern for embedders: match on `Error`, branch on `code` (never on
//! `message`), and log or report what each outcome needs. Runs against the embedded simulator:
//!
//! `cargo run --example handling_errors`

use redial::policy::{ErrorCode, HaltScope};
use redial::sim::{Scenario, Sim};
use redial::transport::{ApiKey, Client, Error, NewCall};

/// What the dialer does with one contact after one create attempt.
#[derive(Debug)]
enum Next {
    /// The call was placed; its id is kept.
    Placed(String),
    /// Never contact again (the recipient opted out): add to the suppression list.
    Suppress,
    /// This contact cannot be dialled as given; fix the data.
    FixContact(String),
    /// The call may exist: reconcile (look it up) before any redial.
    Reconcile,
    /// Stop the campaign (account) or every contact of this agent/sender.
    Stop(HaltScope),
    /// Try this contact again later (limits, outages); nothing was placed.
    Later(String),
}

async fn dial(client: &Client, agent: &str, phone: &str) -> Next {
    match client.calls().create(&NewCall::new(agent, phone)).await {
        Ok(placed) => {
            let id = placed.call.id.clone();
            // Keep `placed.slot` until the call ends; here we just let it go.
            drop(placed);
            Next::Placed(id)
        }
        Err(e) if e.is_opted_out() => Next::Suppress,
        Err(e @ (Error::Fatal { .. } | Error::InvalidInput(_))) => Next::FixContact(why(&e)),
        Err(Error::Ambiguous { detail, .. }) => {
            if let Some(report) = &detail.support {
                eprintln!("support report for Nixflex:\n{}", report.to_json());
            }
            Next::Reconcile
        }
        Err(Error::Halted { scope, .. }) => Next::Stop(scope),
        Err(e) => {
            // Exhausted, Timeout, CircuitOpen, BudgetExhausted, and variants added later.
            if let Some(report) = e.support_report() {
                eprintln!("support report for Nixflex:\n{}", report.to_json());
            }
            Next::Later(e.outcome().to_owned())
        }
    }
}

/// Branches on the code, never the message: the message may be reworded at any time.
fn why(err: &Error) -> String {
    match err.code() {
        Some(ErrorCode::InvalidPhoneFormat) => "not an E.164 number".into(),
        Some(ErrorCode::OutboundFailed) => {
            let twilio = err.api_error().and_then(|e| e.twilio_error());
            format!("Twilio refused the number (Twilio code {twilio:?})")
        }
        Some(other) => other.as_str().to_owned(),
        None => err.outcome().to_owned(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Sim::builder().scenario(Scenario::default()).start().await?;
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(ApiKey::parse("demo_key:demo_secret")?)
        .build()?;
    for (agent, phone) in [
        ("agent_demo", "+447446466847"),
        ("agent_demo", "+14155559999"),
        ("agent_demo", "+15005550001"),
        ("agent_demo", "0044 7446"),
        ("agent_nophone", "+447446466848"),
    ] {
        match dial(&client, agent, phone).await {
            Next::Placed(id) => println!("{phone}: placed {id}"),
            Next::Suppress => println!("{phone}: opted out, suppress it"),
            Next::FixContact(why) => println!("{phone}: cannot dial as given: {why}"),
            Next::Reconcile => println!("{phone}: may have been called, reconcile first"),
            Next::Stop(scope) => println!("{phone}: stop {scope}"),
            Next::Later(why) => println!("{phone}: try later ({why})"),
        }
    }
    Ok(())
}
