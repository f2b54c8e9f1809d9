//! Deciding which fault, if any, a request gets.
//!
//! The decision is a plain function of the fault config, the route, the time since start, the
//! seeded RNG and the requests counted so far by `faults.first`, so a given sequence of
//! requests always meets the same faults.

use std::time::Duration;

use rand::Rng;

use crate::scenario::{FaultConfig, FaultKind};

/// The only route `outbound_failed` applies to.
pub(crate) const CREATE_CALL: &str = "POST /v1/calls";

/// What to do to one request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FaultPlan {
    /// The fault to inject, if any.
    pub(crate) kind: Option<FaultKind>,
    /// Latency to add before anything else.
    pub(crate) latency: Duration,
    /// `details.twilio_error` for `outbound_failed`.
    pub(crate) twilio_error: u32,
}

/// Whether `route` (`"METHOD /pattern"`) is selected by `filters` (empty = all).
pub(crate) fn route_matches(filters: &[String], route: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| match f.strip_suffix('*') {
            Some(prefix) => route.starts_with(prefix),
            None => f == route,
        })
}

/// A request caught by a gateway outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutageHit {
    /// Status of the HTML page.
    pub(crate) status: u16,
    /// Whether the API executed the request before the gateway answered.
    pub(crate) acted: bool,
}

/// Whether requests on `route` can act (change state): `POST` and `DELETE`.
fn can_act(route: &str) -> bool {
    route.starts_with("POST ") || route.starts_with("DELETE ")
}

/// Decides whether a request on `route`, `elapsed` after start, is caught by an outage
/// window. Draws from `rng` only inside a window that covers the route.
pub(crate) fn outage(
    cfg: &FaultConfig,
    route: &str,
    elapsed: Duration,
    rng: &mut impl Rng,
) -> Option<OutageHit> {
    for o in &cfg.outages {
        if elapsed >= o.start
            && elapsed < o.end
            && route_matches(&o.routes, route)
            && rng.random::<f64>() < o.rate
        {
            let acted = can_act(route) && o.acted > 0.0 && rng.random::<f64>() < o.acted;
            return Some(OutageHit {
                status: o.status,
                acted,
            });
        }
    }
    None
}

fn applicable(kind: FaultKind, route: &str) -> bool {
    kind != FaultKind::OutboundFailed || route == CREATE_CALL
}

/// Requests affected so far by each of `faults.first`, in its order.
#[derive(Debug, Default)]
pub(crate) struct FirstHits(Vec<u64>);

impl FirstHits {
    /// The fault of the first `faults.first` entry on `route` that still has requests to
    /// affect, counting this request against it. Draws nothing from the RNG.
    fn take(&mut self, cfg: &FaultConfig, route: &str) -> Option<FaultKind> {
        if self.0.len() < cfg.first.len() {
            self.0.resize(cfg.first.len(), 0);
        }
        for (f, hits) in cfg.first.iter().zip(self.0.iter_mut()) {
            if *hits < f.count && route_matches(&f.routes, route) && applicable(f.kind, route) {
                *hits += 1;
                return Some(f.kind);
            }
        }
        None
    }
}

/// Decides the fault plan of one request `elapsed` after start.
pub(crate) fn decide(
    cfg: &FaultConfig,
    route: &str,
    elapsed: Duration,
    rng: &mut impl Rng,
    first: &mut FirstHits,
) -> FaultPlan {
    let mut plan = FaultPlan {
        kind: first.take(cfg, route),
        ..FaultPlan::default()
    };
    if plan.kind.is_none()
        && let Some(w) = cfg.scheduled.iter().find(|w| {
            elapsed >= w.start
                && elapsed < w.end
                && route_matches(&w.routes, route)
                && applicable(w.kind, route)
                && rng.random::<f64>() < w.rate
        })
    {
        plan.kind = Some(w.kind);
    }
    if !route_matches(&cfg.routes, route) {
        return finish(plan, cfg, rng);
    }
    if !cfg.latency.is_zero() || !cfg.latency_jitter.is_zero() {
        let jitter = if cfg.latency_jitter.is_zero() {
            Duration::ZERO
        } else {
            cfg.latency_jitter.mul_f64(rng.random::<f64>())
        };
        plan.latency = cfg.latency + jitter;
    }
    if plan.kind.is_none() && FaultKind::ALL.iter().any(|k| cfg.rate(*k) > 0.0) {
        let mut roll = rng.random::<f64>();
        for kind in FaultKind::ALL {
            let rate = cfg.rate(kind);
            if roll < rate {
                if applicable(kind, route) {
                    plan.kind = Some(kind);
                }
                break;
            }
            roll -= rate;
        }
    }
    finish(plan, cfg, rng)
}

