//! Errors of loading a configuration file.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, a key is unknown or a value has the wrong type.
    #[error("{}", ParseError(.path, .message))]
    Parse {
        /// Dotted key path (empty for a syntax error of the whole document).
        path: String,
        /// What was wrong, with the valid keys or values where known.
        message: String,
    },
    /// Values parsed but break a range or a rule.
    #[error("invalid config: {}", Problems(.problems))]
    Invalid {
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// One invalid value: the key path, the value, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `codes.recipient_unsubscribed.action`.
    pub path: String,
    /// The offending value as written.
    pub value: String,
    /// What is allowed, or the rule that was broken.
    pub expected: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` = {}: {}", self.path, self.value, self.expected)
    }
}

/// How a [`ConfigError::Parse`] reads: the key path when there is one.
struct ParseError<'a>(&'a str, &'a str);

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            "" => write!(f, "config: {}", self.1),
            path => write!(f, "config key `{path}`: {}", self.1),
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
