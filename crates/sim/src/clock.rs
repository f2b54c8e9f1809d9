//! The one place the simulator reads time.
//!
//! Everything else takes an [`Instant`] from here, so a simulator started with
//! [`crate::SimBuilder::start`] on a runtime with a paused clock follows that clock, and one
//! started with [`crate::SimBuilder::start_background`] follows the real clock of its own
//! runtime.

use std::time::SystemTime;
use tokio::time::Instant;

/// Monotonic time on the current tokio runtime's clock (the real clock outside a runtime).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Wall-clock time, read once per simulator start or reset to anchor `created_at` stamps.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_now() -> SystemTime {
    SystemTime::now()
}
