//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use redial_policy::config::{AdaptiveConfig, BucketConfig, PacingConfig};

/// One bucket config.
pub fn bucket(name: &str, routes: &[&str], rate: f64, burst: u32) -> BucketConfig {
    BucketConfig {
        name: name.into(),
        routes: routes.iter().map(|r| (*r).to_owned()).collect(),
        rate,
        burst,
    }
}

/// A pacing config of `buckets`, adaptive rate on or off.
pub fn pacing(buckets: Vec<BucketConfig>, adaptive: bool) -> PacingConfig {
    PacingConfig {
        buckets,
        adaptive: AdaptiveConfig {
            enabled: adaptive,
            ..AdaptiveConfig::default()
        },
        ..PacingConfig::default()
    }
}

/// Asserts `got` is within a millisecond of `want` (tokio timers have millisecond resolution).
#[track_caller]
pub fn assert_about(got: Duration, want: Duration) {
    let diff = got.abs_diff(want);
    assert!(
        diff <= Duration::from_millis(1),
        "took {got:?}, expected {want:?}"
    );
}
