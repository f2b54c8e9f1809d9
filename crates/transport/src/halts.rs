//! Halted scopes: once a request proves that every request of a scope will fail (a bad key,
//! an unknown agent, a rejected sender), later requests in the scope fail fast without being
//! sent. Requests outside the scope go on.
//!
//! A client's [`Halts`] are its own; a fleet of processes on one account shares them through a
//! [`HaltStore`] given to [`ClientBuilder::shared_halts`](crate::ClientBuilder::shared_halts)
//! (e.g. the Redis halts of `redial-limiter`, with this crate's `redis` feature): a halt
//! recorded by one process then stops the others before their next send.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use redial_policy::{HaltScope, RequestInfo};

/// Where halted scopes are kept: the in-process [`Halts`], or a store shared by a fleet of
/// processes. The client checks it right before every send (no I/O may happen in
/// [`HaltStore::check`]: a shared store answers from a cache it keeps fresh).
pub trait HaltStore: Send + Sync + fmt::Debug {
    /// The halted scope a request falls in, if any (account first, then agent, then sender).
    fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope>;

    /// Stops a scope, with its cause (an error code); returns whether it was newly halted as
    /// far as this process knows. A shared store writes it in the background.
    fn halt(&self, scope: &HaltScope, cause: &str) -> bool;

    /// Whether a scope is halted.
    fn is_halted(&self, scope: &HaltScope) -> bool;

    /// Every halted scope.
    fn halted(&self) -> Vec<HaltScope>;

    /// Lifts a halt (after an operator fixed the key, agent or sender).
    fn clear(&self, scope: &HaltScope);
}

/// The set of halted scopes of a client, and the fleet's shared ones when it has a
/// [`HaltStore`] to share.
#[derive(Debug, Default)]
pub struct Halts {
    any: AtomicBool,
    scopes: RwLock<HashSet<HaltScope>>,
    shared: Option<Arc<dyn HaltStore>>,
}

impl Halts {
    /// Halts that also read and write `shared` (the fleet's).
    pub(crate) fn with_shared(shared: Option<Arc<dyn HaltStore>>) -> Self {
        Self {
            shared,
            ..Self::default()
        }
    }

    /// Stops a scope (in this process at once, and in the shared store with its `cause`);
    /// returns whether it was newly halted here.
    pub(crate) fn halt(&self, scope: HaltScope, cause: &str) -> bool {
        if let Some(shared) = &self.shared {
            shared.halt(&scope, cause);
        }
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        let new = scopes.insert(scope);
        self.any.store(true, Ordering::Release);
        new
    }

    /// The halted scope a request falls in, if any (account first, then agent, then sender):
    /// this process's halts, then the shared store's.
    pub(crate) fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        self.check_local(request)
            .or_else(|| self.shared.as_ref().and_then(|s| s.check(request)))
    }

    fn check_local(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let scopes = self.scopes.read().unwrap_or_else(|p| p.into_inner());
        if scopes.contains(&HaltScope::Account) {
            return Some(HaltScope::Account);
        }
        let agent = request.agent_id.map(|a| HaltScope::Agent(a.to_owned()));
        let sender = request.sender.map(|s| HaltScope::Sender(s.to_owned()));
        [agent, sender]
            .into_iter()
            .flatten()
            .find(|s| scopes.contains(s))
    }

    /// Whether a scope is halted (here or, when shared, by any process of the fleet).
    pub fn is_halted(&self, scope: &HaltScope) -> bool {
        self.scopes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(scope)
            || self.shared.as_ref().is_some_and(|s| s.is_halted(scope))
    }

    /// Every halted scope (here and, when shared, in the fleet).
    pub fn halted(&self) -> Vec<HaltScope> {
        let mut all: Vec<HaltScope> = self
            .scopes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        if let Some(shared) = &self.shared {
            for scope in shared.halted() {
                if !all.contains(&scope) {
                    all.push(scope);
                }
            }
        }
        all
    }

    /// Lifts a halt (after an operator fixed the key, agent or sender), here and in the
    /// shared store.
    pub fn clear(&self, scope: &HaltScope) {
        if let Some(shared) = &self.shared {
            shared.clear(scope);
        }
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        scopes.remove(scope);
        self.any.store(!scopes.is_empty(), Ordering::Release);
    }

    /// Whether the halts are shared with a fleet.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }
}

