//! Stage two of `redial campaign`'s arguments: every flag checked and turned into a
//! ready-to-use object. Anything wrong here is a [`UsageError`] naming the input (exit 2).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use redial_campaign::{CsvSource, FileJournal, SuppressList, default_in_flight};
use redial_policy::Config;
use redial_policy::config::{ACCOUNT_BUCKET, Idempotency};
use redial_sim::Scenario;
use redial_transport::ApiKey;

use crate::args::{CampaignArgs, IdempotencyArg, KeyArg, ProgressArg};
use crate::exit::UsageError;

/// The key of the simulator's seeded account.
pub const SIM_KEY: &str = "demo_key:demo_secret";

/// Where the campaign dials.
#[derive(Debug)]
pub enum Target {
    /// An embedded simulator started on 127.0.0.1 for the campaign.
    Embedded {
        /// Its scenario.
        scenario: Box<Scenario>,
        /// The key to use.
        key: ApiKey,
    },
    /// A real (or standalone simulated) API.
    Remote {
        /// Base URL.
        url: String,
        /// The key.
        key: ApiKey,
    },
}

/// A validated campaign, ready to run.
#[derive(Debug)]
pub struct Plan {
    /// Contacts file (opened and its header checked).
    pub contacts: PathBuf,
    /// Agent id.
    pub agent: String,
    /// Caller id.
    pub from: Option<String>,
    /// Where to dial.
    pub target: Target,
    /// The runtime config, flags applied.
    pub config: Config,
    /// Results file or `-`.
    pub out: PathBuf,
    /// The journal and what earlier runs recorded.
    pub journal: Option<FileJournal>,
    /// Where to serve metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// Numbers never to dial.
    pub suppress: SuppressList,
    /// How to show progress.
    pub progress: ProgressArg,
    /// Contacts in flight at once.
    pub in_flight: usize,
    /// Where support reports also go (JSON lines).
    pub support_out: Option<PathBuf>,
    /// Fleet mode (`--redis`, `--campaign`).
    pub fleet: Option<super::fleet::FleetPlan>,
}

impl Plan {
    /// Checks every flag and loads the config, journal and suppress list.
    ///
    /// # Errors
    /// [`UsageError`] naming the flag, file or config key at fault.
    pub fn from_args(a: CampaignArgs) -> Result<Plan, UsageError> {
        CsvSource::open(&a.contacts).map_err(|e| UsageError::new(e.to_string()))?;
        // Before the suppress list and the journal are loaded: both create their file.
        let inputs = [
            ("--contacts", Some(&a.contacts)),
            ("--journal", a.journal.as_ref()),
            ("--suppress", a.suppress.as_ref()),
        ];
        if let Some(support) = &a.support_out {
            let out = [("--out", Some(&a.out))];
            for &(flag, path) in inputs.iter().chain(&out) {
                if path.is_some_and(|p| same_file_key(p) == same_file_key(support)) {
                    return Err(UsageError::new(format!(
                        "--support-out {}: it is the {flag} file; name another file",
                        support.display()
                    )));
                }
            }
        }
        check_out(
            &a.out,
            inputs
                .iter()
                .filter_map(|&(flag, path)| Some((flag, path?.as_path()))),
        )?;
        redial_transport::validate::path_id("agent_id", &a.agent)
            .map_err(|e| UsageError::new(format!("--agent: {e}")))?;
        if let Some(from) = &a.from {
            redial_transport::validate::e164("from_number", from)
                .map_err(|e| UsageError::new(format!("--from: {e}")))?;
        }
        let mut config = match &a.config {
            Some(path) => {
                Config::from_file(path).map_err(|e| UsageError::new(format!("--config: {e}")))?
            }
            None => Config::default(),
        };
        if let Some(max) = a.max_pause {
            config.pacing.max_pause = Some(max);
        }
        apply_overrides(&mut config, a.concurrency, a.rate, a.idempotency)?;
        let target = match a.api_url {
            Some(url) => {
                let raw = a.api_key.ok_or_else(|| {
                    UsageError::new(
                        "no API key: pass --api-key KEY_ID:SECRET or set NIXFLEX_API_KEY",
                    )
                })?;
                Target::Remote {
                    url,
                    key: parse_key(raw.expose())?,
                }
            }
            None => Target::Embedded {
                scenario: Box::new(Scenario::demo()),
                key: parse_key(a.api_key.as_ref().map_or(SIM_KEY, KeyArg::expose))?,
            },
        };
        let metrics_addr = a.metrics_addr.as_deref().map(parse_addr).transpose()?;
        let fleet = super::fleet::FleetPlan::from_flags(a.redis, a.campaign)?;
        let suppress = match &a.suppress {
            Some(path) => {
                SuppressList::load(path).map_err(|e| UsageError::new(format!("--suppress: {e}")))?
            }
            None => SuppressList::none(),
        };
        let journal = match &a.journal {
            Some(path) => Some(
                FileJournal::open(path, &a.agent, &a.contacts)
                    .map_err(|e| UsageError::new(format!("--journal: {e}")))?,
            ),
            None => None,
        };
        let in_flight = default_in_flight(config.slots.max_concurrent_calls as usize);
        Ok(Plan {
            contacts: a.contacts,
            agent: a.agent,
            from: a.from,
            target,
            config,
            out: a.out,
            journal,
            metrics_addr,
            suppress,
            progress: a.progress,
            in_flight,
            support_out: a.support_out,
            fleet,
        })
    }
}

