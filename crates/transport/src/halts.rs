//! Halted scopes: once a request proves that every request of a scope will fail (a bad key,
//! an unknown agent, a rejected sender), later requests in the scope fail fast without being
//! sent. Requests outside the scope go on.

use std::collections::HashSet;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use redial_policy::{HaltScope, RequestInfo};

/// The set of halted scopes of a client.
#[derive(Debug, Default)]
pub struct Halts {
    any: AtomicBool,
    scopes: RwLock<HashSet<HaltScope>>,
}

impl Halts {
    /// Stops a scope; returns whether it was newly halted.
    pub(crate) fn halt(&self, scope: HaltScope) -> bool {
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        let new = scopes.insert(scope);
        self.any.store(true, Ordering::Release);
        new
    }

    /// The halted scope a request falls in, if any (account first, then agent, then sender).
    pub(crate) fn check(&self, request: &RequestInfo<'_>) -> Option<HaltScope> {
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

    /// Whether a scope is halted.
    pub fn is_halted(&self, scope: &HaltScope) -> bool {
        self.scopes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(scope)
    }

    /// Every halted scope.
    pub fn halted(&self) -> Vec<HaltScope> {
        self.scopes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Lifts a halt (after an operator fixed the key, agent or sender).
    pub fn clear(&self, scope: &HaltScope) {
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        scopes.remove(scope);
        self.any.store(!scopes.is_empty(), Ordering::Release);
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
        halts.halt(HaltScope::Agent("a1".into()));
        assert_eq!(
            halts.check(&call("a1")),
            Some(HaltScope::Agent("a1".into()))
        );
        assert_eq!(halts.check(&call("a2")), None);
        halts.halt(HaltScope::Account);
        assert_eq!(halts.check(&call("a2")), Some(HaltScope::Account));
        halts.clear(&HaltScope::Account);
        halts.clear(&HaltScope::Agent("a1".into()));
        assert_eq!(halts.check(&call("a1")), None);
    }
}
