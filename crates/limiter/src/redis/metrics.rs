//! Metrics of the Redis backend, as data ([`REDIS_METRICS`]) and `describe_*` calls
//! ([`describe`]). The pacer and gate also emit the in-process backend's metrics
//! ([`crate::METRICS`]: rates, waits, pauses, slots held and limit) under the same names.

use metrics::{describe_counter, describe_gauge, describe_histogram};
use redial_policy::catalog::{MetricDef, MetricKind};

/// Counter: Redis commands that failed (unreachable, timed out, or answered an error).
/// Label `op` (see [`OPS`]).
pub const REDIS_ERRORS: &str = "redial_redis_errors_total";
/// Gauge: 1 while Redis answers, 0 after an error until the next answer.
pub const REDIS_UP: &str = "redial_redis_up";
/// Counter: acquires served by the local fallback under `on_redis_error = local`.
/// Label `part` (`pacer`, `slots`).
pub const REDIS_FALLBACKS: &str = "redial_redis_fallbacks_total";
/// Histogram: round trip of one Redis script call, seconds. Label `op` (see [`OPS`]).
pub const REDIS_ROUND_TRIP: &str = "redial_redis_round_trip_seconds";
/// Gauge: call-slot leases held by the whole fleet, as of the last answer.
pub const REDIS_FLEET_SLOTS: &str = "redial_redis_fleet_slots_held";

/// Values of the `op` label: `acquire`, `throttle`, `success` (pacer), `slot_acquire`,
/// `slot_release`, `slot_renew`, `slot_limit` (gate), `halts` (halts store).
pub const OPS: &[&str] = &[
    "acquire",
    "throttle",
    "success",
    "slot_acquire",
    "slot_release",
    "slot_renew",
    "slot_limit",
    "halts",
];

/// Every metric the Redis backend adds to [`crate::METRICS`].
pub const REDIS_METRICS: &[MetricDef] = &[
    MetricDef {
        name: REDIS_ERRORS,
        kind: MetricKind::Counter,
        labels: &["op"],
        help: "Redis commands of the fleet backend that failed.",
    },
    MetricDef {
        name: REDIS_UP,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "1 while Redis answers the fleet backend, 0 after an error.",
    },
    MetricDef {
        name: REDIS_FALLBACKS,
        kind: MetricKind::Counter,
        labels: &["part"],
        help: "Acquires served by the local fallback while Redis was unreachable.",
    },
    MetricDef {
        name: REDIS_ROUND_TRIP,
        kind: MetricKind::Histogram,
        labels: &["op"],
        help: "Round trip of one Redis script call of the fleet backend, seconds.",
    },
    MetricDef {
        name: REDIS_FLEET_SLOTS,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Call-slot leases held by the whole fleet, as of the last answer.",
    },
];

/// Registers the help text of every metric in [`REDIS_METRICS`] with the installed recorder.
pub fn describe() {
    for m in REDIS_METRICS {
        match m.kind {
            MetricKind::Counter => describe_counter!(m.name, m.help),
            MetricKind::Gauge => describe_gauge!(m.name, m.help),
            MetricKind::Histogram => describe_histogram!(m.name, metrics::Unit::Seconds, m.help),
        }
    }
}

/// Handles of the per-`op` metrics, registered once.
#[derive(Clone)]
pub(crate) struct OpMetrics {
    errors: metrics::Counter,
    round_trip: metrics::Histogram,
}

impl std::fmt::Debug for OpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpMetrics")
    }
}

impl OpMetrics {
    pub(crate) fn new(op: &'static str) -> Self {
        Self {
            errors: metrics::counter!(REDIS_ERRORS, "op" => op),
            round_trip: metrics::histogram!(REDIS_ROUND_TRIP, "op" => op),
        }
    }

    pub(crate) fn error(&self) {
        self.errors.increment(1);
    }

    pub(crate) fn round_trip(&self, seconds: f64) {
        self.round_trip.record(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions_and_do_not_clash() {
        for m in REDIS_METRICS {
            assert!(m.name.starts_with("redial_redis_"), "{}", m.name);
            match m.kind {
                MetricKind::Counter => assert!(m.name.ends_with("_total"), "{}", m.name),
                MetricKind::Histogram => assert!(m.name.ends_with("_seconds"), "{}", m.name),
                _ => {}
            }
            assert!(crate::METRICS.iter().all(|c| c.name != m.name));
        }
        describe();
    }
}
