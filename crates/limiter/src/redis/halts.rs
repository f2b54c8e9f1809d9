//! [`RedisHalts`]: halted scopes shared by the fleet.
//!
//! A halt (an account with a bad key, an agent without a number, a rejected sender) recorded
//! by one process must stop the others before their next send. Scopes live in one Redis hash
//! (field `account`, `agent:<id>` or `sender:<id>`, value the cause) with a version counter
//! bumped on every change. Reading Redis before every send would double the round trips, so
//! [`RedisHalts::check`] reads a local cache, kept fresh two ways: the pacer's acquire script
//! returns the version on every acquire and the pacer re-reads the hash before letting the
//! request go when the version moved; and a background task re-reads it every
//! `halts_refresh` for requests that are not paced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use redial_policy::{HaltScope, RequestInfo};

use super::config::FleetError;
use super::fleet::{AbortOnDrop, FleetShared};
use super::metrics::OpMetrics;
use super::scripts;

/// The fleet's halted scopes, as a process reads them before each send.
///
/// ```no_run
/// use redial_limiter::redis::{FleetConfig, RedisFleet};
/// use redial_policy::{HaltScope, Method, RequestInfo};
///
/// # async fn run() -> Result<(), redial_limiter::redis::FleetError> {
/// let halts = RedisFleet::new(FleetConfig::default())?.halts()?;
/// halts.halt(&HaltScope::Agent("agent_123".into()), "agent_no_phone").await?;
/// let call = RequestInfo { agent_id: Some("agent_123"), ..RequestInfo::new(Method::Post, "/v1/calls") };
/// assert_eq!(halts.check(&call), Some(HaltScope::Agent("agent_123".into())));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisHalts {
    fleet: Arc<FleetShared>,
    _refresher: Arc<AbortOnDrop>,
}

/// The local copy of the halts hash, plus the halts this process set itself (kept even when
/// writing them to Redis failed, until cleared).
#[derive(Debug)]
pub(crate) struct HaltsCache {
    remote: RwLock<HashMap<HaltScope, String>>,
    own: RwLock<HashMap<HaltScope, String>>,
    any: AtomicBool,
    /// Version of `remote` (-1: never read).
    version: AtomicI64,
    refresh: tokio::sync::Mutex<()>,
    metrics: OpMetrics,
}

impl Default for HaltsCache {
    fn default() -> Self {
        Self {
            remote: RwLock::default(),
            own: RwLock::default(),
            any: AtomicBool::new(false),
            version: AtomicI64::new(-1),
            refresh: tokio::sync::Mutex::new(()),
            metrics: OpMetrics::new("halts"),
        }
    }
}

/// The hash field of a scope; `None` for a scope kind this version does not know.
fn encode(scope: &HaltScope) -> Option<String> {
    match scope {
        HaltScope::Account => Some("account".to_owned()),
        HaltScope::Agent(id) => Some(format!("agent:{id}")),
        HaltScope::Sender(id) => Some(format!("sender:{id}")),
        _ => None,
    }
}

/// The scope of a hash field; `None` for a field this version does not know.
fn decode(field: &str) -> Option<HaltScope> {
    match field.split_once(':') {
        None if field == "account" => Some(HaltScope::Account),
        Some(("agent", id)) => Some(HaltScope::Agent(id.to_owned())),
        Some(("sender", id)) => Some(HaltScope::Sender(id.to_owned())),
        _ => None,
    }
}

impl HaltsCache {
    fn publish_any(&self) {
        let any = !read(&self.remote).is_empty() || !read(&self.own).is_empty();
        self.any.store(any, Ordering::Release);
    }

    fn contains(&self, scope: &HaltScope) -> bool {
        read(&self.own).contains_key(scope) || read(&self.remote).contains_key(scope)
    }

    fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        if self.contains(&HaltScope::Account) {
            return Some(HaltScope::Account);
        }
        let agent = request.agent_id.map(|a| HaltScope::Agent(a.to_owned()));
        let sender = request.sender.map(|s| HaltScope::Sender(s.to_owned()));
        [agent, sender]
            .into_iter()
            .flatten()
            .find(|s| self.contains(s))
    }

    /// Re-reads the hash from Redis.
    pub(crate) async fn refresh(&self, fleet: &FleetShared) -> Result<(), FleetError> {
        let _one = self.refresh.lock().await;
        let mut conn = fleet.conn.clone();
        let (fields, version): (HashMap<String, String>, Option<i64>) = match ::redis::pipe()
            .hgetall(fleet.keys.halts())
            .get(fleet.keys.halts_version())
            .query_async(&mut conn)
            .await
        {
            Ok(v) => {
                fleet.health.on_ok();
                v
            }
            Err(e) => {
                fleet.health.on_error("halts", &self.metrics, &e);
                return Err(e.into());
            }
        };
        let map = fields
            .into_iter()
            .filter_map(|(f, cause)| decode(&f).map(|s| (s, cause)))
            .collect();
        *self.remote.write().unwrap_or_else(PoisonError::into_inner) = map;
        self.version.store(version.unwrap_or(0), Ordering::Release);
        self.publish_any();
        Ok(())
    }

    /// The pacer saw halts version `version`: re-read the hash if the cache is older.
    pub(crate) async fn saw_version(&self, fleet: &FleetShared, version: i64) {
        if version > self.version.load(Ordering::Acquire) {
            // Best effort: on error the background refresh tries again.
            let _ = self.refresh(fleet).await;
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl RedisHalts {
    pub(crate) fn new(fleet: Arc<FleetShared>) -> Result<Self, FleetError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let weak = Arc::downgrade(&fleet);
        let every = fleet.config.halts_refresh;
        let task = handle.spawn(refresh_loop(weak, every));
        Ok(Self {
            fleet,
            _refresher: Arc::new(AbortOnDrop(task.abort_handle())),
        })
    }

    /// Records a halt of `scope` for the whole fleet (and at once in this process), with its
    /// cause (an error code). Returns whether the scope was newly halted fleet-wide.
    ///
    /// # Errors
    ///
    /// [`FleetError::Redis`] when Redis could not be written: the halt still holds in this
    /// process, but the others do not see it. [`FleetError::InvalidConfig`] for a scope kind
    /// this version cannot store.
    pub async fn halt(&self, scope: &HaltScope, cause: &str) -> Result<bool, FleetError> {
        let cache = &self.fleet.halts;
        cache
            .own
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(scope.clone(), cause.to_owned());
        cache.publish_any();
        self.write("halt", scope, cause).await
    }

    /// Lifts a halt fleet-wide (after an operator fixed the key, agent or sender). Returns
    /// whether it was halted in Redis.
    ///
    /// # Errors
    ///
    /// As [`RedisHalts::halt`].
    pub async fn clear(&self, scope: &HaltScope) -> Result<bool, FleetError> {
        let cache = &self.fleet.halts;
        cache
            .own
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(scope);
        cache
            .remote
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(scope);
        cache.publish_any();
        self.write("clear", scope, "").await
    }

    async fn write(
        &self,
        action: &str,
        scope: &HaltScope,
        cause: &str,
    ) -> Result<bool, FleetError> {
        let field = encode(scope).ok_or(FleetError::InvalidConfig("unknown halt scope kind"))?;
        let fleet = &self.fleet;
        let mut inv = scripts::HALTS.prepare_invoke();
        inv.key(fleet.keys.halts())
            .key(fleet.keys.halts_version())
            .arg(action)
            .arg(field)
            .arg(cause);
        let changed: i64 = fleet
            .run("halts", &fleet.halts.metrics, &inv)
            .await
            .map_err(|f| FleetError::Redis(f.error))?;
        Ok(changed == 1)
    }

    /// Re-reads the fleet's halts now.
    ///
    /// # Errors
    ///
    /// [`FleetError::Redis`] when Redis does not answer; the cache is kept.
    pub async fn refresh(&self) -> Result<(), FleetError> {
        self.fleet.halts.refresh(&self.fleet).await
    }

    /// The halted scope a request falls in, if any (account first, then agent, then sender),
    /// from the cache: no round trip.
    pub fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        self.fleet.halts.check(request)
    }

    /// Whether a scope is halted, from the cache.
    pub fn is_halted(&self, scope: &HaltScope) -> bool {
        self.fleet.halts.contains(scope)
    }

    /// Every halted scope with its cause, from the cache.
    pub fn halted(&self) -> Vec<(HaltScope, String)> {
        let cache = &self.fleet.halts;
        let mut all = read(&cache.remote).clone();
        all.extend(read(&cache.own).iter().map(|(s, c)| (s.clone(), c.clone())));
        all.into_iter().collect()
    }
}

async fn refresh_loop(fleet: Weak<FleetShared>, every: std::time::Duration) {
    loop {
        let Some(fleet) = fleet.upgrade() else { return };
        // Errors are counted by the refresh; the next tick tries again.
        let _ = fleet.halts.refresh(&fleet).await;
        drop(fleet);
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_fields() {
        for scope in [
            HaltScope::Account,
            HaltScope::Agent("a:1".into()),
            HaltScope::Sender("+1415".into()),
        ] {
            assert_eq!(decode(&encode(&scope).unwrap()), Some(scope));
        }
        assert_eq!(decode("accounts"), None);
        assert_eq!(decode("team:x"), None);
    }

    #[test]
    fn the_cache_checks_account_then_agent_then_sender() {
        let cache = HaltsCache::default();
        let call = RequestInfo {
            agent_id: Some("a1"),
            sender: Some("+1415"),
            ..RequestInfo::new(redial_policy::Method::Post, "/v1/calls")
        };
        assert_eq!(cache.check(&call), None);
        cache.own.write().unwrap().insert(
            HaltScope::Sender("+1415".into()),
            "from_number_not_owned".into(),
        );
        cache.publish_any();
        assert_eq!(cache.check(&call), Some(HaltScope::Sender("+1415".into())));
        cache
            .remote
            .write()
            .unwrap()
            .insert(HaltScope::Account, "invalid_api_key".into());
        cache.publish_any();
        assert_eq!(cache.check(&call), Some(HaltScope::Account));
    }
}
