//! The background task of a [`super::RedisPacer`]: sends throttles and successes to Redis in
//! the order they were reported, so `on_throttle` and `on_success` stay synchronous and cheap.

use std::sync::Arc;
use std::time::Duration;

use redial_policy::config::AdaptiveConfig;
use tokio::sync::{mpsc, oneshot};

use super::table::Bucket;
use super::{adaptive_flag, millis};
use crate::redis::fleet::FleetShared;
use crate::redis::metrics::OpMetrics;
use crate::redis::scripts;

/// A throttle or success to send to Redis, in order.
#[derive(Debug)]
pub(super) enum Report {
    Throttle {
        buckets: Vec<Arc<Bucket>>,
        retry_after: Option<Duration>,
        adaptive: AdaptiveConfig,
    },
    Success {
        buckets: Vec<Arc<Bucket>>,
        adaptive: AdaptiveConfig,
    },
    Flush(oneshot::Sender<()>),
}

/// Sends throttles and successes to Redis in the order they were reported. Ends when the
/// pacer is dropped.
pub(super) async fn run(fleet: Arc<FleetShared>, mut rx: mpsc::UnboundedReceiver<Report>) {
    let throttle_ops = OpMetrics::new("throttle");
    let success_ops = OpMetrics::new("success");
    while let Some(report) = rx.recv().await {
        match report {
            Report::Flush(done) => {
                let _ = done.send(());
            }
            Report::Throttle {
                buckets,
                retry_after,
                adaptive,
            } => {
                let mut inv = scripts::THROTTLE.prepare_invoke();
                for b in &buckets {
                    inv.key(&b.key);
                }
                for b in &buckets {
                    inv.key(&b.probe_key);
                }
                inv.arg(buckets.len())
                    .arg(
                        retry_after
                            .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    )
                    .arg(millis(fleet.config.state_ttl));
                for b in &buckets {
                    inv.arg(b.ceiling)
                        .arg(b.burst)
                        .arg(adaptive_flag(&adaptive))
                        .arg(adaptive.beta)
                        .arg(adaptive.min_rate);
                }
                if let Ok(reply) = fleet
                    .run::<Vec<(i64, i64)>>("throttle", &throttle_ops, &inv)
                    .await
                {
                    for (b, (rate, extended_ms)) in buckets.iter().zip(reply) {
                        b.live.set_rate_milli(rate);
                        if adaptive.enabled {
                            b.live.set_recovering(true);
                        }
                        if extended_ms > 0 {
                            b.live.metrics.pause.record(extended_ms as f64 / 1000.0);
                        }
                    }
                    tracing::debug!(
                        buckets = buckets.len(),
                        ?retry_after,
                        "fleet pacer throttled"
                    );
                }
            }
            Report::Success { buckets, adaptive } => {
                let mut inv = scripts::SUCCESS.prepare_invoke();
                for b in &buckets {
                    inv.key(&b.key);
                }
                for b in &buckets {
                    inv.key(&b.probe_key);
                }
                inv.arg(buckets.len()).arg(&fleet.process_id);
                for b in &buckets {
                    inv.arg(b.ceiling)
                        .arg(adaptive_flag(&adaptive))
                        .arg(adaptive.beta)
                        .arg(adaptive.scale)
                        .arg(adaptive.min_rate)
                        .arg(b.burst);
                }
                if let Ok(reply) = fleet
                    .run::<Vec<(i64, i64)>>("success", &success_ops, &inv)
                    .await
                {
                    for (b, (rate, recovering)) in buckets.iter().zip(reply) {
                        b.live.set_rate_milli(rate);
                        b.live.set_recovering(recovering == 1);
                    }
                }
            }
        }
    }
}
