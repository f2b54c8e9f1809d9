//! Progress on stderr while a campaign runs: an indicatif bar on a terminal (done/total,
//! calls/s, live calls, retries, ETA), plain lines every [`PLAIN_INTERVAL`] otherwise.
//!
//! A ticker task samples the client's call slots (live calls, their peak and the metrics
//! gauge) and the account bucket's paced rate; the runner counts finished contacts.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use redial_policy::config::ACCOUNT_BUCKET;
use redial_transport::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::args::ProgressArg;
use crate::campaign::metrics;

/// Interval of plain progress lines when stderr is not a terminal.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(2);
/// Interval of samples (and bar redraws).
const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);

/// Counters shared by the runner and the ticker.
#[derive(Debug, Default)]
pub struct Counters {
    /// Contacts finished.
    pub done: AtomicU64,
    /// Retries so far.
    pub retries: AtomicU64,
    /// Peak of live calls.
    pub max_live: AtomicU32,
    /// Lowest account-bucket rate seen, in milli-requests per second (u64::MAX = none).
    min_rate_milli: AtomicU64,
}

impl Counters {
    /// Records a sample of live calls.
    pub fn saw_live(&self, n: u32) {
        self.max_live.fetch_max(n, Ordering::Relaxed);
    }

    /// The lowest paced account rate seen, requests per second.
    pub fn min_rate(&self) -> Option<f64> {
        match self.min_rate_milli.load(Ordering::Relaxed) {
            u64::MAX | 0 => None,
            m => Some(m as f64 / 1000.0),
        }
    }
}

/// A running progress display.
#[derive(Debug)]
pub struct Progress {
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts the ticker for a campaign of `total` contacts.
    pub fn start(total: u64, client: Client, mode: ProgressArg) -> Self {
        let counters = Arc::new(Counters {
            min_rate_milli: AtomicU64::new(u64::MAX),
            ..Counters::default()
        });
        let (stop, stop_rx) = watch::channel(false);
        let bar = match mode {
            ProgressArg::Auto if std::io::stderr().is_terminal() => Some(new_bar(total)),
            _ => None,
        };
        let plain = matches!(mode, ProgressArg::Plain)
            || (matches!(mode, ProgressArg::Auto) && bar.is_none());
        let task = tokio::spawn(tick(total, client, counters.clone(), bar, plain, stop_rx));
        Self {
            counters,
            stop,
            task,
        }
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Stops the display (clearing the bar).
    pub async fn finish(self) -> Arc<Counters> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.counters
    }
}

fn new_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

async fn tick(
    total: u64,
    client: Client,
    c: Arc<Counters>,
    bar: Option<ProgressBar>,
    plain: bool,
    mut stop: watch::Receiver<bool>,
) {
    let start = redial_limiter::clock::now();
    let mut last_line = start;
    let mut interval = tokio::time::interval(SAMPLE_INTERVAL);
    loop {
        let stopping = tokio::select! {
            _ = interval.tick() => false,
            _ = stop.changed() => true,
        };
        let live = client.limiter().slots().held();
        c.saw_live(live);
        metrics::live_calls(live);
        if let Some(rate) = client
            .limiter()
            .pacer()
            .snapshot()
            .iter()
            .find(|b| b.name == ACCOUNT_BUCKET)
            .map(|b| b.rate)
        {
            c.min_rate_milli
                .fetch_min((rate * 1000.0) as u64, Ordering::Relaxed);
        }
        let now = redial_limiter::clock::now();
        let done = c.done.load(Ordering::Relaxed);
        let secs = now
            .saturating_duration_since(start)
            .as_secs_f64()
            .max(0.001);
        let retries = c.retries.load(Ordering::Relaxed);
        let msg = format!(
            "{:.1} contacts/s, live {live}, retries {retries}",
            done as f64 / secs
        );
        if let Some(bar) = &bar {
            bar.set_position(done);
            bar.set_message(msg.clone());
        }
        if plain && (stopping || now.saturating_duration_since(last_line) >= PLAIN_INTERVAL) {
            last_line = now;
            eprintln!("[{:>6.1}s] {done}/{total} done, {msg}", secs);
        }
        if stopping {
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return;
        }
    }
}
