//! [`MemorySource`]: contacts from a `Vec` (tests, and dialers that load their list
//! themselves).

use std::collections::VecDeque;

use futures::future::BoxFuture;

use super::ContactSource;
use crate::contact::{Contact, SourceItem};
use crate::error::BoxError;

/// A source over records already in memory.
#[derive(Debug, Default, Clone)]
pub struct MemorySource {
    items: VecDeque<SourceItem>,
    total: u64,
}

impl MemorySource {
    /// A source of these records, in order.
    pub fn new(items: impl IntoIterator<Item = SourceItem>) -> Self {
        let items: VecDeque<_> = items.into_iter().collect();
        Self {
            total: items.len() as u64,
            items,
        }
    }

    /// A source of these contacts, in order.
    pub fn from_contacts(contacts: impl IntoIterator<Item = Contact>) -> Self {
        Self::new(contacts.into_iter().map(SourceItem::Contact))
    }
}

impl ContactSource for MemorySource {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>> {
        Box::pin(std::future::ready(Ok(self.items.pop_front())))
    }

    fn size_hint(&self) -> Option<u64> {
        Some(self.total)
    }
}
