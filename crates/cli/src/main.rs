//! `redial`: the command line. All the work is in the `redial_cli` library; this only maps
//! its result to the process exit code.

fn main() -> std::process::ExitCode {
    redial_cli::run()
}
