//! One connection to Redis (the redis crate's `ConnectionManager`, which reconnects by
//! itself) and the rule for transient failures: a command that fails because Redis is away,
//! restarting or loading its data is tried again, with backoff, for up to
//! `fleet.redis_wait`. Every script is safe to repeat (a lost reply does not double anything).

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{ErrorKind, RedisError, ScriptInvocation, ServerErrorKind, Value};

use super::error::RedisWorkError;
use super::metrics;

/// First wait after a transient failure.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest wait between two tries.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Time a command may take before it counts as failed (the redis crate's default, 500 ms).
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Time a connection attempt may take (the redis crate's default, 1 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection and how long to wait for Redis.
#[derive(Clone)]
pub(crate) struct Conn {
    manager: ConnectionManager,
    redis_wait: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("redis_wait", &self.redis_wait)
            .finish_non_exhaustive()
    }
}

/// Whether a failure is Redis being away, restarting or loading (worth waiting for).
pub(crate) fn transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

impl Conn {
    /// A lazy connection to `url` (nothing is sent yet).
    pub(crate) fn new(url: &str, redis_wait: Duration) -> Result<Self, RedisWorkError> {
        let client = ::redis::Client::open(url).map_err(RedisWorkError::InvalidUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1);
        let manager =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|source| {
                RedisWorkError::Redis {
                    op: "connect",
                    source,
                }
            })?;
        Ok(Self {
            manager,
            redis_wait,
        })
    }

    /// Runs a script, waiting out transient failures for up to `redis_wait`. Returns the
    /// reply and whether an earlier try failed (its effect may have happened).
    pub(crate) async fn call(
        &self,
        op: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<(Value, bool), RedisWorkError> {
        let started = redial_limiter::clock::now();
        let mut backoff = BACKOFF_MIN;
        let mut retried = false;
        loop {
            let mut conn = self.manager.clone();
            match invocation.invoke_async::<Value>(&mut conn).await {
                Ok(v) => {
                    if retried {
                        tracing::info!(op, "Redis answers again");
                    }
                    return Ok((v, retried));
                }
                Err(e) if transient(&e) => {
                    let waited = redial_limiter::clock::now().saturating_duration_since(started);
                    if waited >= self.redis_wait {
                        return Err(RedisWorkError::Unavailable {
                            op,
                            waited,
                            source: e,
                        });
                    }
                    if retried {
                        tracing::debug!(op, "Redis still unavailable: {e}");
                    } else {
                        tracing::warn!(op, "Redis unavailable, waiting for it: {e}");
                    }
                    metrics::redis_retry(op);
                    retried = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(source) => return Err(RedisWorkError::Redis { op, source }),
            }
        }
    }

    /// Runs a script once (the heartbeat: it tries again on its own schedule).
    pub(crate) async fn call_once(
        &self,
        op: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<Value, RedisWorkError> {
        let mut conn = self.manager.clone();
        invocation
            .invoke_async::<Value>(&mut conn)
            .await
            .map_err(|source| RedisWorkError::Redis { op, source })
    }
}
