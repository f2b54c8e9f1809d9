//! Ready-made scenarios: the demo campaign and the overhead benchmark.

use std::time::Duration;

use super::{CallsConfig, FaultConfig, FaultKind, LimitsConfig, OutcomeWeights, Scenario};
use super::{RetryAfterFormat, ScheduledFault};

impl Scenario {
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

    /// No limits, no faults and instant calls (created already `completed`), to measure
    /// client overhead.
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
            },
            faults: FaultConfig::default(),
            ..Scenario::default()
        }
    }
}
