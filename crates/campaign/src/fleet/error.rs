//! [`RedisWorkError`]: why the fleet's work queue or journal could not go on.

use std::time::Duration;

/// Why a fleet campaign's work queue or journal failed. Every variant stops the campaign (the
/// engine wraps it as a source or journal error); none loses a contact: what was recorded
/// stays in Redis, and a contact whose outcome was not acknowledged is taken over by another
/// process or the next run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisWorkError {
    /// The campaign name is empty or holds `{` or `}` (it becomes the keys' hash tag).
    #[error("invalid campaign name {name:?}: must be non-empty, without '{{' or '}}'")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The Redis URL could not be parsed.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(#[source] ::redis::RedisError),
    /// Redis did not answer for `waited` (`fleet.redis_wait`).
    #[error("Redis did not answer for {waited:?} ({op})")]
    Unavailable {
        /// What was being done.
        op: &'static str,
        /// How long it was waited for.
        waited: Duration,
        /// The last error.
        source: ::redis::RedisError,
    },
    /// Redis answered with an error.
    #[error("Redis ({op})")]
    Redis {
        /// What was being done.
        op: &'static str,
        /// The error.
        source: ::redis::RedisError,
    },
    /// The campaign's marker is gone while the process works on it, or marks the campaign
    /// lost: Redis lost its data (a restart without persistence, a flush). Continuing could
    /// dial contacts already dialled, so the campaign stops.
    #[error(
        "campaign {campaign:?}: its state in Redis is lost (Redis restarted without \
         persistence, or was flushed); refusing to go on, which could dial contacts again. \
         The results files hold what was done; start a new campaign name for the rest \
         (docs/fleet.md)"
    )]
    Lost {
        /// The campaign name.
        campaign: String,
    },
    /// Another run of the campaign started (this process was taken for dead: it stopped
    /// renewing its presence for the claim timeout).
    #[error(
        "campaign {campaign:?}: run {run} ended while this process was away (it did not renew \
         its presence within fleet.claim_timeout); its contacts were handed to another run"
    )]
    RunEnded {
        /// The campaign name.
        campaign: String,
        /// This process's run.
        run: u64,
    },
    /// Another process took a contact over while this one still worked on it (it stalled
    /// longer than the claim timeout): nothing more is recorded for it from here.
    #[error(
        "contact at line {line}: another process took it over (this one did not renew its claim \
         within fleet.claim_timeout); stopping rather than recording it twice"
    )]
    ClaimLost {
        /// The contact's line.
        line: u64,
    },
    /// A journal record for a contact this process did not claim through its
    /// [`RedisSource`](super::RedisSource).
    #[error("contact {key:?} was not handed out by this process's RedisSource")]
    NotClaimed {
        /// The contact key.
        key: String,
    },
    /// The campaign exists with another agent or contact list.
    #[error("campaign {campaign:?} was started with {what} {theirs}; this process has {ours}")]
    Mismatch {
        /// The campaign name.
        campaign: String,
        /// `agent` or `contacts`.
        what: &'static str,
        /// The campaign's.
        theirs: String,
        /// This process's.
        ours: String,
    },
    /// The contacts file could not be read (the loader).
    #[error(transparent)]
    Contacts(#[from] crate::source::ContactsError),
    /// Redis holds something this version cannot read.
    #[error("unexpected data in Redis ({what}): {detail}")]
    Corrupt {
        /// What was read.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Built outside a tokio runtime (the work queue runs a background task).
    #[error("the Redis work queue must be built inside a tokio runtime")]
    NoRuntime,
}
