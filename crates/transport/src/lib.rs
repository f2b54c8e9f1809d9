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
//! honour that key. Otherwise the create is reconciled: every create carries its key in its
//! metadata, and the client lists the account's calls to adopt the call or prove it was not
//! placed (then sends again, same key). [`Error::Ambiguous`] is left only when the server
//! cannot be asked or its answer cannot settle it.

mod attempt;
mod base_url;
mod births;
mod client;
mod clock;
mod endpoints;
mod error;
mod exec;
mod halts;
mod in_doubt;
mod key;
pub mod metrics;
mod model;
mod pause;
mod reconcile;
mod request;
pub mod sms;
mod support;
pub mod validate;

pub use client::{Client, ClientBuilder, USER_AGENT};
pub use endpoints::{Agents, BeforeSend, Calls, Messages, Numbers, PlacedCall};
pub use error::{ClientConfigError, Error, FailureDetail};
pub use halts::{HaltStore, Halts};
pub use key::{ApiKey, ApiKeyError, Secret};
pub use model::{
    Agent, Call, CallStatus, IDEMPOTENCY_KEY_FIELD, ListCalls, Message, NewAgent, NewCall,
    NewMessage, NumberImport, PhoneNumber,
};
pub use pause::PauseInfo;
pub use reconcile::{CLOCK_SKEW_MARGIN, RECONCILE_LIST_LIMIT, Reconciled};
pub use redial_limiter::CallSlot;
pub use support::{SupportError, SupportReport};
pub use validate::InvalidInput;
