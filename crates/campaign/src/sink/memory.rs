//! [`MemorySink`]: outcomes collected in memory.

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;

use super::ResultSink;
use crate::error::BoxError;
use crate::outcome::ContactOutcome;

/// Collects outcomes in a shared `Vec`: clone the sink before handing it to the engine and
/// read the outcomes from the clone.
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    outcomes: Arc<Mutex<Vec<ContactOutcome>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The outcomes written so far, in order.
    pub fn outcomes(&self) -> Vec<ContactOutcome> {
        self.outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResultSink for MemorySink {
    fn write<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        self.outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(outcome.clone());
        Box::pin(std::future::ready(Ok(())))
    }
}
