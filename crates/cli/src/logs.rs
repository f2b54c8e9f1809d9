//! Diagnostic logs: with `RUST_LOG` set (e.g. `RUST_LOG=redial_transport=debug`), the
//! runtime's `tracing` spans and events, and the HTTP stack's `log` records, are written to
//! stderr. Without it nothing is logged. Neither the API key nor a Twilio auth token is ever
//! a field of a span or an event (`tests/secrets.rs` greps a `RUST_LOG=trace` run for them).

use tracing_subscriber::EnvFilter;

/// The variable that turns logging on, with `tracing-subscriber`'s filter syntax.
const LOG_ENV: &str = "RUST_LOG";

/// Installs the stderr logger when `RUST_LOG` is set; does nothing otherwise, or when a
/// subscriber is already installed.
pub fn init_from_env() {
    if std::env::var_os(LOG_ENV).is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_env(LOG_ENV))
        .with_writer(std::io::stderr)
        .try_init();
}
