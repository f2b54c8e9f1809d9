//! `redial policy explain` and `redial policy check`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use redial_policy::{Config, ExplainRow, Policy};

use crate::args::{PolicyArgs, PolicyCommand};
use crate::exit::{Status, usage};

/// Runs `redial policy ...`.
///
/// # Errors
/// A usage error (exit 2) when the config cannot be loaded.
pub fn command(args: PolicyArgs) -> anyhow::Result<Status> {
    match args.command {
        PolicyCommand::Explain { config } => {
            let config = match config {
                Some(path) => load(&path)?,
                None => Config::default(),
            };
            let policy = Policy::new(config).map_err(|e| usage(e.to_string()))?;
            // A closed stdout (piped into `head`) is not an error of the command.
            let _ = std::io::stdout().write_all(render(&policy.explain()).as_bytes());
            Ok(Status::Ok)
        }
        PolicyCommand::Check { file } => {
            load(&file)?;
            println!("ok");
            Ok(Status::Ok)
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::from_file(path).map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// The explanation as an aligned table with a header row.
pub fn render(rows: &[ExplainRow]) -> String {
    let header = [
        "KIND",
        "NAME",
        "ACTION",
        "SIDE EFFECT",
        "ATTEMPTS",
        "BACKOFF",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.to_owned(),
                r.name.clone(),
                r.action.clone(),
                r.side_effect.to_owned(),
                r.max_attempts.to_string(),
                r.backoff.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[&str]| {
        let parts: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&header);
    for row in &cells {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_documented_type_and_code() {
        let rows = Policy::new(Config::default()).unwrap().explain();
        let table = render(&rows);
        assert_eq!(table.lines().count(), rows.len() + 1);
        assert!(
            table.lines().any(|l| l.starts_with("code")
                && l.contains("invalid_api_key")
                && l.contains("halt(account)")),
            "{table}"
        );
    }
}
