//! Exit statuses and the mapping of a command's result to one.

use std::process::ExitCode;

/// The process exit status of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: the command ran to the end (a campaign with failed contacts included).
    Ok,
    /// 1: a runtime failure (I/O error writing results or the journal, ...).
    Failure,
    /// 2: bad usage or an invalid config; the message names the problem.
    Usage,
    /// 3: an account- or agent-scope halt stopped the campaign.
    Halted,
    /// 130: the operator interrupted the campaign (Ctrl-C or SIGTERM); every contact still
    /// has its result line, those not dialled `halted`/`interrupted`.
    Interrupted,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Halted => 3,
            Self::Interrupted => crate::interrupt::INTERRUPTED_EXIT,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        ExitCode::from(s.code())
    }
}

/// Bad usage or config: reported as `error: <message>` and exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Builds an `anyhow` error that exits 2.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError::new(message).into()
}

/// Prints a command's error (if any) on stderr and returns the exit status.
pub fn report(result: anyhow::Result<Status>) -> Status {
    match result {
        Ok(status) => status,
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {e:#}");
            Status::Usage
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Status::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        assert_eq!(report(Err(usage("--rate must be > 0"))), Status::Usage);
        assert_eq!(report(Err(anyhow::anyhow!("disk full"))), Status::Failure);
        assert_eq!(report(Ok(Status::Halted)).code(), 3);
    }
}
