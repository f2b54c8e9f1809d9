//! redial-campaign: the campaign engine that dialers embed.
//!
//! Every campaign dialer writes the same loop — contacts in, create each call under the
//! account's limits, follow it to its end, record the outcome, survive a crash — and gets the
//! same parts wrong: a contact dialled twice after a retry or a restart, a contact silently
//! lost, a campaign that goes on after the API said the account is halted. This crate is that
//! loop, once, with the seams a dialer plugs its own storage into:
//!
//! | seam | what it does | in this crate |
//! |---|---|---|
//! | [`ContactSource`] | yields contacts (number, metadata, a stable key) | [`CsvSource`], [`MemorySource`] |
//! | [`Journal`] | records what was started and what finished | [`FileJournal`], [`MemoryJournal`] |
//! | [`ResultSink`] | takes each contact's one final outcome | [`JsonlSink`], [`MemorySink`] |
//! | [`Suppression`] | numbers never to dial, opt-outs added as they come | [`SuppressList`] |
//!
//! Pacing, retries, call slots, halts and the circuit breaker are the client's
//! (`redial-transport`): the engine holds no limit of its own but the number of contacts in
//! flight, which bounds its memory.
//!
//! # Exactly once
//!
//! - **Every contact gets exactly one outcome per run.** Each record the source yields —
//!   malformed, duplicate, suppressed, finished earlier, halted, stopped or dialled — is
//!   written to the sink once, as a [`ContactOutcome`] whose [`OutcomeStatus`] is one of
//!   `completed`, `failed`, `opted_out`, `ambiguous`, `halted`.
//! - **Nobody is dialled twice.** A number appears in one call per campaign: a duplicate row
//!   is `failed` (`duplicate_contact`) without a call. With a journal, the `started` record is
//!   durable before the create goes on the wire, and every create carries an idempotency key
//!   derived from the campaign id and the contact's key, the same on every run. A contact
//!   whose create may have gone out is never created again unless the journal proves it safe:
//!   it is resent under the same key only when the server honours keys (it then answers with
//!   the call it placed), and is reported `ambiguous` otherwise.
//! - **A rerun goes on.** With the same journal, finished contacts are written again from it
//!   (not dialled); contacts a halt or a stop ended before any call was made are dialled.
//!
//! # Example
//!
//! ```no_run
//! use redial_campaign::{Campaign, Contact, MemoryJournal, MemorySink, MemorySource};
//! use redial_transport::{ApiKey, Client};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .api_key(ApiKey::parse("demo_key:demo_secret")?)
//!     .build()?;
//! let campaign = Campaign::builder(client)
//!     .agent("agent_demo")
//!     .journal(MemoryJournal::default())
//!     .build()?;
//! let source = MemorySource::from_contacts([
//!     Contact::new("+447446466801").with_field("name", "Ada"),
//!     Contact::new("+447446466802"),
//! ]);
//! let sink = MemorySink::new();
//! let summary = campaign.run(source, sink.clone()).await?;
//! assert_eq!(summary.total(), 2);
//! for outcome in sink.outcomes() {
//!     println!("{} {}", outcome.phone, outcome.status);
//! }
//! # Ok(())
//! # }
//! ```

mod cancel;
mod clock;
mod contact;
mod engine;
mod error;
#[cfg(feature = "redis")]
pub mod fleet;
pub mod journal;
pub mod metrics;
mod outcome;
mod progress;
pub mod sink;
pub mod source;
mod summary;
pub mod suppress;

pub use cancel::CancelHandle;
pub use contact::{Contact, InvalidContact, SourceItem};
pub use engine::{
    BuildError, Campaign, CampaignBuilder, MAX_AMBIGUOUS_RESENDS, MIN_SPARE_IN_FLIGHT,
    default_in_flight,
};
pub use error::{BoxError, CampaignError};
pub use journal::{FileJournal, Journal, JournalError, MemoryJournal, PriorState, idempotency_key};
pub use outcome::{ContactOutcome, ErrorInfo, OutcomeStatus};
pub use progress::Progress;
pub use sink::{JsonlSink, MemorySink, ResultSink};
pub use source::{ContactSource, CsvSource, MemorySource};
pub use summary::Summary;
pub use suppress::{SuppressList, Suppression};
