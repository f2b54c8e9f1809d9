//! The Lua scripts, loaded once per process. The redis crate's [`Script`] sends `EVALSHA`
//! and, on `NOSCRIPT` (a restarted Redis forgot its scripts), loads the script and retries.

use std::sync::LazyLock;

use ::redis::Script;

/// Pacer: take one cell from each bucket of a request, or answer how long to wait.
pub(crate) static ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/acquire.lua")));
/// Pacer: a throttle (lower the adaptive rate, extend the pause).
pub(crate) static THROTTLE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/throttle.lua")));
/// Pacer: a success (clear this process's probe, move a recovering rate up the curve).
pub(crate) static SUCCESS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/success.lua")));
/// Gate: take a call slot as a lease.
pub(crate) static SLOT_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/slot_acquire.lua")));
/// Gate: renew this process's leases.
pub(crate) static SLOT_RENEW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/slot_renew.lua")));
/// Gate: the fleet's limit after a limit hit or a create.
pub(crate) static SLOT_LIMIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/slot_limit.lua")));
/// Halts: set or clear one scope and bump the version.
pub(crate) static HALTS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/halts.lua")));
