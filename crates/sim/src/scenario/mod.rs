//! Scenarios: everything a simulator run is configured with.
//!
//! A scenario is plain data, loaded from TOML (every key optional, durations as strings like
//! `"250ms"`) or built in code. The defaults describe a permissive account with seed data good
//! enough for a demo; [`Scenario::demo`] adds limits and faults for a short demo,
//! [`Scenario::realistic`] models a real deployment (long calls, a quota, gateway outages)
//! and [`Scenario::unlimited`] removes everything that costs time.

mod account;
mod calls;
mod compress;
mod faults;
mod limits;
mod presets;
mod quota;
mod validate;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::SimError;

pub use account::{AccountConfig, AgentSeed, ApiKey, TwilioAccount, TwilioReject};
pub use calls::{CallsConfig, DEFAULT_LOGNORMAL_SIGMA, OutcomeWeights, TalkTime};
pub use faults::{FaultConfig, FaultKind, FirstFault, Outage, ScheduledFault};
pub use limits::{LimitsConfig, RetryAfterFormat};
pub use presets::UNLIMITED_KEEP_FINISHED;
pub use quota::QuotaConfig;

/// Default RNG seed: any fixed value makes runs repeatable.
const DEFAULT_SEED: u64 = 1;

/// A complete simulator configuration.
///
/// ```
/// let s = redial_sim::Scenario::from_toml_str(r#"
///     seed = 7
///     [limits]
///     requests_per_second = 10.0
///     burst = 5
///     [faults]
///     server_error = 0.05
/// "#).unwrap();
/// assert_eq!(s.limits.burst, 5);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Seed of the one RNG behind ids, call outcomes and faults.
    pub seed: u64,
    /// Account request rate and call concurrency limits.
    pub limits: LimitsConfig,
    /// Call lifecycle timing and outcomes.
    pub calls: CallsConfig,
    /// Seed data: API keys, agents, numbers, Twilio accounts, compliance lists.
    pub account: AccountConfig,
    /// Idempotency-Key handling.
    pub idempotency: IdempotencyConfig,
    /// Random and scheduled fault injection, and gateway outages.
    pub faults: FaultConfig,
    /// A call quota per window (off by default).
    pub quota: QuotaConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            limits: LimitsConfig::default(),
            calls: CallsConfig::default(),
            account: AccountConfig::default(),
            idempotency: IdempotencyConfig::default(),
            faults: FaultConfig::default(),
            quota: QuotaConfig::default(),
        }
    }
}

/// How the server treats the `Idempotency-Key` header on POST requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// When true, a repeated key replays the first response and creates nothing; when false
    /// the header is ignored (the contract allows either).
    pub honoured: bool,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self { honoured: true }
    }
}

impl Scenario {
    /// Parses and validates a scenario from TOML text.
    ///
    /// # Errors
    /// [`SimError::Parse`] naming the key path for syntax errors, unknown keys and wrong
    /// types; [`SimError::Invalid`] naming key and value for out-of-range values.
    pub fn from_toml_str(s: &str) -> Result<Scenario, SimError> {
        let de = toml::Deserializer::parse(s).map_err(|e| SimError::Parse {
            key: ".".to_owned(),
            message: e.message().to_owned(),
        })?;
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            SimError::Parse {
                key,
                message: e.into_inner().message().to_owned(),
            }
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads, parses and validates a scenario file.
    ///
    /// # Errors
    /// [`SimError::Io`] when the file cannot be read, otherwise as [`Scenario::from_toml_str`].
    pub fn from_file(p: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(p).map_err(|source| SimError::Io {
            path: p.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Checks ranges and cross-field rules that serde cannot express.
    ///
    /// # Errors
    /// [`SimError::Invalid`] naming the first offending key and value.
    pub fn validate(&self) -> Result<(), SimError> {
        validate::scenario(self)
    }
}
