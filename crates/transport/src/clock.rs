//! The one place this crate reads the time: monotonic time through the limiter's clock
//! (tokio's, paused in tests), wall time for Retry-After dates and report timestamps.

use std::time::SystemTime;

pub(crate) use redial_limiter::clock::now;

/// Wall-clock time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_now() -> SystemTime {
    SystemTime::now()
}

/// Wall-clock time as RFC 3339 (UTC, seconds).
pub(crate) fn wall_rfc3339() -> String {
    humantime::format_rfc3339_seconds(wall_now()).to_string()
}
