//! Prometheus export of every metric the runtime emits.
//!
//! The library crates only talk to the `metrics` facade; this module is the one place that
//! picks a backend. It installs `metrics-exporter-prometheus` as the process-wide recorder and
//! serves the text exposition format on `/metrics`.
//!
//! Why explicit buckets: the exporter turns histograms into client-side *summaries* unless told
//! otherwise, and summary quantiles cannot be aggregated across a fleet of dialers (the p99 of
//! ten p99s is not a p99). Every `_seconds` metric is therefore exported as a real Prometheus
//! histogram with the buckets of [`SECONDS_BUCKETS`], so `histogram_quantile(0.99,
//! sum by (le) (rate(..._bucket[5m])))` works over any number of processes.
//!
//! [`METRICS`] is the catalogue of the whole runtime (limiter, transport and the CLI's own
//! metrics); `docs/metrics.md` is checked against it by `tests/metrics_catalogue.rs`.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};
use redial_policy::catalog::{MetricDef, MetricKind};

/// Upper bounds, in seconds, of the buckets of every `_seconds` histogram.
///
/// From 5 ms to 2 min, roughly ×2–2.5 per step. The low end resolves pacer waits and fast
/// API answers (tens of ms); the middle covers retry backoffs (`backoff.retry.base` is
/// 100 ms–a few s) and call-status polls; the high end covers Retry-After pauses (the API's
/// 429s ask for 1–60 s), long slot waits and requests that retried for a minute or more.
/// Anything longer lands in `+Inf`, where it needs no resolution: it is already an incident.
/// Fourteen buckets keep a labelled series small (16 samples with `_sum` and `_count`).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The suffix that selects the metrics exported with [`SECONDS_BUCKETS`].
const SECONDS_SUFFIX: &str = "_seconds";

/// The CLI's own metrics, appended to [`METRICS`]: the campaign runner's today.
///
/// The hook for the `redial` binary: a table returned here becomes part of [`METRICS`], is
/// described by [`install`], and is checked against `docs/metrics.md`.
pub const fn cli_metrics() -> &'static [MetricDef] {
    redial_campaign::metrics::CAMPAIGN_METRICS
}

const LIMITER: &[MetricDef] = redial_limiter::metrics::METRICS;
const TRANSPORT: &[MetricDef] = redial_transport::metrics::METRICS;
const CLI: &[MetricDef] = cli_metrics();
/// Fleet mode: the limiter's Redis backend, and the campaign's work queue and journal.
const FLEET: [&[MetricDef]; 2] = [
    redial_limiter::redis::metrics::REDIS_METRICS,
    redial_campaign::fleet::metrics::FLEET_METRICS,
];
const ALL_LEN: usize =
    LIMITER.len() + TRANSPORT.len() + CLI.len() + FLEET[0].len() + FLEET[1].len();
const ALL: [MetricDef; ALL_LEN] = concat([LIMITER, TRANSPORT, CLI, FLEET[0], FLEET[1]]);

/// Every metric of the runtime: the limiter's, then the transport's, then [`cli_metrics`],
/// then fleet mode's (Redis limits, then the shared list and journal).
pub const METRICS: &[MetricDef] = &ALL;

/// [`METRICS`] as a vector.
///
/// ```
/// let all = redial_cli::telemetry::all_metrics();
/// assert!(all.iter().any(|m| m.name == "redial_requests_total"));
/// ```
pub fn all_metrics() -> Vec<MetricDef> {
    METRICS.to_vec()
}

/// Copies the tables one after another into an array of exactly their total length.
const fn concat<const N: usize, const T: usize>(tables: [&[MetricDef]; T]) -> [MetricDef; N] {
    const EMPTY: MetricDef = MetricDef {
        name: "",
        kind: MetricKind::Counter,
        labels: &[],
        help: "",
    };
    let mut out = [EMPTY; N];
    let mut n = 0;
    let mut t = 0;
    while t < tables.len() {
        let mut i = 0;
        while i < tables[t].len() {
            out[n] = tables[t][i];
            n += 1;
            i += 1;
        }
        t += 1;
    }
    assert!(n == N, "N is the total length of the tables");
    out
}

