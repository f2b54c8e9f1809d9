//! The metrics this crate emits (docs/metrics.md lists them; a test keeps both in step).
//!
//! Labels are low-cardinality: endpoint group, route pattern, error type and code (documented
//! names, `unknown` for others, `none` when absent), decision, outcome, halt scope kind —
//! never a phone number, id or key.

use std::time::Duration;

use metrics::{counter, histogram};
use redial_policy::catalog::{MetricDef, MetricKind};
use redial_policy::{Classification, Decision, ErrorCode, ErrorType, Failure, HaltScope};

/// Logical requests by endpoint group, route pattern and outcome.
pub const REQUESTS: &str = "redial_requests_total";
/// Attempts by endpoint group, error type, error code and decision.
pub const ATTEMPTS: &str = "redial_attempts_total";
/// Duration of logical requests, retries and waits included.
pub const REQUEST_DURATION: &str = "redial_request_duration_seconds";
/// Backoff delays chosen by the retry loop.
pub const BACKOFF_DELAY: &str = "redial_backoff_delay_seconds";
/// Requests that ended ambiguous (the server may have acted; not retried).
pub const AMBIGUOUS: &str = "redial_ambiguous_total";
/// Scopes halted, by scope kind.
pub const HALTS: &str = "redial_halts_total";
/// Error types or codes seen that the contract does not document.
pub const UNKNOWN_ERRORS: &str = "redial_unknown_errors_total";
/// Support reports produced.
pub const SUPPORT_REPORTS: &str = "redial_support_reports_total";

/// Every metric this crate emits.
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        name: REQUESTS,
        kind: MetricKind::Counter,
        labels: &["group", "route", "outcome"],
        help: "Logical requests by endpoint group, route pattern and outcome.",
    },
    MetricDef {
        name: ATTEMPTS,
        kind: MetricKind::Counter,
        labels: &["group", "type", "code", "decision"],
        help: "Attempts by endpoint group, error type, error code and the decision taken.",
    },
    MetricDef {
        name: REQUEST_DURATION,
        kind: MetricKind::Histogram,
        labels: &["group", "outcome"],
        help: "Duration of logical requests in seconds, retries and waits included.",
    },
    MetricDef {
        name: BACKOFF_DELAY,
        kind: MetricKind::Histogram,
        labels: &["group", "decision"],
        help: "Delay before a retry, throttle or slot wait, in seconds.",
    },
    MetricDef {
        name: AMBIGUOUS,
        kind: MetricKind::Counter,
        labels: &["group"],
        help: "Requests that ended ambiguous: the server may have acted and a retry was unsafe.",
    },
    MetricDef {
        name: HALTS,
        kind: MetricKind::Counter,
        labels: &["scope"],
        help: "Halt scopes tripped, by scope kind (account, agent, sender).",
    },
    MetricDef {
        name: UNKNOWN_ERRORS,
        kind: MetricKind::Counter,
        labels: &["field"],
        help: "Error types (field=type) or codes (field=code) the contract does not document.",
    },
    MetricDef {
        name: SUPPORT_REPORTS,
        kind: MetricKind::Counter,
        labels: &["type"],
        help: "Support reports assembled for Nixflex, by error type.",
    },
];

/// Registers descriptions of every metric with the installed recorder.
pub fn describe() {
    for m in METRICS {
        match m.kind {
            MetricKind::Counter => metrics::describe_counter!(m.name, m.help),
            MetricKind::Gauge => metrics::describe_gauge!(m.name, m.help),
            MetricKind::Histogram => {
                metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help)
            }
        }
    }
}

fn type_label(t: Option<&ErrorType>) -> &'static str {
    t.map_or("none", |t| t.documented_name().unwrap_or("unknown"))
}

fn code_label(c: Option<&ErrorCode>) -> &'static str {
    c.map_or("none", |c| c.documented_name().unwrap_or("unknown"))
}

/// Records one failed attempt and the decision taken on it.
pub(crate) fn failed_attempt(
    group: &'static str,
    failure: &Failure,
    c: &Classification,
    decision: &Decision,
) {
    let (t, code) = match failure {
        Failure::Api(e) => (
            type_label(e.error_type.as_ref()),
            code_label(e.code.as_ref()),
        ),
        Failure::Transport(t) => ("transport", t.kind.as_str()),
    };
    counter!(ATTEMPTS, "group" => group, "type" => t, "code" => code, "decision" => decision.as_str()).increment(1);
    if c.unknown_code {
        counter!(UNKNOWN_ERRORS, "field" => "code").increment(1);
    }
    if c.unknown_type {
        counter!(UNKNOWN_ERRORS, "field" => "type").increment(1);
    }
    if let Some(delay) = decision.retry_delay() {
        histogram!(BACKOFF_DELAY, "group" => group, "decision" => decision.as_str())
            .record(delay.as_secs_f64());
    }
}

/// Records a scope newly halted.
pub(crate) fn halted(scope: &HaltScope) {
    counter!(HALTS, "scope" => scope.kind()).increment(1);
}

/// Handles of the success path's metrics, registered once per route: building a labelled
/// key and looking it up in the recorder on every request cost more than the rest of the
/// bookkeeping together (docs/benchmarks.md). Like the limiter's handles they bind to the
/// recorder installed when a route is first used: install the exporter before requests flow.
#[derive(Debug, Default)]
pub(crate) struct SuccessHandles {
    routes: std::sync::Mutex<Vec<RouteHandles>>,
}

#[derive(Debug)]
struct RouteHandles {
    route: &'static str,
    attempts: metrics::Counter,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

impl SuccessHandles {
    /// Records a request that succeeded (its successful attempt, the request, its duration).
    pub(crate) fn record(&self, group: &'static str, route: &'static str, elapsed: Duration) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Routes are `&'static str` constants: usually the same pointer, compared first.
        let index = match routes
            .iter()
            .position(|r| std::ptr::eq(r.route, route) || r.route == route)
        {
            Some(i) => i,
            None => {
                routes.push(RouteHandles {
                    route,
                    attempts: counter!(ATTEMPTS, "group" => group, "type" => "none", "code" => "none", "decision" => "success"),
                    requests: counter!(REQUESTS, "group" => group, "route" => route, "outcome" => "success"),
                    duration: histogram!(REQUEST_DURATION, "group" => group, "outcome" => "success"),
                });
                routes.len() - 1
            }
        };
        let handles = &routes[index];
        handles.attempts.increment(1);
        handles.requests.increment(1);
        handles.duration.record(elapsed.as_secs_f64());
    }
}

/// Records the end of a logical request that did not succeed.
pub(crate) fn request_failed(
    group: &'static str,
    route: &'static str,
    outcome: &'static str,
    elapsed: Duration,
) {
    counter!(REQUESTS, "group" => group, "route" => route, "outcome" => outcome).increment(1);
    histogram!(REQUEST_DURATION, "group" => group, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    if outcome == "ambiguous" {
        counter!(AMBIGUOUS, "group" => group).increment(1);
    }
}

/// Records a support report.
pub(crate) fn support_report(error_type: Option<&ErrorType>) {
    counter!(SUPPORT_REPORTS, "type" => type_label(error_type)).increment(1);
}
