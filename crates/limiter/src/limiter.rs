//! [`Limiter`]: the pacer, the slot gate, the breakers and the budget, built from one config.

use std::sync::Arc;

use redial_policy::Config;

use crate::{Breakers, Budget, InProcessPacer, InProcessSlotGate, Pacer, SlotGate};

/// Everything that decides when a request may go, as the transport holds it.
///
/// ```
/// use redial_limiter::Limiter;
/// use redial_policy::Config;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let limiter = Limiter::in_process(&Config::default());
/// let slot = limiter.slots().acquire().await;
/// assert_eq!(limiter.slots().held(), 1);
/// drop(slot);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Limiter {
    pacer: Arc<dyn Pacer>,
    slots: Arc<dyn SlotGate>,
    breakers: Arc<Breakers>,
    budget: Arc<Budget>,
}

impl Limiter {
    /// The in-process backend: limits apply to this process only.
    pub fn in_process(config: &Config) -> Self {
        Self::from_parts(
            Arc::new(InProcessPacer::new(&config.pacing)),
            Arc::new(InProcessSlotGate::new(&config.slots)),
            Arc::new(Breakers::new(&config.breaker)),
            Arc::new(Budget::new(&config.budget)),
        )
    }

    /// Assembles a limiter from parts (another backend's pacer or gate, or test doubles).
    pub fn from_parts(
        pacer: Arc<dyn Pacer>,
        slots: Arc<dyn SlotGate>,
        breakers: Arc<Breakers>,
        budget: Arc<Budget>,
    ) -> Self {
        Self {
            pacer,
            slots,
            breakers,
            budget,
        }
    }

    /// The request pacer.
    pub fn pacer(&self) -> &Arc<dyn Pacer> {
        &self.pacer
    }

    /// The call-slot gate.
    pub fn slots(&self) -> &Arc<dyn SlotGate> {
        &self.slots
    }

    /// The circuit breakers.
    pub fn breakers(&self) -> &Arc<Breakers> {
        &self.breakers
    }

    /// The retry budget.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Applies a new config to every part, keeping their state where it can.
    pub fn reconfigure(&self, config: &Config) {
        self.pacer.reconfigure(&config.pacing);
        self.slots.reconfigure(&config.slots);
        self.breakers.reconfigure(&config.breaker);
        self.budget.reconfigure(&config.budget);
    }
}
