//! [`RedisFleet`]: one connection to Redis and one namespace, from which the pacer, the gate
//! and the halts store of a process are built.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{FromRedisValue, ScriptInvocation};
use redial_policy::Config;
use redial_policy::config::{PacingConfig, SlotsConfig};
use tokio::time::Instant;

use super::config::{FleetConfig, FleetError};
use super::halts::{HaltsCache, RedisHalts};
use super::health::Health;
use super::keys::Keys;
use super::metrics::OpMetrics;
use super::{RedisPacer, RedisSlotGate};
use crate::{Breakers, Budget, Limiter, clock};

/// Reconnection attempts the redis crate makes inside one command before failing it; we back
/// off ourselves ([`Health`]), so one is enough (assumed).
const CONNECTION_RETRIES: usize = 1;

/// A handle on one Redis and one namespace: build the fleet's [`RedisPacer`],
/// [`RedisSlotGate`] and [`RedisHalts`] from it. Cheap to clone; every part built from it
/// shares one multiplexed connection (the redis crate's `ConnectionManager`, which reconnects
/// by itself).
///
/// ```no_run
/// use redial_limiter::redis::{FleetConfig, RedisFleet};
/// use redial_policy::Config;
///
/// # async fn run() -> Result<(), redial_limiter::redis::FleetError> {
/// let fleet = RedisFleet::new(FleetConfig::new("redis://10.0.0.5:6379/", "spring-renewals"))?;
/// let limiter = fleet.limiter(&Config::default())?; // pacer + slot gate over Redis
/// let halts = fleet.halts()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisFleet {
    shared: Arc<FleetShared>,
}

/// What every part of one fleet handle shares.
#[derive(Debug)]
pub(crate) struct FleetShared {
    pub(crate) conn: ConnectionManager,
    pub(crate) keys: Keys,
    pub(crate) config: FleetConfig,
    pub(crate) health: Health,
    /// Names this process in probe tokens and lease members.
    pub(crate) process_id: String,
    pub(crate) halts: HaltsCache,
}

impl RedisFleet {
    /// A fleet handle for `config`. Does not wait for Redis: the connection is made on first
    /// use, and while Redis is unreachable sends follow `config.on_redis_error`.
    ///
    /// # Errors
    ///
    /// [`FleetError::InvalidUrl`], [`FleetError::InvalidNamespace`],
    /// [`FleetError::InvalidConfig`] (a zero lease, probe ttl or timeout), or
    /// [`FleetError::NoRuntime`] when called outside a tokio runtime.
    pub fn new(config: FleetConfig) -> Result<Self, FleetError> {
        tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let keys = Keys::new(&config.namespace)?;
        if config.lease.as_millis() < 3 {
            return Err(FleetError::InvalidConfig("lease must be at least 3 ms"));
        }
        if config.probe_ttl.is_zero()
            || config.response_timeout.is_zero()
            || config.connect_timeout.is_zero()
            || config.state_ttl.is_zero()
            || config.halts_refresh.is_zero()
        {
            return Err(FleetError::InvalidConfig(
                "probe_ttl, halts_refresh, timeouts and state_ttl must be above zero",
            ));
        }
        let client = ::redis::Client::open(config.url.as_str()).map_err(FleetError::InvalidUrl)?;
        let manager = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.connect_timeout))
            .set_number_of_retries(CONNECTION_RETRIES);
        let conn = ConnectionManager::new_lazy_with_config(client, manager)?;
        let process_id = format!(
            "{}-{:016x}",
            std::process::id(),
            RandomState::new().hash_one(clock::now())
        );
        Ok(Self {
            shared: Arc::new(FleetShared {
                conn,
                keys,
                health: Health::new(config.on_redis_error),
                config,
                process_id,
                halts: HaltsCache::default(),
            }),
        })
    }

    /// The config this handle was built with.
    pub fn config(&self) -> &FleetConfig {
        &self.shared.config
    }

    /// This process's id in the fleet (in probe tokens and lease members).
    pub fn process_id(&self) -> &str {
        &self.shared.process_id
    }

    /// Whether the last Redis command failed (Redis is being waited for or worked around).
    pub fn is_redis_down(&self) -> bool {
        self.shared.health.is_down()
    }

    /// Asks Redis for a `PONG`.
    ///
    /// # Errors
    ///
    /// [`FleetError::Redis`] when Redis does not answer.
    pub async fn ping(&self) -> Result<(), FleetError> {
        let mut conn = self.shared.conn.clone();
        let _: String = ::redis::cmd("PING").query_async(&mut conn).await?;
        self.shared.health.on_ok();
        Ok(())
    }

    /// The fleet's request pacer for `config` (the account's rates, for the whole fleet).
    ///
    /// # Errors
    ///
    /// [`FleetError::NoRuntime`] outside a tokio runtime.
    pub fn pacer(&self, config: &PacingConfig) -> Result<RedisPacer, FleetError> {
        RedisPacer::new(Arc::clone(&self.shared), config)
    }

    /// The fleet's call-slot gate for `config` (the account's live calls, for the whole fleet).
    ///
    /// # Errors
    ///
    /// [`FleetError::NoRuntime`] outside a tokio runtime.
    pub fn slot_gate(&self, config: &SlotsConfig) -> Result<RedisSlotGate, FleetError> {
        RedisSlotGate::new(Arc::clone(&self.shared), config)
    }

    /// The fleet's shared halts, refreshed in the background every `halts_refresh`.
    ///
    /// # Errors
    ///
    /// [`FleetError::NoRuntime`] outside a tokio runtime.
    pub fn halts(&self) -> Result<RedisHalts, FleetError> {
        RedisHalts::new(Arc::clone(&self.shared))
    }

    /// A [`Limiter`] whose pacer and gate are the fleet's; breakers and retry budget stay per
    /// process.
    ///
    /// # Errors
    ///
    /// [`FleetError::NoRuntime`] outside a tokio runtime.
    pub fn limiter(&self, config: &Config) -> Result<Limiter, FleetError> {
        Ok(Limiter::from_parts(
            Arc::new(self.pacer(&config.pacing)?),
            Arc::new(self.slot_gate(&config.slots)?),
            Arc::new(Breakers::new(&config.breaker)),
            Arc::new(Budget::new(&config.budget)),
        ))
    }
}

impl FleetShared {
    /// Runs a script, timing it and keeping [`Health`] up to date.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        op: &'static str,
        metrics: &OpMetrics,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, Failed> {
        let start = clock::now();
        let mut conn = self.conn.clone();
        match invocation.invoke_async(&mut conn).await {
            Ok(v) => {
                metrics.round_trip(clock::now().saturating_duration_since(start).as_secs_f64());
                self.health.on_ok();
                Ok(v)
            }
            Err(error) => Err(Failed {
                retry_at: self.health.on_error(op, metrics, &error),
                error,
            }),
        }
    }
}

/// A failed Redis call.
#[derive(Debug)]
pub(crate) struct Failed {
    /// When Redis may be asked again.
    pub(crate) retry_at: Instant,
    /// What failed.
    pub(crate) error: ::redis::RedisError,
}

/// A spawned task aborted when its last owner is dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