fn finish(mut plan: FaultPlan, cfg: &FaultConfig, rng: &mut impl Rng) -> FaultPlan {
    if plan.kind == Some(FaultKind::OutboundFailed) {
        plan.twilio_error = match cfg.twilio_errors.len() {
            0 => 20500,
            n => cfg.twilio_errors[rng.random_range(0..n)],
        };
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn filters() {
        assert!(route_matches(&[], "GET /v1/agents"));
        let f = vec!["POST /v1/calls".to_owned(), "GET *".to_owned()];
        assert!(route_matches(&f, "POST /v1/calls"));
        assert!(route_matches(&f, "GET /v1/calls/{id}"));
        assert!(!route_matches(&f, "POST /v1/messages"));
    }

    #[test]
    fn outages_cover_their_window_and_act_only_on_writes() {
        let cfg = FaultConfig {
            outages: vec![crate::scenario::Outage {
                start: Duration::from_secs(60),
                end: Duration::from_secs(120),
                rate: 1.0,
                acted: 1.0,
                status: 503,
                routes: Vec::new(),
            }],
            ..FaultConfig::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let at = Duration::from_secs;
        assert_eq!(outage(&cfg, CREATE_CALL, at(59), &mut rng), None);
        assert_eq!(outage(&cfg, CREATE_CALL, at(120), &mut rng), None);
        let hit = outage(&cfg, CREATE_CALL, at(60), &mut rng).unwrap();
        assert_eq!((hit.status, hit.acted), (503, true));
        let read = outage(&cfg, "GET /v1/calls", at(90), &mut rng).unwrap();
        assert!(!read.acted, "a read never acts");
    }

    #[test]
    fn outbound_failed_only_on_create_call() {
        let cfg = FaultConfig {
            outbound_failed: 1.0,
            ..FaultConfig::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut first = FirstHits::default();
        assert!(
            decide(&cfg, "GET /v1/agents", Duration::ZERO, &mut rng, &mut first)
                .kind
                .is_none()
        );
        let p = decide(&cfg, CREATE_CALL, Duration::ZERO, &mut rng, &mut first);
        assert_eq!(p.kind, Some(FaultKind::OutboundFailed));
        assert!(cfg.twilio_errors.contains(&p.twilio_error));
    }

    #[test]
    fn first_faults_hit_the_first_requests_of_their_route_then_stop() {
        let cfg = FaultConfig {
            first: vec![
                crate::scenario::FirstFault {
                    kind: FaultKind::ServerErrorAfter,
                    count: 2,
                    routes: vec![CREATE_CALL.to_owned()],
                },
                crate::scenario::FirstFault {
                    kind: FaultKind::RateLimited,
                    count: 1,
                    routes: Vec::new(),
                },
            ],
            ..FaultConfig::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut first = FirstHits::default();
        let mut next = |route: &str| decide(&cfg, route, Duration::ZERO, &mut rng, &mut first).kind;
        assert_eq!(next(CREATE_CALL), Some(FaultKind::ServerErrorAfter));
        // Another route: only the entry for every route applies, once.
        assert_eq!(next("GET /v1/calls"), Some(FaultKind::RateLimited));
        assert_eq!(next("GET /v1/calls"), None);
        assert_eq!(next(CREATE_CALL), Some(FaultKind::ServerErrorAfter));
        // The creates' two are spent: the server behaves.
        assert_eq!(next(CREATE_CALL), None);
        assert_eq!(next(CREATE_CALL), None);
    }
}
