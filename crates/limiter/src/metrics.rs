//! Every metric this crate emits, as data ([`METRICS`]) and as `describe_*` calls
//! ([`describe`]).
//!
//! Names start with `redial_` and carry their unit; labels are low-cardinality: `bucket` (a
//! configured bucket name), `group` (an endpoint group such as `calls`) and `to` (a breaker
//! state). Handles are registered when a bucket, gate, breaker or budget is built, so install
//! the recorder (e.g. the Prometheus exporter) before building the [`crate::Limiter`].

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use redial_policy::catalog::{MetricDef, MetricKind};

/// Gauge: current (adaptive) rate of a bucket, requests per second. Label `bucket`.
pub const PACER_RATE: &str = "redial_pacer_rate_requests_per_second";
/// Gauge: configured ceiling of a bucket, requests per second. Label `bucket`.
pub const PACER_CEILING: &str = "redial_pacer_ceiling_requests_per_second";
/// Histogram: time a request waited for its bucket, seconds. Label `bucket`.
pub const PACER_WAIT: &str = "redial_pacer_wait_seconds";
/// Histogram: how far each Retry-After extended a bucket's pause, seconds. Label `bucket`.
pub const PACER_PAUSE: &str = "redial_pacer_pause_seconds";
/// Counter: throttles (rate_limit_exceeded) reported against a bucket. Label `bucket`.
pub const PACER_THROTTLES: &str = "redial_pacer_throttles_total";
/// Gauge: call slots held.
pub const SLOTS_HELD: &str = "redial_slots_held";
/// Gauge: current call-slot limit.
pub const SLOTS_LIMIT: &str = "redial_slots_limit";
/// Histogram: time a call creation waited for a slot, seconds.
pub const SLOTS_WAIT: &str = "redial_slots_wait_seconds";
/// Counter: times the slot limit was lowered after concurrent_call_limit.
pub const SLOTS_SHRINKS: &str = "redial_slots_limit_shrinks_total";
/// Gauge: breaker state per group: 0 closed, 1 half-open, 2 open. Label `group`.
pub const BREAKER_STATE: &str = "redial_breaker_state";
/// Counter: breaker transitions. Labels `group`, `to` (`closed`, `half_open`, `open`).
pub const BREAKER_TRANSITIONS: &str = "redial_breaker_transitions_total";
/// Counter: requests refused because their circuit was open. Label `group`.
pub const BREAKER_REJECTIONS: &str = "redial_breaker_rejections_total";
/// Gauge: how many requests this process may have on the wire at once (`[pacing.in_flight]`).
pub const IN_FLIGHT_LIMIT: &str = "redial_requests_in_flight_limit";
/// Counter: retries refused by the retry budget.
pub const BUDGET_REFUSALS: &str = "redial_budget_refusals_total";

/// Every metric this crate emits.
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        name: PACER_RATE,
        kind: MetricKind::Gauge,
        labels: &["bucket"],
        help: "Current adaptive rate of a pacing bucket, requests per second.",
    },
    MetricDef {
        name: PACER_CEILING,
        kind: MetricKind::Gauge,
        labels: &["bucket"],
        help: "Configured ceiling of a pacing bucket, requests per second.",
    },
    MetricDef {
        name: PACER_WAIT,
        kind: MetricKind::Histogram,
        labels: &["bucket"],
        help: "Time a request waited for its pacing bucket, seconds.",
    },
    MetricDef {
        name: PACER_PAUSE,
        kind: MetricKind::Histogram,
        labels: &["bucket"],
        help: "How far a Retry-After extended a bucket's pause, seconds.",
    },
    MetricDef {
        name: PACER_THROTTLES,
        kind: MetricKind::Counter,
        labels: &["bucket"],
        help: "Throttles (rate_limit_exceeded) reported against a pacing bucket.",
    },
    MetricDef {
        name: SLOTS_HELD,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Call slots currently held.",
    },
    MetricDef {
        name: SLOTS_LIMIT,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Current call-slot limit.",
    },
    MetricDef {
        name: SLOTS_WAIT,
        kind: MetricKind::Histogram,
        labels: &[],
        help: "Time a call creation waited for a call slot, seconds.",
    },
    MetricDef {
        name: SLOTS_SHRINKS,
        kind: MetricKind::Counter,
        labels: &[],
        help: "Times the call-slot limit was lowered after concurrent_call_limit.",
    },
    MetricDef {
        name: BREAKER_STATE,
        kind: MetricKind::Gauge,
        labels: &["group"],
        help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
    },
    MetricDef {
        name: BREAKER_TRANSITIONS,
        kind: MetricKind::Counter,
        labels: &["group", "to"],
        help: "Circuit breaker state transitions.",
    },
    MetricDef {
        name: BREAKER_REJECTIONS,
        kind: MetricKind::Counter,
        labels: &["group"],
        help: "Requests failed fast because their circuit was open.",
    },
    MetricDef {
        name: IN_FLIGHT_LIMIT,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Requests this process may have on the wire at once (pacing.in_flight).",
    },
    MetricDef {
        name: BUDGET_REFUSALS,
        kind: MetricKind::Counter,
        labels: &[],
        help: "Retries refused by the retry budget.",
    },
];

