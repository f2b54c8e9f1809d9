//! Typed endpoints of the contract, one module per resource.

mod agents;
mod calls;
mod messages;
mod numbers;

pub use agents::Agents;
pub use calls::{BeforeSend, Calls, PlacedCall};
pub use messages::Messages;
pub use numbers::Numbers;

use crate::error::Error;
use crate::validate::InvalidInput;

fn to_body<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, Error> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| {
            Error::InvalidInput(InvalidInput {
                field: "body",
                reason: format!("cannot be serialised as JSON: {e}"),
                code: redial_policy::ErrorCode::from_name("invalid_request"),
            })
        })
}

pub(crate) fn idempotency_key(given: Option<&String>) -> String {
    given
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
