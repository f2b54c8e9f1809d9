//! The key layout: every key of one namespace shares the hash tag `{namespace}`, so the
//! multi-key scripts run on one Redis Cluster shard.

use super::config::FleetError;

/// Key names of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of `namespace`: rejects an empty one or one with `{`/`}` (it would break the
    /// hash tag).
    pub(crate) fn new(namespace: &str) -> Result<Self, FleetError> {
        if namespace.is_empty() || namespace.contains(['{', '}']) {
            return Err(FleetError::InvalidNamespace {
                namespace: namespace.to_owned(),
            });
        }
        Ok(Self {
            prefix: format!("redial:{{{namespace}}}:"),
        })
    }

    /// Hash of a pacing bucket: GCRA `tat`, adaptive `rate` and CUBIC state, `pause`, `probe`.
    pub(crate) fn bucket(&self, name: &str) -> String {
        format!("{}pacer:{name}", self.prefix)
    }

    /// The probe token of a bucket after a pause (value: the process id holding it).
    pub(crate) fn probe(&self, name: &str) -> String {
        format!("{}pacer:{name}:probe", self.prefix)
    }

    /// Sorted set of call-slot leases scored by expiry (server ms).
    pub(crate) fn slots(&self) -> String {
        format!("{}slots", self.prefix)
    }

    /// Hash of the fleet's call-slot limit (`limit`, `created`).
    pub(crate) fn slots_limit(&self) -> String {
        format!("{}slots:limit", self.prefix)
    }

    /// Hash of halted scopes: field `account`, `agent:<id>` or `sender:<id>`, value the cause.
    pub(crate) fn halts(&self) -> String {
        format!("{}halts", self.prefix)
    }

    /// Counter bumped on every change of [`Keys::halts`].
    pub(crate) fn halts_version(&self) -> String {
        format!("{}halts:version", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_hash_tag() {
        let k = Keys::new("spring").unwrap();
        for key in [
            k.bucket("calls"),
            k.probe("calls"),
            k.slots(),
            k.slots_limit(),
            k.halts(),
            k.halts_version(),
        ] {
            assert!(key.starts_with("redial:{spring}:"), "{key}");
        }
        assert_eq!(k.bucket("account"), "redial:{spring}:pacer:account");
    }

    #[test]
    fn namespaces_that_break_the_tag_are_rejected() {
        for bad in ["", "a{b", "a}b"] {
            assert!(Keys::new(bad).is_err(), "{bad:?}");
        }
    }
}