/// Registers the help text and unit of every metric in [`METRICS`] with the installed
/// recorder. Call once after installing it.
pub fn describe() {
    for m in METRICS {
        let unit = if m.name.ends_with("_seconds") {
            Some(Unit::Seconds)
        } else {
            None
        };
        match (m.kind, unit) {
            (MetricKind::Counter, _) => describe_counter!(m.name, m.help),
            (MetricKind::Gauge, _) => describe_gauge!(m.name, m.help),
            (MetricKind::Histogram, Some(u)) => describe_histogram!(m.name, u, m.help),
            (MetricKind::Histogram, None) => describe_histogram!(m.name, m.help),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use metrics_util::debugging::DebuggingRecorder;
    use redial_policy::config::Config;
    use redial_policy::{Method, RetryBudget};

    use super::*;
    use crate::Limiter;

    /// Runs a little of everything and checks that every metric emitted is in [`METRICS`]
    /// with its declared labels, and that every entry of [`METRICS`] was emitted.
    #[test]
    fn every_emitted_metric_is_catalogued() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async {
                let mut config = Config::default();
                config.breaker.consecutive_failures = 1;
                config.budget.min_per_second = 0;
                let limiter = Limiter::in_process(&config);
                limiter.pacer().acquire(Method::Post, "/v1/calls").await;
                limiter.pacer().on_throttle(
                    Method::Post,
                    "/v1/calls",
                    Some(Duration::from_secs(1)),
                );
                limiter.pacer().acquire(Method::Post, "/v1/calls").await;
                let slot = limiter.slots().acquire().await;
                limiter.slots().on_limit_hit();
                drop(slot);
                limiter.breakers().on_failure("calls");
                assert!(limiter.breakers().try_acquire("calls").is_err());
                assert!(!limiter.budget().try_withdraw(1.0));
                let gate = crate::InFlightGate::new(&config.pacing.in_flight);
                gate.acquire().await.lost();
            });
        });
        let catalogue: BTreeSet<_> = METRICS.iter().map(|m| m.name).collect();
        let mut seen = BTreeSet::new();
        for (key, _, _, _) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let def = METRICS
                .iter()
                .find(|m| m.name == key.name())
                .unwrap_or_else(|| panic!("{} is not in METRICS", key.name()));
            let labels: Vec<_> = key.labels().map(|l| l.key()).collect();
            assert_eq!(labels, def.labels, "labels of {}", def.name);
            seen.insert(def.name);
        }
        assert_eq!(
            seen, catalogue,
            "every catalogued metric is emitted by this run"
        );
    }

    #[test]
    fn names_follow_the_conventions() {
        for m in METRICS {
            assert!(m.name.starts_with("redial_"), "{}", m.name);
            if m.kind == MetricKind::Counter {
                assert!(m.name.ends_with("_total"), "{}", m.name);
            }
            if m.kind == MetricKind::Histogram {
                assert!(m.name.ends_with("_seconds"), "{}", m.name);
            }
        }
        describe(); // no recorder installed: must not panic
    }
}
