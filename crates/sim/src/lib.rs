//! redial-sim: a Nixflex API simulator.
//!
//! Every test, benchmark and demo of redial runs against this server instead of the real
//! API, because the real API cannot be made to fail on demand. It is a real HTTP/1.1 server
//! on 127.0.0.1 that implements the endpoints and error codes of the Nixflex error contract
//! (see `docs/simulator.md`) with an account rate limit (GCRA), a concurrent-call limit, call
//! lifecycles, idempotency keys, and seeded fault injection down to the TCP level (resets and
//! truncated bodies).
//!
//! ```no_run
//! # async fn run() -> Result<(), redial_sim::SimError> {
//! use redial_sim::{Scenario, Sim};
//!
//! let sim = Sim::builder().scenario(Scenario::demo()).start().await?;
//! // point the client at sim.base_url() with `Authorization: Bearer demo_key:demo_secret`
//! let stats = sim.stats();
//! assert_eq!(stats.duplicate_dials, 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod api_error;
mod builder;
mod clock;
mod conn;
mod error;
mod faults;
mod handle;
mod idem;
mod lifecycle;
mod limits;
mod phone;
mod quota;
mod routes;
mod scenario;
mod server;
mod state;
mod stats;
mod store;

pub use builder::{Sim, SimBuilder};
pub use error::SimError;
pub use handle::SimHandle;
pub use scenario::{
    AccountConfig, AgentSeed, ApiKey, CallsConfig, DEFAULT_LOGNORMAL_SIGMA, FaultConfig, FaultKind,
    FirstFault, IdempotencyConfig, LimitsConfig, Outage, OutcomeWeights, QuotaConfig,
    RetryAfterFormat, Scenario, ScheduledFault, TalkTime, TwilioAccount, TwilioReject,
    UNLIMITED_KEEP_FINISHED,
};
pub use stats::{RESET_STATUS, SimStats};
