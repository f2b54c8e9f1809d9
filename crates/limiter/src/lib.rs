//! redial-limiter: everything that decides *when* a request may go.
//!
//! - [`Pacer`] ([`InProcessPacer`]): GCRA token buckets (governor) matched by method and
//!   route, an account-wide bucket for every request, an adaptive rate ([`cubic`], as in the
//!   AWS SDKs' adaptive retry mode) and Retry-After pauses that hold the whole account, with
//!   one probe first when a pause ends.
//! - [`SlotGate`] ([`InProcessSlotGate`]): the gate of concurrent calls; a [`CallSlot`] is
//!   held for the life of a call.
//! - [`Breakers`]: a circuit breaker per endpoint group.
//! - [`Budget`]: the retry budget (Finagle / tower `TpsBudget` style).
//! - [`InFlightGate`]: requests on the wire at once, limited from their latency so a slow
//!   server is not handed a queue of them (per process; not part of [`Limiter`]).
//! - [`Limiter`]: all four, built from one [`redial_policy::Config`].
//!
//! Pacer and gate are traits so that a Redis backend can share one account's limits across a
//! fleet of dialers. Time is read only through [`clock`], so every test runs on tokio's
//! paused clock. Metrics are listed in [`METRICS`].

pub mod clock;
pub mod cubic;
pub mod metrics;

mod breaker;
mod budget;
mod fifo;
mod in_flight;
mod limiter;
mod pacer;
#[cfg(feature = "redis")]
pub mod redis;
mod slots;

pub use breaker::{Breakers, CircuitOpen, CircuitState, Permit};
pub use budget::Budget;
pub use in_flight::{BEST_WINDOW, InFlightGate, InFlightPermit, MEASURE_EVERY};
pub use limiter::Limiter;
pub use metrics::{METRICS, describe};
pub use pacer::{BucketSnapshot, InProcessPacer, PROBE_TIMEOUT, Pacer};
pub use slots::{CallSlot, InProcessSlotGate, SlotGate, SlotLease};
