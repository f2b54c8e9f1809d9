//! redial: a resilient client runtime for the Nixflex voice-agent API.
//!
//! This facade re-exports the crates of the workspace:
//!
//! - [`policy`]: the error model, classification, backoff and configuration (pure decisions);
//! - [`limiter`]: request pacing, adaptive rate, call slots, circuit breaker, retry budget;
//! - [`transport`]: the client that puts them to work ([`Client`]);
//! - [`campaign`]: the campaign engine dialers embed (contacts in, one outcome each out);
//! - [`sim`]: a Nixflex API simulator for tests, benchmarks and demos.
//!
//! ```no_run
//! use redial::{ApiKey, Client, Config, Error, NewCall};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .base_url("https://api.nixflex.example")
//!     .api_key(ApiKey::parse(&std::env::var("NIXFLEX_API_KEY")?)?)
//!     .config(Config::from_file("policy.toml".as_ref())?)
//!     .build()?;
//! match client.calls().create(&NewCall::new("agent_1", "+447446466847")).await {
//!     Ok(placed) => {
//!         let done = client.calls().wait_until_done(&placed.call.id).await?;
//!         println!("{} ended {}", done.id, done.status);
//!     } // the slot is dropped here: the call has ended
//!     Err(Error::Ambiguous { .. }) => println!("the call may exist: reconcile before redialling"),
//!     Err(e) => println!("not placed: {e}"),
//! }
//! # Ok(()) }
//! ```

pub use redial_campaign as campaign;
pub use redial_limiter as limiter;
pub use redial_policy as policy;
pub use redial_sim as sim;
pub use redial_transport as transport;

pub use redial_policy::Config;
pub use redial_transport::{ApiKey, Client, Error, NewCall, NewMessage};

/// The README's code blocks, compiled as doc tests so the embedding example keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
