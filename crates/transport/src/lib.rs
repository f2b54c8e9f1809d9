//! redial-transport: the Nixflex API client that puts policy and limiter to work.
//!
//! Every request goes through the same loop ([`Client`]): halt-scope check, circuit check,
//! pacing, send with the per-attempt timeout, parse, `Policy::decide`, then retry after the
//! backoff (or Retry-After), throttle the bucket, wait for a call slot, give up, or halt the
//! scope. Callers get typed endpoints and one [`Error`] enum to match on.
//!
//! A person must never be dialled twice because of a retry: every POST carries an
//! `Idempotency-Key` that stays the same across the attempts of one logical request, and a
//! create that may have reached the server is retried only when the server is configured to
//! honour that key; otherwise it ends [`Error::Ambiguous`] for the caller to reconcile.

mod attempt;
mod base_url;
mod client;
mod clock;
mod endpoints;
mod error;
mod exec;
mod halts;
mod key;
pub mod metrics;
mod model;
mod pause;
mod request;
pub mod sms;
mod support;
pub mod validate;

pub use client::{Client, ClientBuilder, USER_AGENT};
pub use endpoints::{Agents, BeforeSend, Calls, Messages, Numbers, PlacedCall};
pub use error::{ClientConfigError, Error, FailureDetail};
pub use halts::Halts;
pub use key::{ApiKey, ApiKeyError, Secret};
pub use model::{
    Agent, Call, CallStatus, Message, NewAgent, NewCall, NewMessage, NumberImport, PhoneNumber,
};
pub use pause::PauseInfo;
pub use redial_limiter::CallSlot;
pub use support::SupportReport;
pub use validate::InvalidInput;
