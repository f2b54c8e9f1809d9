//! `docs/grafana/redial.json` is a valid dashboard whose queries use only catalogued metrics,
//! with labels those metrics have, and `histogram_quantile` only over histogram buckets.

use std::collections::{BTreeMap, BTreeSet};

use redial_cli::telemetry::all_metrics;
use redial_policy::catalog::{MetricDef, MetricKind};
use serde_json::Value;

const DASHBOARD: &str = include_str!("../../../docs/grafana/redial.json");
/// The datasource every panel and query uses: the dashboard's datasource variable.
const DATASOURCE: &str = "${DS_PROMETHEUS}";
/// Histogram series suffixes.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];
/// Labels every scraped series has or that histograms add.
const TARGET_LABELS: [&str; 3] = ["instance", "job", "le"];

/// A metric reference in a PromQL expression: the series name as written, the catalogued
/// metric it belongs to, and the label names of its `{…}` selector.
#[derive(Debug)]
struct Reference {
    series: String,
    metric: Option<MetricDef>,
    selector_labels: Vec<String>,
}

fn catalogue() -> BTreeMap<&'static str, MetricDef> {
    all_metrics().into_iter().map(|m| (m.name, m)).collect()
}

/// The catalogued metric a series name belongs to: itself, or a histogram whose
/// `_bucket`/`_sum`/`_count` series it is.
fn metric_of(series: &str, catalogue: &BTreeMap<&str, MetricDef>) -> Option<MetricDef> {
    if let Some(m) = catalogue.get(series) {
        return Some(*m);
    }
    HISTOGRAM_SUFFIXES.iter().find_map(|suffix| {
        let m = catalogue.get(series.strip_suffix(suffix)?)?;
        (m.kind == MetricKind::Histogram).then_some(*m)
    })
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Every `redial_…` identifier of `expr`, with the label names of the selector that follows it.
fn references(expr: &str, catalogue: &BTreeMap<&str, MetricDef>) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut i = 0;
    while let Some(at) = expr[i..].find("redial_").map(|p| p + i) {
        let end = expr[at..]
            .find(|c| !is_ident(c))
            .map_or(expr.len(), |p| p + at);
        let starts_word = !expr[..at].ends_with(is_ident);
        if starts_word {
            let series = expr[at..end].to_owned();
            let mut selector_labels = Vec::new();
            if expr[end..].starts_with('{') {
                let close = expr[end..].find('}').expect("a closed selector") + end;
                for matcher in expr[end + 1..close].split(',') {
                    let name = matcher.split(['=', '!']).next().unwrap_or("").trim();
                    if !name.is_empty() {
                        selector_labels.push(name.to_owned());
                    }
                }
            }
            let metric = metric_of(&series, catalogue);
            refs.push(Reference {
                series,
                metric,
                selector_labels,
            });
        }
        i = end;
    }
    refs
}

/// The argument text of every `name(` … `)` call in `expr`.
fn calls<'a>(expr: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("{name}(");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = expr[from..].find(&open).map(|p| p + from + open.len()) {
        let mut depth = 1;
        let mut end = start;
        for (i, c) in expr[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + i;
                break;
            }
        }
        assert!(depth == 0, "unbalanced parentheses in {expr}");
        out.push(&expr[start..end]);
        from = end;
    }
    out
}

/// Label names of every `by (…)` / `without (…)` clause of `expr`.
fn grouping_labels(expr: &str) -> Vec<String> {
    ["by", "without"]
        .iter()
        .flat_map(|kw| calls(expr, &format!("{kw} ")))
        .flat_map(|list| list.split(','))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().expect("panels is an array") {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every PromQL expression of the dashboard: panel targets and query variables.
fn expressions(dashboard: &Value) -> Vec<String> {
    let mut exprs: Vec<String> = panels(dashboard)
        .iter()
        .filter_map(|p| p.get("targets")?.as_array())
        .flatten()
        .map(|t| {
            t["expr"]
                .as_str()
                .expect("every target has an expr")
                .to_owned()
        })
        .collect();
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if var["type"] == "query" {
            exprs.push(var["definition"].as_str().unwrap().to_owned());
        }
    }
    exprs
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("docs/grafana/redial.json is valid JSON")
}

#[test]
fn the_dashboard_is_a_dashboard_with_unique_panel_ids() {
    let d = dashboard();
    assert_eq!(d["title"], "redial");
    assert!(d["uid"].as_str().is_some_and(|u| !u.is_empty()));
    let schema = d["schemaVersion"].as_u64().expect("a schemaVersion");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");
    let vars = d["templating"]["list"].as_array().expect("templating");
    assert!(
        vars.iter().any(|v| v["name"] == "DS_PROMETHEUS"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "a Prometheus datasource variable named DS_PROMETHEUS"
    );

    let panels = panels(&d);
    assert!(panels.len() >= 9, "{} panels", panels.len());
    let mut ids = BTreeSet::new();
    for p in &panels {
        let title = p["title"].as_str().expect("every panel has a title");
        let id = p["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{title} has an integer id"));
        assert!(ids.insert(id), "panel id {id} ({title}) is not unique");
        for key in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][key].is_u64(), "{title} has gridPos.{key}");
        }
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(
            p["datasource"]["uid"], DATASOURCE,
            "{title} uses the variable"
        );
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title} has targets"));
        assert!(!targets.is_empty(), "{title} has a query");
        for t in targets {
            assert_eq!(
                t["datasource"]["uid"], DATASOURCE,
                "{title} uses the variable"
            );
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.is_empty()),
                "{title}: an expr"
            );
        }
    }
}

