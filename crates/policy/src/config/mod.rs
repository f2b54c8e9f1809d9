//! One TOML file configures the whole runtime.
//!
//! Every key is optional and has a documented default (docs/configuration.md); unknown keys are
//! rejected with the valid keys listed, and every error names the key path and the bad value,
//! so an operator's typo never silently falls back to a default.
//!
//! ```
//! let config = redial_policy::Config::from_toml_str(r#"
//!     [retry]
//!     max_attempts = 4
//!     deadline = "90s"
//!
//!     [codes.outbound_failed]
//!     max_attempts = 2
//! "#).unwrap();
//! assert_eq!(config.retry.max_attempts, 4);
//! ```

mod error;
mod fleet;
mod limits;
mod retry;
mod validate;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::ConfigError;
pub use fleet::*;
pub use limits::*;
pub use retry::*;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[retry]`: attempts, deadlines, timeouts, Retry-After ceiling, idempotency.
    pub retry: RetryConfig,
    /// `[backoff]`: delay schedules for retries and throttles.
    pub backoff: BackoffConfig,
    /// `[types.<type>]`: overrides by error type.
    pub types: TypeRules,
    /// `[codes.<code>]`: overrides by error code.
    pub codes: CodeRules,
    /// `[routes."METHOD /path"]`: limits by route.
    pub routes: RouteRules,
    /// `[twilio]`: what `outbound_failed` does by Twilio error code.
    pub twilio: TwilioConfig,
    /// `[budget]`: the retry budget.
    pub budget: BudgetConfig,
    /// `[pacing]`: request pacing buckets and adaptive rate.
    pub pacing: PacingConfig,
    /// `[slots]`: concurrent-call gate.
    pub slots: SlotsConfig,
    /// `[breaker]`: circuit breaker.
    pub breaker: BreakerConfig,
    /// `[polling]`: call status polling.
    pub polling: PollingConfig,
    /// `[support]`: when repeated provider errors make a support report.
    pub support: SupportConfig,
    /// `[fleet]`: a process's part in a fleet sharing the account through Redis.
    pub fleet: FleetSettings,
}

impl Config {
    /// Parses and validates a TOML document.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] when the TOML is malformed, a key is unknown or a value has the
    /// wrong type (the error names the key path); [`ConfigError::Invalid`] when a value is out
    /// of range or breaks a rule (such as making `recipient_unsubscribed` retryable).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
            path: String::new(),
            message: e.message().to_owned(),
        })?;
        let config: Config =
            serde_path_to_error::deserialize(deserializer).map_err(|e| ConfigError::Parse {
                path: e.path().to_string(),
                message: e.inner().message().to_owned(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, otherwise as
    /// [`Config::from_toml_str`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// The longest one request waits out an account pause: `pacing.max_pause`, or
    /// `retry.max_retry_after` when unset.
    pub fn max_pause(&self) -> std::time::Duration {
        self.pacing.max_pause.unwrap_or(self.retry.max_retry_after)
    }

    /// Checks every value range and rule; returns every problem found, not only the first.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing each problem with its key path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::validate(self)
    }
}
