//! The catalogue of metrics the runtime emits, as data.
//!
//! Each crate that emits metrics exports a `METRICS: &[MetricDef]` table; docs/metrics.md is
//! checked against the union of the tables by a test, and another test checks that every
//! metric a run emits is in a table. The definitions live here because this crate is the one
//! every other depends on; nothing here emits anything.

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic counter (`_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram with explicit buckets (every `_seconds` metric).
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`, as Prometheus names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// One metric: its name, type, label names and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// Full name, starting with `redial_`, unit in the name.
    pub name: &'static str,
    /// Prometheus type.
    pub kind: MetricKind,
    /// Label names (low-cardinality only: never a phone number, id or key).
    pub labels: &'static [&'static str],
    /// One line of meaning, used for `# HELP`.
    pub help: &'static str,
}
