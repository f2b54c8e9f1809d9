//! The work queue's and the journal's keys. They share the limiter's namespace and hash tag
//! (`redial:{campaign}:...`), so every script's keys live on one Redis Cluster shard.

use super::error::RedisWorkError;

/// Key names of one campaign.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of campaign `name`: rejects an empty name or one with `{`/`}` (it would break
    /// the hash tag).
    pub(crate) fn new(name: &str) -> Result<Self, RedisWorkError> {
        if name.is_empty() || name.contains(['{', '}']) {
            return Err(RedisWorkError::InvalidName {
                name: name.to_owned(),
            });
        }
        Ok(Self {
            prefix: format!("redial:{{{name}}}:"),
        })
    }

    /// Hash: the campaign marker (`id`, `agent`, `contacts`, `bytes`, `hash`, `state`, `run`,
    /// `total`, `done`, ...). Its absence while the list exists means Redis lost data.
    pub(crate) fn marker(&self) -> String {
        format!("{}campaign", self.prefix)
    }

    /// Stream: the contact list, one entry per record; one consumer group per run (`run:<n>`).
    pub(crate) fn stream(&self) -> String {
        format!("{}contacts", self.prefix)
    }

    /// Hash: the journal, field = contact key, value = its latest state (JSON).
    pub(crate) fn journal(&self) -> String {
        format!("{}journal", self.prefix)
    }

    /// Sorted set: processes working on the campaign, scored by the expiry of their presence
    /// (server ms).
    pub(crate) fn processes(&self) -> String {
        format!("{}processes", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_hash_tag() {
        let k = Keys::new("spring").unwrap();
        for key in [k.marker(), k.stream(), k.journal(), k.processes()] {
            assert!(key.starts_with("redial:{spring}:"), "{key}");
        }
        for bad in ["", "a{b", "a}b"] {
            assert!(Keys::new(bad).is_err(), "{bad:?}");
        }
    }
}