#[test]
fn every_query_uses_catalogued_metrics_and_their_labels() {
    let catalogue = catalogue();
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for expr in expressions(&dashboard()) {
        let refs = references(&expr, &catalogue);
        if refs.is_empty() {
            problems.push(format!("no redial_ metric in {expr}"));
        }
        let mut labels: BTreeSet<&str> = TARGET_LABELS.into_iter().collect();
        for r in &refs {
            let Some(m) = r.metric else {
                problems.push(format!(
                    "{} is not a catalogued metric (in {expr})",
                    r.series
                ));
                continue;
            };
            used.insert(m.name);
            labels.extend(m.labels.iter().copied());
            for l in &r.selector_labels {
                if !m.labels.contains(&l.as_str()) && !TARGET_LABELS.contains(&l.as_str()) {
                    problems.push(format!("{} has no label {l} (in {expr})", m.name));
                }
            }
        }
        for l in grouping_labels(&expr) {
            if !labels.contains(l.as_str()) {
                problems.push(format!("no metric of {expr} has the label {l}"));
            }
        }
        for arg in calls(&expr, "histogram_quantile") {
            for r in references(arg, &catalogue) {
                let bucket_of_histogram = r.series.ends_with("_bucket")
                    && r.metric.is_some_and(|m| m.kind == MetricKind::Histogram);
                if !bucket_of_histogram {
                    problems.push(format!(
                        "histogram_quantile over {}, not a histogram's _bucket series (in {expr})",
                        r.series
                    ));
                }
            }
        }
    }
    // The panels the runbook relies on.
    for needed in [
        "redial_requests_total",
        "redial_attempts_total",
        "redial_pacer_rate_requests_per_second",
        "redial_pacer_ceiling_requests_per_second",
        "redial_slots_held",
        "redial_slots_limit",
        "redial_backoff_delay_seconds",
        "redial_breaker_state",
        "redial_halts_total",
        "redial_ambiguous_total",
        "redial_request_duration_seconds",
    ] {
        if !used.contains(needed) {
            problems.push(format!("no panel shows {needed}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_query_parser_finds_metrics_labels_and_quantile_arguments() {
    let catalogue = catalogue();
    let expr = "histogram_quantile(0.99, sum by (le, group) (rate(redial_backoff_delay_seconds_bucket{group=~\"$g\", decision!=\"x\"}[5m]))) / on() redial_slots_limit + redial_nope_total";
    let refs = references(expr, &catalogue);
    let series: Vec<_> = refs.iter().map(|r| r.series.as_str()).collect();
    assert_eq!(
        series,
        [
            "redial_backoff_delay_seconds_bucket",
            "redial_slots_limit",
            "redial_nope_total"
        ]
    );
    assert_eq!(
        refs[0].metric.map(|m| m.name),
        Some("redial_backoff_delay_seconds")
    );
    assert_eq!(refs[0].selector_labels, ["group", "decision"]);
    assert!(refs[2].metric.is_none(), "an unknown metric is reported");
    // `_bucket` is only stripped from histograms.
    assert!(metric_of("redial_slots_limit_bucket", &catalogue).is_none());
    assert_eq!(grouping_labels(expr), ["le", "group"]);
    let args = calls(expr, "histogram_quantile");
    assert_eq!(args.len(), 1);
    assert!(args[0].ends_with("[5m]))") && !args[0].contains("redial_slots_limit"));
}
