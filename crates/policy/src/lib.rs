//! redial-policy: what redial does with every failure the Nixflex API can return.
//!
//! Pure decisions, no I/O, no clock, no async runtime: the caller passes in the time, the
//! attempt number and a jitter sample, and gets data back. That keeps the policy fast (a
//! decision for a known code allocates nothing) and testable without a runtime.
//!
//! - [`error`]: the error model ([`ApiError`], [`ErrorType`], [`ErrorCode`], [`TransportError`]).
//! - [`Policy`]: classify a failure ([`Classification`]), then decide the next step
//!   ([`Decision`]) from attempts, deadline, retry budget and [`Backoff`].
//! - [`config`]: the one TOML file that tunes the whole runtime.

mod action;
mod backoff;
mod budget;
pub mod catalog;
mod classify;
pub mod config;
pub mod error;
mod explain;
mod policy;
mod request;
mod retry_after;
mod route;
mod serde_util;

pub use action::{
    Action, Classification, Decision, GiveUpReason, HaltScope, MatchedBy, SideEffect,
};
pub use backoff::{Backoff, Jitter};
pub use budget::{Exhausted, RetryBudget, Unlimited};
pub use config::{Config, ConfigError};
pub use error::{
    ApiError, BodyKind, ErrorCode, ErrorType, Failure, MAX_ERROR_BODY_BYTES, ResponseMeta,
    TransportError, TransportKind,
};
pub use explain::ExplainRow;
pub use policy::{Evaluation, Policy};
pub use request::{Attempt, RequestInfo, RequestLimits};
pub use retry_after::parse_retry_after;
pub use route::{Method, RouteError, RoutePattern};
