//! [`CampaignError`]: why a campaign could not run to its end. A contact's own failure is
//! never one of these — it is that contact's [`ContactOutcome`](crate::ContactOutcome).

/// The error type the seams' implementations return (like tower's `BoxError`): each keeps
/// its own typed error, which the engine wraps with the seam it came from.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a campaign stopped before every contact had its outcome. The contacts already
/// written to the sink keep their outcomes; the journal lets a rerun go on from there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CampaignError {
    /// The contact source failed (not a malformed record: those are outcomes).
    #[error("contact source: {0}")]
    Source(#[source] BoxError),
    /// The journal could not record or read a contact.
    #[error("journal: {0}")]
    Journal(#[source] BoxError),
    /// The result sink could not take an outcome.
    #[error("results: {0}")]
    Sink(#[source] BoxError),
    /// The suppression list could not be read or could not record an opt-out.
    #[error("suppression list: {0}")]
    Suppression(#[source] BoxError),
}
