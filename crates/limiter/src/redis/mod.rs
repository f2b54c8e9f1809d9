//! The Redis backend (feature `redis`): one account's limits, pauses and halts shared by a
//! fleet of dialer processes.
//!
//! - [`RedisFleet`]: a connection and a namespace (`--redis`, `--campaign`); builds the rest.
//! - [`RedisPacer`] ([`Pacer`](crate::Pacer)): GCRA buckets in one Lua script on Redis server
//!   time, one round trip per acquire; the adaptive rate and Retry-After pauses in Redis, so
//!   one process's 429 slows and pauses all; one probe goes first at a pause's end.
//! - [`RedisSlotGate`] ([`SlotGate`](crate::SlotGate)): call slots as leases in a sorted set
//!   scored by expiry, renewed while the call lives, so a killed process's slots come back
//!   within the lease.
//! - [`RedisHalts`]: halted scopes shared by the fleet.
//! - [`OnRedisError`]: what sends do while Redis is unreachable (wait, or go on alone at a
//!   share of the limits).
//!
//! Keys are `redial:{namespace}:...`: the hash tag keeps every multi-key script on one Redis
//! Cluster shard. See `docs/fleet.md` for the layout, the scripts and the failure modes.

mod config;
mod fleet;
mod halts;
mod health;
mod keys;
pub mod metrics;
mod pacer;
mod scripts;
mod slots;

pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_HALTS_REFRESH, DEFAULT_LEASE, DEFAULT_NAMESPACE,
    DEFAULT_PROBE_TTL, DEFAULT_REDIS_URL, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_STATE_TTL, FleetConfig,
    FleetError, OnRedisError,
};
pub use fleet::RedisFleet;
pub use halts::RedisHalts;
pub use pacer::RedisPacer;
pub use slots::RedisSlotGate;
