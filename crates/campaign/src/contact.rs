//! What a [`ContactSource`](crate::ContactSource) yields: a [`Contact`] to dial, or an
//! [`InvalidContact`] that cannot be dialled but must still get its outcome.

use serde_json::{Map, Value};

/// A contact to dial.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Contact {
    /// The stable key of the contact in its campaign: the journal knows it by this key and its
    /// idempotency key is derived from it, so it must not change between runs. The CSV source
    /// uses the phone number (a campaign dials each number once).
    pub key: String,
    /// Where the contact is in its source, for people (the contacts file's line).
    pub line: u64,
    /// The number to dial, E.164.
    pub phone: String,
    /// Sent as the call's `metadata` (the CSV source: every column but `phone`).
    pub metadata: Map<String, Value>,
}

impl Contact {
    /// A contact keyed by its number, at position 0, without metadata.
    pub fn new(phone: impl Into<String>) -> Self {
        let phone = phone.into();
        Self {
            key: phone.clone(),
            line: 0,
            phone,
            metadata: Map::new(),
        }
    }

    /// Sets the stable key (a database id, say).
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets the position in the source.
    #[must_use]
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = line;
        self
    }

    /// Adds one metadata field.
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }
}

/// A record of the source that cannot be dialled (a malformed CSV row): it still gets an
/// outcome (`failed`, `invalid_input`), so nothing is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidContact {
    /// Where the record is in its source.
    pub line: u64,
    /// The phone field as far as it could be read (lossy UTF-8), or empty.
    pub phone: String,
    /// What is wrong, for people.
    pub reason: String,
}

impl InvalidContact {
    /// A record at `line` that cannot be dialled, for `reason`.
    pub fn new(line: u64, phone: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line,
            phone: phone.into(),
            reason: reason.into(),
        }
    }
}

/// One record of a contact source.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceItem {
    /// A dialable contact.
    Contact(Contact),
    /// A record that cannot be dialled.
    Invalid(InvalidContact),
}
