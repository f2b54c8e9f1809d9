//! Progress on stderr while a campaign runs: an indicatif bar on a terminal (done/total,
//! calls/s, live calls, retries, ETA), plain lines every [`PLAIN_INTERVAL`] otherwise.
//!
//! A ticker task samples the client's call slots (live calls and their peak) and the account
//! bucket's paced rate; the campaign engine counts finished contacts.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use redial_campaign::Progress as CampaignProgress;
use redial_policy::config::ACCOUNT_BUCKET;
use redial_transport::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::args::ProgressArg;

/// Interval of plain progress lines when stderr is not a terminal.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(2);
/// Interval of samples (and bar redraws).
const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);

/// A running progress display.
#[derive(Debug)]
pub struct Progress {
    stop: watch::Sender<bool>,
    task: JoinHandle<Option<f64>>,
}

impl Progress {
    /// Starts the ticker over a campaign's live counters.
    pub fn start(counters: Arc<CampaignProgress>, client: Client, mode: ProgressArg) -> Self {
        let total = counters.total();
        let (stop, stop_rx) = watch::channel(false);
        let bar = match mode {
            ProgressArg::Auto if std::io::stderr().is_terminal() => Some(new_bar(total)),
            _ => None,
        };
        let plain = matches!(mode, ProgressArg::Plain)
            || (matches!(mode, ProgressArg::Auto) && bar.is_none());
        let task = tokio::spawn(tick(total, client, counters, bar, plain, stop_rx));
        Self { stop, task }
    }

    /// Stops the display (clearing the bar) and returns the lowest rate the account bucket
    /// was paced at, requests per second.
    pub async fn finish(self) -> Option<f64> {
        let _ = self.stop.send(true);
        self.task.await.ok().flatten()
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
    c: Arc<CampaignProgress>,
    bar: Option<ProgressBar>,
    plain: bool,
    mut stop: watch::Receiver<bool>,
) -> Option<f64> {
    let mut min_rate: Option<f64> = None;
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
        if let Some(rate) = client
            .limiter()
            .pacer()
            .snapshot()
            .iter()
            .find(|b| b.name == ACCOUNT_BUCKET)
            .map(|b| b.rate)
        {
            min_rate = Some(min_rate.map_or(rate, |m| m.min(rate)));
        }
        let now = redial_limiter::clock::now();
        let done = c.done();
        let total = c.total().max(total);
        let secs = now
            .saturating_duration_since(start)
            .as_secs_f64()
            .max(0.001);
        let retries = c.retries();
        let msg = format!(
            "{:.1} contacts/s, live {live}, retries {retries}",
            done as f64 / secs
        );
        if let Some(bar) = &bar {
            bar.set_length(total);
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
            return min_rate;
        }
    }
}