impl HaltStore for Halts {
    fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        Halts::check(self, request)
    }

    fn halt(&self, scope: &HaltScope, cause: &str) -> bool {
        Halts::halt(self, scope.clone(), cause)
    }

    fn is_halted(&self, scope: &HaltScope) -> bool {
        Halts::is_halted(self, scope)
    }

    fn halted(&self) -> Vec<HaltScope> {
        Halts::halted(self)
    }

    fn clear(&self, scope: &HaltScope) {
        Halts::clear(self, scope);
    }
}

/// The fleet's Redis halts (feature `redis`): checks answer from the cache the pacer keeps
/// fresh; a halt is recorded here at once and written to Redis in the background.
#[cfg(feature = "redis")]
impl HaltStore for redial_limiter::redis::RedisHalts {
    fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
        redial_limiter::redis::RedisHalts::check(self, request)
    }

    fn halt(&self, scope: &HaltScope, cause: &str) -> bool {
        let newly = !redial_limiter::redis::RedisHalts::is_halted(self, scope);
        let (halts, scope, cause) = (self.clone(), scope.clone(), cause.to_owned());
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = halts.halt(&scope, &cause).await {
                        tracing::warn!(scope = %scope, "the fleet's halts could not be written: {e}");
                    }
                });
            }
            Err(_) => tracing::warn!(scope = %scope, "no runtime: halt not shared with the fleet"),
        }
        newly
    }

    fn is_halted(&self, scope: &HaltScope) -> bool {
        redial_limiter::redis::RedisHalts::is_halted(self, scope)
    }

    fn halted(&self) -> Vec<HaltScope> {
        redial_limiter::redis::RedisHalts::halted(self)
            .into_iter()
            .map(|(scope, _)| scope)
            .collect()
    }

    fn clear(&self, scope: &HaltScope) {
        let (halts, scope) = (self.clone(), scope.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = halts.clear(&scope).await {
                    tracing::warn!(scope = %scope, "the fleet's halt could not be cleared: {e}");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redial_policy::Method;

    #[test]
    fn scopes_match_only_their_requests() {
        let halts = Halts::default();
        let call = |agent| RequestInfo {
            agent_id: Some(agent),
            sender: Some("+1415"),
            ..RequestInfo::new(Method::Post, "/v1/calls")
        };
        assert_eq!(halts.check(&call("a1")), None);
        halts.halt(HaltScope::Agent("a1".into()), "agent_not_found");
        assert_eq!(
            halts.check(&call("a1")),
            Some(HaltScope::Agent("a1".into()))
        );
        assert_eq!(halts.check(&call("a2")), None);
        halts.halt(HaltScope::Account, "invalid_api_key");
        assert_eq!(halts.check(&call("a2")), Some(HaltScope::Account));
        halts.clear(&HaltScope::Account);
        halts.clear(&HaltScope::Agent("a1".into()));
        assert_eq!(halts.check(&call("a1")), None);
    }

    /// Two clients of a fleet share a store: a halt recorded by one stops the other's
    /// requests in the scope (checked before each send), and a clear lifts it for both.
    #[test]
    fn a_shared_store_carries_halts_between_clients() {
        let fleet: Arc<dyn HaltStore> = Arc::new(Halts::default());
        let one = Halts::with_shared(Some(fleet.clone()));
        let two = Halts::with_shared(Some(fleet.clone()));
        let call = RequestInfo {
            agent_id: Some("a1"),
            ..RequestInfo::new(Method::Post, "/v1/calls")
        };
        assert!(one.halt(HaltScope::Agent("a1".into()), "agent_not_found"));
        assert_eq!(two.check(&call), Some(HaltScope::Agent("a1".into())));
        assert!(two.is_halted(&HaltScope::Agent("a1".into())));
        assert_eq!(two.halted(), vec![HaltScope::Agent("a1".into())]);
        assert!(two.is_shared() && !Halts::default().is_shared());
        two.clear(&HaltScope::Agent("a1".into()));
        assert_eq!(two.check(&call), None);
        assert!(!fleet.is_halted(&HaltScope::Agent("a1".into())));
    }
}
