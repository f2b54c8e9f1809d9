//! The error model: what a failed request looks like, before anyone decides what to do.

mod api_error;
mod kind;
mod transport;

pub use api_error::{ApiError, BodyKind, MAX_ERROR_BODY_BYTES, ResponseMeta};
pub use kind::{ErrorCode, ErrorType};
pub use transport::{TransportError, TransportKind};

/// A failed attempt: an error answer, or no answer. Exhaustive: there is no third way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The API answered with an error status.
    #[error(transparent)]
    Api(ApiError),
    /// No usable answer arrived.
    #[error(transparent)]
    Transport(TransportError),
}

impl Failure {
    /// The API error, if the server answered.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            Self::Transport(_) => None,
        }
    }
}
