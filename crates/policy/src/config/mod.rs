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

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::ConfigError;
pub use fleet::*;
pub use limits::*;
pub use retry::*;

/// Largest configuration file read, bytes (assumed: the commented example is a few KiB; a
/// file this large is not a config, and reading it whole must not exhaust memory).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

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
            message: located(text, &e),
        })?;
        let config: Config =
            serde_path_to_error::deserialize(deserializer).map_err(|e| ConfigError::Parse {
                path: e.path().to_string(),
                message: located(text, e.inner()),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, is larger than
    /// [`MAX_CONFIG_BYTES`] or is not UTF-8 (naming the line), otherwise as
    /// [`Config::from_toml_str`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let invalid = |what: String| read_error(io::Error::new(io::ErrorKind::InvalidData, what));
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(invalid(format!(
                "larger than {} KiB: not a redial config file",
                MAX_CONFIG_BYTES / 1024
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            invalid(format!("line {line} is not valid UTF-8"))
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

/// Longest text of the TOML at an error's position quoted in the message, bytes.
const MAX_QUOTED_BYTES: usize = 64;

/// Longest parser message kept, bytes: a parser quotes the bad value, which may be megabytes.
const MAX_MESSAGE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes (on a character boundary), marked `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &text[..end])
}

/// A TOML error's message, prefixed with where it is (`line 3, column 1, at "key": ...`) when
/// the parser knows, so a syntax error names its place even without a key path.
fn located(text: &str, error: &toml::de::Error) -> String {
    let message = cut(error.message(), MAX_MESSAGE_BYTES);
    let Some(span) = error.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    match text.get(span) {
        Some(at) if !at.is_empty() && at.len() <= MAX_QUOTED_BYTES && !at.contains('\n') => {
            format!("line {line}, column {column}, at {at:?}: {message}")
        }
        _ => format!("line {line}, column {column}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile-input finding (issue 15, tests/fuzz_config.rs): a syntax error or a duplicate
    /// key said only "config key ``: duplicate key", naming neither the key nor the line.
    #[test]
    fn a_syntax_error_names_its_line_and_the_text_there() {
        let e = Config::from_toml_str("[retry]\nmax_attempts = 3\nmax_attempts = 4\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("max_attempts"), "{e}");
        assert!(!e.contains("``"), "no empty key path: {e}");
        let e = Config::from_toml_str("[retry]\n\n[retry")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = Config::from_toml_str("[retry]\nmax_attempts = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("retry.max_attempts") && e.contains("line 2"),
            "{e}"
        );
        let e = Config::from_toml_str(&format!("[retry]\ndeadline = \"{}s\"", "9".repeat(1 << 20)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("retry.deadline") && e.len() < 2048,
            "a megabyte value is cut"
        );
    }

    /// Hostile-input finding (issue 15, tests/fuzz_config.rs): the file was read whole,
    /// whatever its size, and a non-UTF-8 byte was reported without its line.
    #[test]
    fn a_huge_or_non_utf8_file_is_refused_naming_the_problem() {
        let dir = std::env::temp_dir().join(format!("redial-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.toml");
        std::fs::write(&path, vec![b'#'; MAX_CONFIG_BYTES + 1]).unwrap();
        let e = Config::from_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("big.toml") && e.contains("larger than 1024 KiB"),
            "{e}"
        );
        std::fs::write(&path, b"[retry]\nmax_attempts = 3 # \xff\n").unwrap();
        let e = Config::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("line 2 is not valid UTF-8"), "{e}");
        std::fs::write(&path, b"[retry]\nmax_attempts = 3\n").unwrap();
        assert_eq!(Config::from_file(&path).unwrap().retry.max_attempts, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