/// Refuses, before anything is dialled, an `--out` the results could not be renamed to at the
/// end (an existing directory, or in a directory that does not exist) or that is one of the
/// campaign's input files (`inputs`: flag and path), which the results would overwrite. `-`
/// (stdout) is always fine.
///
/// # Errors
/// [`UsageError`] naming `--out` and the problem.
fn check_out<'a>(
    out: &Path,
    inputs: impl IntoIterator<Item = (&'a str, &'a Path)>,
) -> Result<(), UsageError> {
    if out == Path::new("-") {
        return Ok(());
    }
    let shown = out.display();
    if out.is_dir() {
        return Err(UsageError::new(format!(
            "--out {shown}: is a directory; name a results file (or - for stdout)"
        )));
    }
    let parent = match out.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => Path::new("/"),
    };
    if !parent.is_dir() {
        return Err(UsageError::new(format!(
            "--out {shown}: directory {} does not exist",
            parent.display()
        )));
    }
    // Results go to `<out>.partial` first, then are renamed to `<out>`: neither may be an input.
    let targets = [
        same_file_key(out),
        same_file_key(&redial_campaign::sink::partial_path(out)),
    ];
    for (flag, path) in inputs {
        if targets.contains(&same_file_key(path)) {
            return Err(UsageError::new(format!(
                "--out {shown}: it or its {shown}.partial is the {flag} file {}; the results would overwrite it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// What two spellings of one file have in common: the canonical path when the file exists,
/// else its canonical directory joined with its name, else the path as given.
fn same_file_key(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return path.to_path_buf();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    parent
        .canonicalize()
        .map_or_else(|_| path.to_path_buf(), |p| p.join(name))
}

fn parse_key(raw: &str) -> Result<ApiKey, UsageError> {
    ApiKey::parse(raw).map_err(|e| UsageError::new(format!("--api-key / NIXFLEX_API_KEY: {e}")))
}

/// Applies `--concurrency`, `--rate` and `--idempotency` over the config file, then
/// validates the result.
///
/// # Errors
/// [`UsageError`] naming the flag or config key.
pub fn apply_overrides(
    config: &mut Config,
    concurrency: Option<u32>,
    rate: Option<f64>,
    idempotency: Option<IdempotencyArg>,
) -> Result<(), UsageError> {
    if let Some(n) = concurrency {
        if n == 0 {
            return Err(UsageError::new("--concurrency must be at least 1"));
        }
        config.slots.max_concurrent_calls = n;
    }
    if let Some(rps) = rate {
        if !(rps.is_finite() && rps > 0.0) {
            return Err(UsageError::new(format!(
                "--rate must be a number of requests per second above 0, not {rps}"
            )));
        }
        let buckets = &mut config.pacing.buckets;
        let index = buckets
            .iter()
            .position(|b| b.name == ACCOUNT_BUCKET)
            .or(buckets.len().checked_sub(1));
        let Some(i) = index else {
            return Err(UsageError::new(
                "--rate: the config has no pacing bucket to set",
            ));
        };
        buckets[i].rate = rps;
    }
    if let Some(i) = idempotency {
        config.retry.idempotency = match i {
            IdempotencyArg::Honoured => Idempotency::Honoured,
            IdempotencyArg::Ignored => Idempotency::Ignored,
        };
    }
    config
        .validate()
        .map_err(|e| UsageError::new(format!("config after flags: {e}")))
}

/// Parses `HOST:PORT`, `:PORT` or `PORT` (the host defaults to 127.0.0.1).
///
/// # Errors
/// [`UsageError`] naming the value.
pub fn parse_addr(raw: &str) -> Result<SocketAddr, UsageError> {
    let bad = || {
        UsageError::new(format!(
            "--metrics-addr {raw:?}: expected HOST:PORT or PORT"
        ))
    };
    let full = if raw.parse::<u16>().is_ok() {
        format!("127.0.0.1:{raw}")
    } else if let Some(port) = raw.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        raw.to_owned()
    };
    full.to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_the_config() {
        let mut c = Config::default();
        apply_overrides(&mut c, Some(7), Some(12.5), Some(IdempotencyArg::Honoured)).unwrap();
        assert_eq!(c.slots.max_concurrent_calls, 7);
        assert_eq!(
            c.pacing
                .buckets
                .iter()
                .find(|b| b.name == ACCOUNT_BUCKET)
                .unwrap()
                .rate,
            12.5
        );
        assert_eq!(c.retry.idempotency, Idempotency::Honoured);
        let e = apply_overrides(&mut c, None, Some(0.0), None).unwrap_err();
        assert!(e.to_string().contains("--rate"), "{e}");
        assert!(
            apply_overrides(&mut c, Some(0), None, None)
                .unwrap_err()
                .to_string()
                .contains("--concurrency")
        );
    }

    #[test]
    fn metrics_addresses() {
        assert_eq!(
            parse_addr("9898").unwrap(),
            "127.0.0.1:9898".parse().unwrap()
        );
        assert_eq!(
            parse_addr(":9898").unwrap(),
            "127.0.0.1:9898".parse().unwrap()
        );
        assert_eq!(
            parse_addr("0.0.0.0:80").unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert!(parse_addr("nope").is_err());
    }

    /// `redial campaign` flags over a contacts file in `dir`, plus `extra`.
    fn args(dir: &Path, extra: &[&str]) -> CampaignArgs {
        let contacts = dir.join("c.csv");
        std::fs::write(&contacts, "phone\n+447446466801\n").unwrap();
        let mut argv = vec![
            "redial",
            "campaign",
            "--contacts",
            contacts.to_str().unwrap(),
            "--agent",
            "agent_demo",
            "--api-key",
            SIM_KEY,
        ];
        argv.extend_from_slice(extra);
        let cli = crate::args::Cli::try_parse_from(argv).unwrap();
        let crate::args::Command::Campaign(a) = cli.command else {
            unreachable!()
        };
        *a
    }

    fn out_error(dir: &Path, extra: &[&str]) -> String {
        let e = Plan::from_args(args(dir, extra)).unwrap_err().to_string();
        assert!(e.starts_with("--out "), "the message names --out: {e}");
        e
    }

    #[test]
    fn an_out_that_cannot_be_created_is_refused_before_dialling() {
        // Defect: a directory or a missing parent was only found when the results were
        // renamed into place, after the whole campaign had been dialled.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = out_error(d, &["--out", d.to_str().unwrap()]);
        assert!(e.contains("is a directory"), "{e}");
        let missing = d.join("nope").join("r.jsonl");
        let e = out_error(d, &["--out", missing.to_str().unwrap()]);
        assert!(e.contains("does not exist"), "{e}");
        let ok = d.join("r.jsonl");
        assert!(Plan::from_args(args(d, &["--out", ok.to_str().unwrap()])).is_ok());
        assert!(Plan::from_args(args(d, &["--out", "-"])).is_ok(), "stdout");
    }

    #[test]
    fn an_out_that_is_an_input_file_is_refused() {
        // Defect: `--out` naming the contacts, journal or suppress file was accepted, and the
        // results were renamed over it at the end.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sub = d.join("sub");
        std::fs::create_dir(&sub).unwrap();
        // Another spelling of the (existing) contacts file.
        let contacts = sub.join("..").join("c.csv");
        let e = out_error(d, &["--out", contacts.to_str().unwrap()]);
        assert!(e.contains("--contacts"), "{e}");
        assert_eq!(
            std::fs::read_to_string(d.join("c.csv")).unwrap(),
            "phone\n+447446466801\n"
        );
        // Files that do not exist yet: refused before the journal or suppress file is created.
        let journal = d.join("j.log");
        let same_journal = sub.join("..").join("j.log");
        let e = out_error(
            d,
            &[
                "--journal",
                journal.to_str().unwrap(),
                "--out",
                same_journal.to_str().unwrap(),
            ],
        );
        assert!(e.contains("--journal"), "{e}");
        assert!(!journal.exists());
        // The results are written to `<out>.partial` first: that may not be an input either.
        let partial_journal = d.join("r.jsonl.partial");
        let e = out_error(
            d,
            &[
                "--journal",
                partial_journal.to_str().unwrap(),
                "--out",
                d.join("r.jsonl").to_str().unwrap(),
            ],
        );
        assert!(e.contains("--journal") && e.contains(".partial"), "{e}");
        let suppress = d.join("s.txt");
        let e = out_error(
            d,
            &[
                "--suppress",
                suppress.to_str().unwrap(),
                "--out",
                suppress.to_str().unwrap(),
            ],
        );
        assert!(e.contains("--suppress"), "{e}");
        assert!(!suppress.exists());
        // An existing suppress file reached through a symlink.
        #[cfg(unix)]
        {
            std::fs::write(&suppress, "+14155559999\n").unwrap();
            let link = d.join("link.txt");
            std::os::unix::fs::symlink(&suppress, &link).unwrap();
            let e = out_error(
                d,
                &[
                    "--suppress",
                    suppress.to_str().unwrap(),
                    "--out",
                    link.to_str().unwrap(),
                ],
            );
            assert!(e.contains("--suppress"), "{e}");
        }
    }
}
