//! Stage one of argument parsing: the raw flags, as clap reads them. No I/O and no checks
//! beyond types happen here; each command turns these into validated objects (stage two).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `redial`: a resilient dialer for the Nixflex voice-agent API.
#[derive(Debug, Parser)]
#[command(name = "redial", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dial every contact of a CSV file, with pacing, retries, halts, a journal and results.
    Campaign(Box<CampaignArgs>),
    /// A few hundred generated contacts against the embedded simulator: pacing, retries, a
    /// slot-limit hit and a fault burst, with a summary and live metrics.
    Demo(DemoArgs),
    /// Run the Nixflex API simulator standalone until Ctrl-C.
    Sim(SimArgs),
    /// Inspect and validate policy configs.
    Policy(PolicyArgs),
}

/// Whether the server honours `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdempotencyArg {
    /// The server replays a repeated key: a create that may have reached it is retried.
    Honoured,
    /// The server may ignore the key: a create that may have reached it ends `ambiguous`.
    Ignored,
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ProgressArg {
    /// A progress bar on a terminal, plain lines every ~2 s otherwise.
    #[default]
    Auto,
    /// Plain lines every ~2 s.
    Plain,
    /// Nothing but the summary.
    None,
}

/// `redial campaign`.
#[derive(Debug, Clone, Args)]
pub struct CampaignArgs {
    /// Contacts CSV: a header row with a `phone` column; other columns become call metadata.
    #[arg(long, value_name = "FILE.csv")]
    pub contacts: PathBuf,
    /// The agent that places the calls.
    #[arg(long, value_name = "AGENT_ID")]
    pub agent: String,
    /// Caller id (E.164); the agent's number when absent.
    #[arg(long, value_name = "E164")]
    pub from: Option<String>,
    /// API base URL; without it the campaign runs against an embedded simulator.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// API key KEY_ID:SECRET (default with the embedded simulator: demo_key:demo_secret).
    ///
    /// Taken as given even when it starts with `-` (a key is a value, never a flag), and
    /// checked in stage two, whose errors never print it.
    #[arg(
        long,
        env = "NIXFLEX_API_KEY",
        value_name = "KEY_ID:SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub api_key: Option<KeyArg>,
    /// Policy config (TOML); flags override it.
    #[arg(long, value_name = "policy.toml")]
    pub config: Option<PathBuf>,
    /// Results file (JSON lines), `-` for stdout.
    #[arg(long, value_name = "results.jsonl", default_value = "results.jsonl")]
    pub out: PathBuf,
    /// Crash-safe journal; rerun with the same journal to resume without dialling twice.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Also write every support report (contacts ended by a server_error or provider_error)
    /// to this file, one JSON object a line.
    #[arg(long, value_name = "FILE")]
    pub support_out: Option<PathBuf>,
    /// Serve Prometheus metrics on HOST:PORT (or PORT, on 127.0.0.1) while the campaign runs.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Most live calls at once (`slots.max_concurrent_calls`).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Ceiling of the account bucket, requests per second (status polls count too).
    #[arg(long, value_name = "RPS")]
    pub rate: Option<f64>,
    /// Whether the server honours Idempotency-Key (`retry.idempotency`; default ignored).
    #[arg(long, value_enum, value_name = "honoured|ignored")]
    pub idempotency: Option<IdempotencyArg>,
    /// Longest account pause (a quota's Retry-After) the campaign waits out, e.g. `2h`; past
    /// it the campaign stops, the contacts left `halted` with a `retry_at` (`pacing.max_pause`;
    /// default `retry.max_retry_after`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_pause: Option<std::time::Duration>,
    /// Numbers never to dial (E.164, one a line, `#` comments); opt-outs are appended.
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,
    /// How progress is shown on stderr.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
    /// Fleet mode: Redis URL (redis://HOST:PORT/). Every process with the same --redis shares
    /// the account's limits (--rate and --concurrency are the fleet's), pauses and halts.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Fleet campaign name (with --redis): the contact list and the journal live in Redis;
    /// every process with the same --redis and --campaign dials a share, each contact once,
    /// and a rerun resumes across the fleet (no --journal).
    #[arg(long, value_name = "NAME", conflicts_with = "journal")]
    pub campaign: Option<String>,
}

/// The raw `--api-key` / `NIXFLEX_API_KEY` value: redacted in `Debug`, so a printed
/// [`CampaignArgs`] (a log line, a panic message) never shows the key.
///
/// Parsing into it cannot fail, so clap never echoes the value in an "invalid value" error;
/// [`crate::campaign::Plan`] checks it as an API key.
///
/// ```
/// let key = redial_cli::args::KeyArg::from("id:s3cr3t".to_owned());
/// assert_eq!(format!("{key:?}"), "KeyArg(<redacted>)");
/// assert_eq!(key.expose(), "id:s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyArg(String);

impl KeyArg {
    /// The key as given, for [`redial_transport::ApiKey::parse`] only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for KeyArg {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

impl std::fmt::Debug for KeyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyArg(<redacted>)")
    }
}

/// `redial demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Contacts to generate.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub contacts: u32,
    /// Where to serve metrics (HOST:PORT or PORT); default 127.0.0.1:9898, or a free port
    /// when that one is taken.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "no_metrics")]
    pub metrics_addr: Option<String>,
    /// Do not serve metrics.
    #[arg(long)]
    pub no_metrics: bool,
    /// Results file (default: demo-results.jsonl in the system temp directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How progress is shown on stderr.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

/// `redial sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Scenario TOML (docs/simulator.md); default: the `--preset`.
    #[arg(long, value_name = "scenario.toml")]
    pub config: Option<PathBuf>,
    /// A built-in scenario, used when no `--config` is given.
    #[arg(long, value_enum, default_value_t = SimPreset::Demo, conflicts_with = "config")]
    pub preset: SimPreset,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "IP:PORT")]
    pub listen: String,
}

/// Built-in simulator scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimPreset {
    /// Seed data only: no limits, no faults.
    Default,
    /// Realistic limits (40 rps, 20 live calls) and faults, with an outage from 8 s to 10 s.
    Demo,
    /// Real call lengths (median 90 s, up to 15 min), 20 rps / 50 live calls, a quota of 600
    /// calls per 3 h, gateway outages whose 502s sometimes placed the call.
    Realistic,
    /// No limits, no faults, instant calls.
    Unlimited,
}

/// `redial policy`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The policy subcommand.
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// `redial policy explain|check`.
#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// The action, scope, side-effect rule, attempts and backoff of every documented type
    /// and code under a config.
    Explain {
        /// Policy config (TOML); default: the built-in defaults.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Validate a config: prints `ok` (exit 0) or every problem (exit 2).
    Check {
        /// The config file.
        file: PathBuf,
    },
}

/// Parses a duration like `90s`, `15m` or `2h`.
fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("{raw:?}: {e} (expected e.g. 30m or 2h)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn campaign_flags_parse() {
        let cli = Cli::try_parse_from([
            "redial",
            "campaign",
            "--contacts",
            "c.csv",
            "--agent",
            "a",
            "--rate",
            "5",
            "--idempotency",
            "honoured",
            "--concurrency",
            "3",
        ])
        .unwrap();
        let Command::Campaign(a) = cli.command else {
            panic!("campaign")
        };
        assert_eq!(a.rate, Some(5.0));
        assert_eq!(a.idempotency, Some(IdempotencyArg::Honoured));
        assert_eq!(a.out, PathBuf::from("results.jsonl"));
        assert!(Cli::try_parse_from(["redial", "campaign", "--agent", "a"]).is_err());
    }
}
