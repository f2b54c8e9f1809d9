//! The Lua scripts, loaded once per process. The redis crate's [`Script`] sends `EVALSHA`
//! and, on `NOSCRIPT` (a restarted Redis forgot its scripts), loads the script and retries.
//! Each script is prefixed with `lua/prelude.lua` (the campaign check and the claim fence).

use std::sync::LazyLock;

use ::redis::Script;

macro_rules! script {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        pub(crate) static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(concat!(include_str!("lua/prelude.lua"), include_str!($file)))
        });
    };
}

script!(
    /// Join, create (and load) the campaign, or start its next run.
    JOIN,
    "lua/join.lua"
);
script!(
    /// Append one batch of the list (the loader).
    LOAD,
    "lua/load.lua"
);
script!(
    /// Open run 1 once the list is loaded.
    FINISH_LOAD,
    "lua/finish_load.lua"
);
script!(
    /// The next contact: new, or taken over from a process that stopped renewing its claim.
    CLAIM,
    "lua/claim.lua"
);
script!(
    /// A journal record, fenced by the claim.
    RECORD,
    "lua/record.lua"
);
script!(
    /// Acknowledge a contact whose outcome is durable.
    ACK,
    "lua/ack.lua"
);
script!(
    /// Give a contact back unfinished.
    RELEASE,
    "lua/release.lua"
);
script!(
    /// Renew presence and claims.
    HEARTBEAT,
    "lua/heartbeat.lua"
);
script!(
    /// A contact's journal state.
    PRIOR,
    "lua/prior.lua"
);
script!(
    /// Drop this process's presence.
    LEAVE,
    "lua/leave.lua"
);
