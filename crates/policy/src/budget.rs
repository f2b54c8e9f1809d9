//! The retry budget, as the policy sees it.
//!
//! Why a budget and not only a maximum number of attempts: during an outage every request
//! fails, and "retry each up to N times" multiplies the load on a struggling server by N. A
//! budget lets retries add at most a share of the normal traffic (Finagle's `RetryBudget`,
//! tower's `TpsBudget`, Envoy's retry budgets). The budget keeps time, so it lives in
//! `redial-limiter`; the policy only asks it.

/// Something that may refuse a retry. `Send + Sync` because the retry loop holds it across
/// awaits in futures that callers spawn onto multi-threaded runtimes.
pub trait RetryBudget: Send + Sync {
    /// Takes `cost` units for one retry; `false` when the budget is spent.
    fn try_withdraw(&self, cost: f64) -> bool;
}

/// A budget that never refuses (budgets disabled, or tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl RetryBudget for Unlimited {
    fn try_withdraw(&self, _cost: f64) -> bool {
        true
    }
}

/// A budget that always refuses (tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Exhausted;

impl RetryBudget for Exhausted {
    fn try_withdraw(&self, _cost: f64) -> bool {
        false
    }
}
