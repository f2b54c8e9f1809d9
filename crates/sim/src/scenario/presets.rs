//! Ready-made scenarios: the demo campaign, a realistic deployment and the overhead
//! benchmark.

use std::time::Duration;

use super::{CallsConfig, FaultConfig, FaultKind, LimitsConfig, OutcomeWeights, Scenario};
use super::{IdempotencyConfig, Outage, QuotaConfig, RetryAfterFormat, ScheduledFault, TalkTime};

/// Finished calls the `unlimited` preset keeps for reads and the list (older finished calls
/// are forgotten), so a million instant calls cost the simulator little memory (assumed: far
/// more than any client reads back).
pub const UNLIMITED_KEEP_FINISHED: u64 = 100_000;

/// Minutes to a [`Duration`].
const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

impl Scenario {
    /// Names of the built-in presets, as accepted by [`Scenario::preset`].
    pub const PRESET_NAMES: [&'static str; 4] = ["default", "demo", "realistic", "unlimited"];

    /// The built-in preset called `name` (one of [`Scenario::PRESET_NAMES`]), or `None`.
    ///
    /// ```
    /// assert!(redial_sim::Scenario::preset("realistic").is_some());
    /// assert!(redial_sim::Scenario::preset("nope").is_none());
    /// ```
    pub fn preset(name: &str) -> Option<Scenario> {
        match name {
            "default" => Some(Scenario::default()),
            "demo" => Some(Scenario::demo()),
            "realistic" => Some(Scenario::realistic()),
            "unlimited" => Some(Scenario::unlimited()),
            _ => None,
        }
    }

    /// Realistic limits and faults for a demo campaign of a few hundred calls that finishes
    /// in under a minute: 40 requests/s (burst 10), 20 live calls, 1–4 s calls with outcomes
    /// 80/8/8/4, about 8% random faults and a `server_error` outage from 8 s to 10 s.
    pub fn demo() -> Scenario {
        Scenario {
            seed: 2026,
            limits: LimitsConfig {
                requests_per_second: 40.0,
                burst: 10,
                max_concurrent_calls: 20,
                retry_after: RetryAfterFormat::Seconds,
            },
            calls: CallsConfig {
                ringing_after: Duration::from_millis(100),
                answered_after: Duration::from_millis(500),
                duration_min: Duration::from_secs(1),
                duration_max: Duration::from_secs(4),
                outcomes: OutcomeWeights {
                    completed: 80,
                    busy: 8,
                    no_answer: 8,
                    failed: 4,
                },
                ..CallsConfig::default()
            },
            faults: FaultConfig {
                server_error: 0.02,
                provider_error: 0.02,
                outbound_failed: 0.01,
                reset_after: 0.01,
                html_502: 0.01,
                latency: Duration::from_millis(5),
                latency_jitter: Duration::from_millis(20),
                scheduled: vec![ScheduledFault {
                    start: Duration::from_secs(8),
                    end: Duration::from_secs(10),
                    kind: FaultKind::ServerError,
                    rate: 1.0,
                    routes: Vec::new(),
                }],
                ..FaultConfig::default()
            },
            ..Scenario::default()
        }
    }

    /// A real deployment at real time scales (`crates/sim/scenarios/realistic.toml`):
    ///
    /// - 20 requests/s (burst 10) and 50 live calls;
    /// - calls ring after 1 s; 70 % are answered at 10 s and talk for a log-normal time
    ///   (median 90 s, sigma 0.8, 5 s to 15 min); 10 % are `busy` at 4 s, 15 % ring out to
    ///   `no_answer` at 30 s, 5 % `failed` at 6 s;
    /// - a quota of 600 calls per 3 h window (a day's quota, scaled down so a campaign of a
    ///   thousand contacts meets it): then every request gets 429 with a `Retry-After` of
    ///   up to 3 h;
    /// - Idempotency-Keys not honoured (clients must reconcile through `GET /v1/calls`);
    /// - 80–200 ms latency; 1 % `server_error`, 0.5 % each `provider_error`,
    ///   `outbound_failed` and `html_502`;
    /// - gateway outages on `POST /v1/calls` from 5 to 8 min and from 3 h 10 min to
    ///   3 h 15 min: HTML 502 pages, 30 % of them after the call was placed.
    pub fn realistic() -> Scenario {
        let create_outage = |start: Duration, end: Duration| Outage {
            start,
            end,
            rate: 1.0,
            acted: 0.3,
            status: 502,
            routes: vec!["POST /v1/calls".to_owned()],
        };
        Scenario {
            seed: 2027,
            limits: LimitsConfig {
                requests_per_second: 20.0,
                burst: 10,
                max_concurrent_calls: 50,
                retry_after: RetryAfterFormat::Seconds,
            },
            calls: CallsConfig {
                ringing_after: Duration::from_secs(1),
                answered_after: Duration::from_secs(10),
                duration: Some(TalkTime::LogNormal {
                    median: Duration::from_secs(90),
                    sigma: 0.8,
                    min: Duration::from_secs(5),
                    max: minutes(15),
                }),
                busy_after: Some(Duration::from_secs(4)),
                no_answer_after: Some(Duration::from_secs(30)),
                failed_after: Some(Duration::from_secs(6)),
                outcomes: OutcomeWeights {
                    completed: 70,
                    busy: 10,
                    no_answer: 15,
                    failed: 5,
                },
                ..CallsConfig::default()
            },
            idempotency: IdempotencyConfig { honoured: false },
            quota: QuotaConfig {
                calls: 600,
                window: minutes(180),
            },
            faults: FaultConfig {
                server_error: 0.01,
                provider_error: 0.005,
                outbound_failed: 0.005,
                html_502: 0.005,
                latency: Duration::from_millis(80),
                latency_jitter: Duration::from_millis(120),
                outages: vec![
                    create_outage(minutes(5), minutes(8)),
                    create_outage(minutes(190), minutes(195)),
                ],
                ..FaultConfig::default()
            },
            ..Scenario::default()
        }
    }

    /// No limits, no faults and instant calls (created already `completed`), to measure
    /// client overhead. Keeps the latest [`UNLIMITED_KEEP_FINISHED`] finished calls (older
    /// ones answer 404 `call_not_found`), so a million calls fit in little memory.
    pub fn unlimited() -> Scenario {
        Scenario {
            limits: LimitsConfig::default(),
            calls: CallsConfig {
                ringing_after: Duration::ZERO,
                answered_after: Duration::ZERO,
                duration_min: Duration::ZERO,
                duration_max: Duration::ZERO,
                outcomes: OutcomeWeights {
                    completed: 1,
                    busy: 0,
                    no_answer: 0,
                    failed: 0,
                },
                keep_finished: Some(UNLIMITED_KEEP_FINISHED),
                ..CallsConfig::default()
            },
            faults: FaultConfig::default(),
            ..Scenario::default()
        }
    }
}
