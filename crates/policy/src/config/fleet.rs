//! `[fleet]`: how a process behaves in a fleet of dialer processes sharing one account and
//! one contact list through Redis (`redial campaign --redis URL [--campaign NAME]`).
//!
//! Plain data, read by the CLI into `redial-limiter`'s and `redial-campaign`'s Redis parts;
//! ignored without `--redis`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default call-slot lease: a killed process's slots come back within this. Same as
/// `redial_limiter::redis::DEFAULT_LEASE` (assumed there).
pub const DEFAULT_FLEET_LEASE: Duration = Duration::from_secs(30);
/// Default claim timeout, seconds: a contact handed to a process that stops renewing its
/// claim for this long (it died, or stalled) is taken over by another (assumed: well above a
/// stall, short enough that a dead process's contacts are not left for long).
pub const DEFAULT_CLAIM_TIMEOUT: Duration = Duration::from_secs(60);
/// Default deliveries after which a contact that keeps killing its workers is no longer
/// handed out (assumed).
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;
/// Default longest wait for Redis by the journal and the work queue before the campaign
/// stops with an error, seconds (assumed: a Redis restart or failover takes seconds).
pub const DEFAULT_REDIS_WAIT: Duration = Duration::from_secs(600);

/// What sends do while Redis cannot be reached (`fleet.on_redis_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnRedisErrorName {
    /// Hold sends until Redis answers again (the default).
    #[default]
    Wait,
    /// Go on alone at `1/share` of the limits.
    Local,
}

/// `[fleet]`: a process's part in a fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSettings {
    /// What sends do while Redis cannot be reached: `"wait"` or `"local"`. The journal and
    /// the work queue always wait (a contact cannot be claimed or recorded without Redis).
    pub on_redis_error: OnRedisErrorName,
    /// Processes in the fleet: under `"local"`, each goes on at this share of the limits.
    pub share: u32,
    /// Life of a call-slot lease without renewal (renewed every third of it).
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// A contact whose process has not renewed its claim for this long is taken over by
    /// another (renewed every third of it).
    #[serde(with = "humantime_serde")]
    pub claim_timeout: Duration,
    /// Deliveries after which a contact that keeps killing its workers is reported `failed`
    /// instead of being handed out again.
    pub max_deliveries: u32,
    /// Longest the journal and the work queue wait for Redis before the campaign stops.
    #[serde(with = "humantime_serde")]
    pub redis_wait: Duration,
}

impl Default for FleetSettings {
    fn default() -> Self {
        Self {
            on_redis_error: OnRedisErrorName::Wait,
            share: 1,
            lease: DEFAULT_FLEET_LEASE,
            claim_timeout: DEFAULT_CLAIM_TIMEOUT,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            redis_wait: DEFAULT_REDIS_WAIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn the_fleet_section_parses_and_is_validated() {
        let c = Config::from_toml_str(
            "[fleet]\non_redis_error = \"local\"\nshare = 3\nclaim_timeout = \"2s\"\nlease = \"3s\"",
        )
        .unwrap();
        assert_eq!(c.fleet.on_redis_error, OnRedisErrorName::Local);
        assert_eq!(c.fleet.share, 3);
        assert_eq!(c.fleet.claim_timeout, Duration::from_secs(2));
        assert_eq!(Config::default().fleet, FleetSettings::default());
        let e = Config::from_toml_str("[fleet]\non_redis_error = \"panic\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("fleet.on_redis_error") && e.contains("wait"),
            "{e}"
        );
        let e =
            Config::from_toml_str("[fleet]\nshare = 0\nclaim_timeout = \"1ms\"\nlease = \"0s\"")
                .unwrap_err()
                .to_string();
        for key in ["fleet.share", "fleet.claim_timeout", "fleet.lease"] {
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
