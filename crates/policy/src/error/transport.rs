//! Failures below HTTP: the request got no answer.

/// What went wrong on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made: the request was certainly not sent.
    Connect,
    /// The attempt timed out.
    Timeout,
    /// The connection was reset or closed before a complete answer arrived.
    Reset,
    /// TLS handshake or certificate failure (before the request was sent).
    Tls,
    /// The answer arrived but its body could not be read or decoded.
    Decode,
    /// Any other failure of the HTTP stack.
    Other,
}

impl TransportKind {
    /// The snake_case name used in metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Tls => "tls",
            Self::Decode => "decode",
            Self::Other => "other",
        }
    }
}

/// A request that got no (usable) answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{kind:?} ({}): {detail}", if *.request_sent { "request may have reached the server" } else { "request not sent" })]
#[non_exhaustive]
pub struct TransportError {
    /// What went wrong.
    pub kind: TransportKind,
    /// Whether the request may have reached the server (bytes were written).
    pub request_sent: bool,
    /// Human-readable detail from the HTTP stack (never contains headers or keys).
    pub detail: String,
}

impl TransportError {
    /// A new transport failure.
    pub fn new(kind: TransportKind, request_sent: bool, detail: impl Into<String>) -> Self {
        Self {
            kind,
            request_sent,
            detail: detail.into(),
        }
    }
}
