//! redial-cli: the `redial` command line — campaign runner, simulator and policy tools.
//!
//! A thin shell over the library crates: the campaign engine is `redial-campaign`; this
//! crate parses and validates flags, shows progress, serves metrics and wires things up.
//!
//! The binary's `main` only maps [`run`]'s result to an exit code; everything else lives here
//! so that tests can drive the engine. Arguments are parsed in two stages: [`args`] holds the
//! raw clap flags (no I/O), and each command turns them into validated, ready-to-use objects
//! (a [`campaign::Plan`], a loaded config) before anything runs. A problem found in the second
//! stage is a [`exit::UsageError`] and exits 2 with a message naming the bad input.

pub mod args;
pub mod campaign;
pub mod demo;
pub mod exit;
pub mod interrupt;
pub mod logs;
pub mod policy_cmd;
pub mod progress;
pub mod redact;
pub mod sim_cmd;
pub mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::Status;

/// Parses the process arguments, runs the command and returns its exit code:
/// 0 success, 1 runtime failure (I/O), 2 bad usage or config, 3 a campaign stopped by an
/// account- or agent-scope halt.
pub fn run() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            // --help / --version print to stdout and succeed; usage errors exit 2. clap quotes
            // the argument it refused: never the API key.
            let env_key = std::env::var_os(redact::KEY_ENV);
            redact::print_clap_error(&e, &redact::key_values(&argv, env_key.as_deref()));
            return if e.use_stderr() {
                Status::Usage.into()
            } else {
                Status::Ok.into()
            };
        }
    };
    logs::init_from_env();
    run_cli(cli).into()
}

/// Runs an already-parsed command line (tests call this).
pub fn run_cli(cli: Cli) -> Status {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Status::Failure;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Campaign(a) => campaign::command(*a).await,
            Command::Demo(a) => demo::command(a).await,
            Command::Sim(a) => sim_cmd::command(a).await,
            Command::Policy(a) => policy_cmd::command(a),
        }
    });
    exit::report(result)
}
