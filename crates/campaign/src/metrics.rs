//! The metrics the campaign engine itself emits (the runtime's own are in the limiter and
//! transport crates). Labels are low-cardinality: a result status, never a number or id.

use metrics::{counter, gauge};
use redial_policy::catalog::{MetricDef, MetricKind};

use crate::outcome::OutcomeStatus as Status;

/// Contacts finished, by result status.
pub const CONTACTS: &str = "redial_campaign_contacts_total";
/// Calls live now (call slots held by the campaign).
pub const LIVE_CALLS: &str = "redial_campaign_live_calls";

/// Every metric the campaign runner emits.
pub const CAMPAIGN_METRICS: &[MetricDef] = &[
    MetricDef {
        name: CONTACTS,
        kind: MetricKind::Counter,
        labels: &["status"],
        help: "Campaign contacts finished, by result status (completed, failed, opted_out, ambiguous, halted).",
    },
    MetricDef {
        name: LIVE_CALLS,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Calls live now: concurrent-call slots held by the campaign.",
    },
];

/// Registers the help text of [`CAMPAIGN_METRICS`] with the installed recorder.
pub fn describe() {
    for m in CAMPAIGN_METRICS {
        match m.kind {
            MetricKind::Counter => metrics::describe_counter!(m.name, m.help),
            MetricKind::Gauge => metrics::describe_gauge!(m.name, m.help),
            MetricKind::Histogram => {
                metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help)
            }
        }
    }
}

/// Counts a finished contact.
pub(crate) fn contact_done(status: Status) {
    counter!(CONTACTS, "status" => status.as_str()).increment(1);
}

/// Sets the live-calls gauge.
pub(crate) fn live_calls(n: u32) {
    gauge!(LIVE_CALLS).set(f64::from(n));
}
