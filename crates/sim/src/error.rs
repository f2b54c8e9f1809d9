//! The crate's one error type.
//!
//! Every variant names the input that was wrong (a TOML key path and its value, a file path,
//! an address) so a user can fix a scenario without reading the simulator's code.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong while loading a scenario or starting the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The scenario TOML could not be parsed or did not match the schema.
    #[error("scenario key `{key}`: {message}")]
    Parse {
        /// Dotted key path of the offending entry (`.` when the error is at the top level).
        key: String,
        /// What the parser said.
        message: String,
    },
    /// A scenario value parsed but is outside what the simulator accepts.
    #[error("scenario key `{key}` = {value}: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `faults.server_error`.
        key: String,
        /// The rejected value as written back.
        value: String,
        /// What is allowed instead.
        reason: String,
    },
    /// The scenario file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The background thread or its runtime could not be started.
    #[error("cannot start the simulator runtime: {0}")]
    Runtime(std::io::Error),
}