/// Why the exporter could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The `/metrics` listener could not bind its address (in use, not local, no permission).
    #[error("cannot serve metrics on {addr}: {reason}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        reason: String,
    },
    /// Another metrics recorder is already installed in this process.
    #[error("cannot install the Prometheus exporter: a metrics recorder is already installed")]
    AlreadyInstalled,
    /// Any other failure of the exporter (e.g. it could not create its runtime).
    #[error("cannot start the Prometheus exporter: {0}")]
    Exporter(#[source] BuildError),
}

/// Installs the global Prometheus recorder and serves `/metrics` on `addr`.
///
/// Every `_seconds` metric is a histogram with [`SECONDS_BUCKETS`]; every metric of
/// [`METRICS`] gets its `# HELP` line. Call it before building the `Client` (the limiter
/// registers its handles when it is built) and bind a loopback address unless the scraper
/// runs elsewhere: the endpoint has no authentication.
///
/// Called inside a tokio runtime, the exporter's listener and its upkeep task (which drains
/// histogram samples every 5 s) are spawned onto that runtime, so it must live as long as
/// metrics should be served; called outside one, the exporter starts its own single-thread
/// runtime on a background thread that runs both.
///
/// # Errors
///
/// [`TelemetryError::Bind`] names `addr` when it cannot be bound;
/// [`TelemetryError::AlreadyInstalled`] when the process already has a recorder (this can be
/// called once per process).
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), redial_cli::telemetry::TelemetryError> {
/// redial_cli::telemetry::install("127.0.0.1:9464".parse().unwrap())?;
/// // build the client, run the campaign; Prometheus scrapes http://127.0.0.1:9464/metrics
/// # Ok(()) }
/// ```
pub fn install(addr: SocketAddr) -> Result<(), TelemetryError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix(SECONDS_SUFFIX.into()), SECONDS_BUCKETS)
        .map_err(TelemetryError::Exporter)?
        .install()
        .map_err(|e| match e {
            BuildError::FailedToCreateHTTPListener(reason) => TelemetryError::Bind { addr, reason },
            BuildError::FailedToSetGlobalRecorder(_) => TelemetryError::AlreadyInstalled,
            other => TelemetryError::Exporter(other),
        })?;
    describe();
    Ok(())
}

/// Registers the help text (and unit) of every metric of [`METRICS`] with the installed
/// recorder: the limiter's and transport's own `describe()`, then [`cli_metrics`] and fleet
/// mode's.
pub fn describe() {
    redial_limiter::metrics::describe();
    redial_transport::metrics::describe();
    for m in cli_metrics()
        .iter()
        .chain(FLEET.iter().flat_map(|t| t.iter()))
    {
        match m.kind {
            MetricKind::Counter => metrics::describe_counter!(m.name, m.help),
            MetricKind::Gauge => metrics::describe_gauge!(m.name, m.help),
            MetricKind::Histogram => {
                metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn metrics_is_the_union_of_the_crate_tables_in_order() {
        let expected: Vec<MetricDef> =
            [LIMITER, TRANSPORT, cli_metrics(), FLEET[0], FLEET[1]].concat();
        assert_eq!(all_metrics(), expected);
        assert!(
            METRICS.iter().all(|m| !m.name.is_empty()),
            "no placeholder left"
        );
    }

    #[test]
    fn names_are_unique_and_follow_the_conventions() {
        let mut names = BTreeSet::new();
        for m in METRICS {
            assert!(names.insert(m.name), "{} is declared twice", m.name);
            assert!(m.name.starts_with("redial_"), "{}", m.name);
            assert!(!m.help.is_empty(), "{} has no help", m.name);
            assert_eq!(
                m.kind == MetricKind::Histogram,
                m.name.ends_with(SECONDS_SUFFIX),
                "{}: histograms, and only they, are `_seconds` (they get the explicit buckets)",
                m.name
            );
            if m.kind == MetricKind::Counter {
                assert!(m.name.ends_with("_total"), "{}", m.name);
            }
        }
    }

    #[test]
    fn buckets_rise_from_5ms_to_2min() {
        assert!(SECONDS_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(SECONDS_BUCKETS.first(), Some(&0.005));
        assert_eq!(SECONDS_BUCKETS.last(), Some(&120.0));
    }

    #[tokio::test]
    async fn a_taken_address_is_named_in_the_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = install(addr).unwrap_err();
        assert!(
            matches!(&err, TelemetryError::Bind { addr: a, .. } if *a == addr),
            "{err:?}"
        );
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
