//! Stage two of `redial campaign`'s arguments: every flag checked and turned into a
//! ready-to-use object. Anything wrong here is a [`UsageError`] naming the input (exit 2).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use redial_policy::Config;
use redial_policy::config::{ACCOUNT_BUCKET, Idempotency};
use redial_sim::Scenario;
use redial_transport::ApiKey;

use crate::args::{CampaignArgs, IdempotencyArg, ProgressArg};
use crate::contacts::ContactReader;
use crate::exit::UsageError;
use crate::journal::{Journal, Prior};
use crate::suppress::SuppressList;

/// The key of the simulator's seeded account.
pub const SIM_KEY: &str = "demo_key:demo_secret";
/// Contacts in flight per call slot: enough to keep slots busy while others are polled.
pub const IN_FLIGHT_PER_SLOT: usize = 2;

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
    pub journal: Option<(Journal, Prior)>,
    /// Where to serve metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// Numbers never to dial.
    pub suppress: SuppressList,
    /// How to show progress.
    pub progress: ProgressArg,
    /// Contacts in flight at once.
    pub in_flight: usize,
}

impl Plan {
    /// Checks every flag and loads the config, journal and suppress list.
    ///
    /// # Errors
    /// [`UsageError`] naming the flag, file or config key at fault.
    pub fn from_args(a: CampaignArgs) -> Result<Plan, UsageError> {
        ContactReader::open(&a.contacts).map_err(|e| UsageError::new(e.to_string()))?;
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
                    key: parse_key(&raw)?,
                }
            }
            None => Target::Embedded {
                scenario: Box::new(Scenario::demo()),
                key: parse_key(a.api_key.as_deref().unwrap_or(SIM_KEY))?,
            },
        };
        let metrics_addr = a.metrics_addr.as_deref().map(parse_addr).transpose()?;
        let suppress = match &a.suppress {
            Some(path) => {
                SuppressList::load(path).map_err(|e| UsageError::new(format!("--suppress: {e}")))?
            }
            None => SuppressList::none(),
        };
        let journal = match &a.journal {
            Some(path) => Some(
                Journal::open(path, &a.agent, &a.contacts)
                    .map_err(|e| UsageError::new(format!("--journal: {e}")))?,
            ),
            None => None,
        };
        let in_flight = config.slots.max_concurrent_calls as usize * IN_FLIGHT_PER_SLOT;
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
        })
    }
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
}
