//! The one place this crate reads wall-clock time (for journal headers and the summary).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now, as RFC 3339 (UTC, seconds): support report timestamps.
#[allow(clippy::disallowed_methods)]
pub(crate) fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Now, on the wall clock.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_now() -> SystemTime {
    SystemTime::now()
}

/// Milliseconds since the Unix epoch of `t` (0 before it).
pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The wall-clock time `ms` milliseconds after the Unix epoch.
pub(crate) fn from_unix_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_millis(ms)
}
