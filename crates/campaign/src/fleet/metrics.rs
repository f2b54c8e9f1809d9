//! The metrics of the fleet's work queue and journal (labels are low-cardinality).

use metrics::counter;
use redial_policy::catalog::{MetricDef, MetricKind};

/// Contacts this process was handed, by how (`new`, `taken_over`).
pub const CLAIMED: &str = "redial_fleet_contacts_claimed_total";
/// Contacts another process took over from this one while it still worked on them.
pub const CLAIMS_LOST: &str = "redial_fleet_claims_lost_total";
/// Contacts reported failed because every process handed them died (`fleet.max_deliveries`).
pub const POISON: &str = "redial_fleet_poison_contacts_total";
/// Tries of a work-queue or journal command again after Redis was away, by operation.
pub const REDIS_RETRIES: &str = "redial_fleet_redis_retries_total";

/// Every metric of the fleet's work queue and journal.
pub const FLEET_METRICS: &[MetricDef] = &[
    MetricDef {
        name: CLAIMED,
        kind: MetricKind::Counter,
        labels: &["how"],
        help: "Contacts this process was handed from the fleet's list, by how (new, taken_over from a process that stopped renewing its claim).",
    },
    MetricDef {
        name: CLAIMS_LOST,
        kind: MetricKind::Counter,
        labels: &[],
        help: "Contacts another process took over while this one still held them (it stalled past fleet.claim_timeout).",
    },
    MetricDef {
        name: POISON,
        kind: MetricKind::Counter,
        labels: &[],
        help: "Contacts reported failed, not dialled, because every process they were handed to died (fleet.max_deliveries).",
    },
    MetricDef {
        name: REDIS_RETRIES,
        kind: MetricKind::Counter,
        labels: &["op"],
        help: "Work-queue and journal commands tried again because Redis was away, restarting or loading, by operation.",
    },
];

pub(crate) fn claimed(how: &'static str) {
    counter!(CLAIMED, "how" => how).increment(1);
}

pub(crate) fn claim_lost() {
    counter!(CLAIMS_LOST).increment(1);
}

pub(crate) fn poison() {
    counter!(POISON).increment(1);
}

pub(crate) fn redis_retry(op: &'static str) {
    counter!(REDIS_RETRIES, "op" => op).increment(1);
}
