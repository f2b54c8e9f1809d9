//! [`Suppression`]: numbers never to dial, and the opt-outs a campaign meets.
//!
//! Consent carries over between campaigns: every opt-out the API reports
//! (`recipient_unsubscribed`, Twilio 21610) is added at once, so the next contact with that
//! number — in this run or a later one — is not dialled. [`SuppressList`] is the `redial`
//! command's file; an empty `SuppressList::none()` suppresses nothing.

mod file;

use futures::future::BoxFuture;

pub use self::file::{MAX_SUPPRESS_LINE_BYTES, SuppressError, SuppressList};
use crate::error::BoxError;

/// A set of numbers not to dial, which grows with the opt-outs of the run.
pub trait Suppression: Send {
    /// Whether `phone` must not be dialled.
    fn contains<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<bool, BoxError>>;

    /// Records an opt-out durably (before the future completes).
    fn add<'a>(&'a mut self, phone: &'a str) -> BoxFuture<'a, Result<(), BoxError>>;
}
