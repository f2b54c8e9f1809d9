//! Circuit breakers, one per endpoint group (`calls`, `messages`, `agents`, `numbers`, ...).
//!
//! Why: when a provider behind one group is down, every request to it fails after a timeout,
//! holding call slots and budget. An open circuit fails those requests at once, with a typed
//! [`CircuitOpen`] saying until when, and lets a few probes through after `break_duration`
//! to find out whether the group has recovered.
//!
//! Defaults and sources are in [`redial_policy::config::BreakerConfig`] (Polly v8,
//! Resilience4j). Only outcomes the caller reports count: the transport reports retryable
//! server, provider and timeout failures as failures, and never a 4xx.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redial_policy::config::BreakerConfig;
use tokio::time::Instant;

use crate::clock;
use crate::metrics as m;

/// `Circuit::since` of a circuit that changed phase and has not been stamped yet (stamped by
/// `Breakers::publish` before the lock is released).
const STAMP_PENDING: u64 = u64::MAX;

/// Sub-buckets of the sliding sampling window.
const WINDOW_SLOTS: usize = 10;

/// A request was refused because its circuit is open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit for endpoint group `{group}` is open; retry in {retry_in:?}")]
#[non_exhaustive]
pub struct CircuitOpen {
    /// The endpoint group.
    pub group: String,
    /// When the circuit lets a probe through.
    pub until: Instant,
    /// `until` minus now.
    pub retry_in: Duration,
}

/// The state of one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Requests flow; failures are counted.
    Closed,
    /// Requests fail fast until `until`.
    Open {
        /// When half-open probes start.
        until: Instant,
    },
    /// A few probes are let through; their outcome closes or re-opens the circuit.
    HalfOpen,
}

impl CircuitState {
    fn gauge_value(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open { .. } => 2.0,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open { .. } => "open",
        }
    }
}

/// The circuit breakers of every endpoint group, created on first use.
///
/// ```
/// use redial_limiter::Breakers;
/// use redial_policy::config::BreakerConfig;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let breakers = Breakers::new(&BreakerConfig { consecutive_failures: 2, ..Default::default() });
/// breakers.try_acquire("calls").unwrap();
/// breakers.on_failure("calls");
/// breakers.on_failure("calls");
/// let open = breakers.try_acquire("calls").unwrap_err();
/// assert_eq!(open.group, "calls");
/// # });
/// ```
pub struct Breakers {
    inner: Mutex<Inner>,
    /// Every circuit is closed (or the breaker is disabled): admitting a request needs no
    /// lock. Written under the lock after every change of phase or config.
    all_closed: AtomicBool,
    /// Phase changes so far, of any circuit: stamps [`Permit`]s so that an outcome of a
    /// request admitted before its circuit last changed phase is not taken for the new phase.
    transitions: AtomicU64,
}

/// Admission of one request to a circuit ([`Breakers::admit`]); hand it back with the
/// outcome ([`Breakers::record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "report the outcome with Breakers::record"]
pub struct Permit {
    issued: u64,
}

struct Inner {
    config: BreakerConfig,
    epoch: Instant,
    /// One circuit per group, in the order first seen. Groups are a handful of endpoint
    /// families, so a scan of short names beats hashing them on every request.
    circuits: Vec<(String, Circuit)>,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { since: Instant, in_flight: u32 },
}

struct Circuit {
    phase: Phase,
    /// `Breakers::transitions` right after this circuit last changed phase.
    since: u64,
    consecutive: u32,
    window: [Slot; WINDOW_SLOTS],
    state_gauge: metrics::Gauge,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    index: u64,
    successes: u32,
    failures: u32,
}

impl Circuit {
    fn new(group: &str) -> Self {
        let state_gauge = metrics::gauge!(m::BREAKER_STATE, "group" => group.to_owned());
        state_gauge.set(0.0);
        Self {
            phase: Phase::Closed,
            since: 0,
            consecutive: 0,
            window: [Slot::default(); WINDOW_SLOTS],
            state_gauge,
        }
    }

    fn state(&self) -> CircuitState {
        match self.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } => CircuitState::Open { until },
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    fn transition(&mut self, group: &str, to: Phase) {
        self.phase = to;
        self.since = STAMP_PENDING;
        if !matches!(self.phase, Phase::Open { .. }) {
            self.consecutive = 0;
            self.window = [Slot::default(); WINDOW_SLOTS];
        }
        let state = self.state();
        self.state_gauge.set(state.gauge_value());
        metrics::counter!(m::BREAKER_TRANSITIONS, "group" => group.to_owned(), "to" => state.label()).increment(1);
        tracing::info!(group, to = state.label(), "circuit breaker transition");
    }

    fn record(&mut self, index: u64, failed: bool) {
        let slot = &mut self.window[(index % WINDOW_SLOTS as u64) as usize];
        if slot.index != index {
            *slot = Slot {
                index,
                ..Slot::default()
            };
        }
        if failed {
            slot.failures += 1;
        } else {
            slot.successes += 1;
        }
    }

    fn totals(&self, index: u64) -> (u32, u32) {
        self.window
            .iter()
            .filter(|s| s.index + (WINDOW_SLOTS as u64) > index && s.index <= index)
            .fold((0, 0), |(t, f), s| {
                (t + s.successes + s.failures, f + s.failures)
            })
    }
}

impl Inner {
    fn slot_index(&self, now: Instant) -> u64 {
        let width =
            (self.config.sampling_window / WINDOW_SLOTS as u32).max(Duration::from_millis(1));
        // Slot 0 is left unused so that a zeroed slot never counts as current.
        1 + crate::clock::slot_index(now.saturating_duration_since(self.epoch), width)
    }

    fn get(&self, group: &str) -> Option<&Circuit> {
        self.circuits
            .iter()
            .find(|(name, _)| name == group)
            .map(|(_, c)| c)
    }

    fn circuit(&mut self, group: &str) -> &mut Circuit {
        // Look up first: the group's name is allocated only the first time it is seen.
        let at = match self.circuits.iter().position(|(name, _)| name == group) {
            Some(at) => at,
            None => {
                self.circuits.push((group.to_owned(), Circuit::new(group)));
                self.circuits.len() - 1
            }
        };
        &mut self.circuits[at].1
    }

    fn circuits_mut(&mut self) -> impl Iterator<Item = &mut Circuit> {
        self.circuits.iter_mut().map(|(_, c)| c)
    }
}

impl Breakers {
    /// Breakers for every group, all closed.
    pub fn new(config: &BreakerConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                config: config.clone(),
                epoch: clock::now(),
                circuits: Vec::new(),
            }),
            all_closed: AtomicBool::new(true),
            transitions: AtomicU64::new(0),
        }
    }

    /// Stamps circuits that changed phase and publishes whether every circuit is closed;
    /// called with the lock held after every operation that may change a phase.
    fn publish(&self, inner: &mut Inner) {
        for c in inner.circuits_mut() {
            if c.since == STAMP_PENDING {
                c.since = self.transitions.fetch_add(1, Ordering::AcqRel) + 1;
            }
        }
        let closed = !inner.config.enabled
            || inner
                .circuits
                .iter()
                .all(|(_, c)| matches!(c.phase, Phase::Closed));
        self.all_closed.store(closed, Ordering::Release);
    }

    /// Admits a request to `group` like [`try_acquire`](Self::try_acquire), with a permit to
    /// hand back with its outcome to [`record`](Self::record). An outcome whose permit
    /// predates the circuit's last change of phase is ignored: a slow request admitted while
    /// the circuit was closed must not decide a half-open circuit's fate.
    ///
    /// # Errors
    /// [`CircuitOpen`] as [`try_acquire`](Self::try_acquire).
    pub fn admit(&self, group: &str) -> Result<Permit, CircuitOpen> {
        if !self.all_closed.load(Ordering::Acquire) {
            let now = clock::now();
            let mut inner = self.lock();
            let verdict = Self::try_acquire_locked(&mut inner, group, now);
            self.publish(&mut inner);
            verdict?;
        }
        Ok(Permit {
            issued: self.transitions.load(Ordering::Acquire),
        })
    }

    /// Reports the outcome of a request admitted with `permit`: a retryable failure (server
    /// error, provider error, timeout) or not. Ignored when the circuit changed phase since.
    pub fn record(&self, group: &str, permit: Permit, failed: bool) {
        let now = clock::now();
        let mut inner = self.lock();
        // A success of a closed circuit changes no phase: nothing to publish.
        if Self::report_locked(&mut inner, group, Some(permit), failed, now) {
            self.publish(&mut inner);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks whether a request to `group` may go. Call it before sending; report the outcome
    /// with [`on_success`](Self::on_success) or [`on_failure`](Self::on_failure).
    ///
    /// # Errors
    /// [`CircuitOpen`] while the circuit is open, or while half-open with every probe out.
    pub fn try_acquire(&self, group: &str) -> Result<(), CircuitOpen> {
        // A closed circuit admits everything: the common case takes no lock.
        if self.all_closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = clock::now();
        let mut inner = self.lock();
        let verdict = Self::try_acquire_locked(&mut inner, group, now);
        self.publish(&mut inner);
        verdict
    }

    /// Looks without taking a permit: refuses only while the circuit is open (counted as a
    /// rejection). Lets a caller fail fast before it queues for pacing or a call slot, and
    /// take the permit with [`try_acquire`](Self::try_acquire) right before sending.
    ///
    /// # Errors
    /// [`CircuitOpen`] while the circuit is open.
    pub fn check(&self, group: &str) -> Result<(), CircuitOpen> {
        if self.all_closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = clock::now();
        let mut inner = self.lock();
        if !inner.config.enabled {
            return Ok(());
        }
        match inner.circuit(group).phase {
            Phase::Open { until } if now < until => Err(reject(group, until, now)),
            _ => Ok(()),
        }
    }

    fn try_acquire_locked(inner: &mut Inner, group: &str, now: Instant) -> Result<(), CircuitOpen> {
        if !inner.config.enabled {
            return Ok(());
        }
        let (probes, break_duration) = (
            inner.config.half_open_probes.max(1),
            inner.config.break_duration,
        );
        let circuit = inner.circuit(group);
        if let Phase::Open { until } = circuit.phase {
            if now < until {
                return Err(reject(group, until, now));
            }
            circuit.transition(
                group,
                Phase::HalfOpen {
                    since: now,
                    in_flight: 0,
                },
            );
        }
        match &mut circuit.phase {
            Phase::Closed => Ok(()),
            Phase::HalfOpen { since, in_flight } => {
                if *in_flight < probes {
                    *in_flight += 1;
                    Ok(())
                } else if now >= *since + break_duration {
                    // The probes never reported back; let a new round through.
                    *since = now;
                    *in_flight = 1;
                    Ok(())
                } else {
                    Err(reject(group, *since + break_duration, now))
                }
            }
            Phase::Open { .. } => {
                unreachable!("an open circuit past its break was made half-open above")
            }
        }
    }

    /// Reports a success of a request to `group`: a half-open probe success closes the
    /// circuit.
    pub fn on_success(&self, group: &str) {
        self.report(group, false, clock::now());
    }

    /// Reports a retryable failure (server error, provider error, timeout) of a request to
    /// `group`: may open the circuit; a half-open probe failure re-opens it.
    pub fn on_failure(&self, group: &str) {
        self.report(group, true, clock::now());
    }

    fn report(&self, group: &str, failed: bool, now: Instant) {
        let mut inner = self.lock();
        if Self::report_locked(&mut inner, group, None, failed, now) {
            self.publish(&mut inner);
        }
    }

    #[cfg(test)]
    fn try_acquire_at(&self, group: &str, now: Instant) -> Result<(), CircuitOpen> {
        let mut inner = self.lock();
        let verdict = Self::try_acquire_locked(&mut inner, group, now);
        self.publish(&mut inner);
        verdict
    }

    /// Records an outcome; true when the circuit changed phase. An outcome whose `permit`
    /// predates the circuit's last change of phase is ignored.
    fn report_locked(
        inner: &mut Inner,
        group: &str,
        permit: Option<Permit>,
        failed: bool,
        now: Instant,
    ) -> bool {
        if !inner.config.enabled {
            return false;
        }
        let index = inner.slot_index(now);
        let config = inner.config.clone();
        let circuit = inner.circuit(group);
        if permit.is_some_and(|p| p.issued < circuit.since) {
            return false;
        }
        match circuit.phase {
            Phase::Open { .. } => false,
            Phase::HalfOpen { .. } if failed => {
                circuit.transition(
                    group,
                    Phase::Open {
                        until: now + config.break_duration,
                    },
                );
                true
            }
            Phase::HalfOpen { .. } => {
                circuit.transition(group, Phase::Closed);
                true
            }
            Phase::Closed if !failed => {
                circuit.record(index, false);
                circuit.consecutive = 0;
                false
            }
            Phase::Closed => {
                circuit.record(index, true);
                circuit.consecutive += 1;
                let (total, failures) = circuit.totals(index);
                let by_count = config.consecutive_failures > 0
                    && circuit.consecutive >= config.consecutive_failures;
                let by_ratio = total >= config.min_throughput
                    && f64::from(failures) >= config.failure_ratio * f64::from(total);
                let opens = by_count || by_ratio;
                if opens {
                    circuit.transition(
                        group,
                        Phase::Open {
                            until: now + config.break_duration,
                        },
                    );
                }
                opens
            }
        }
    }

    /// The state of `group`'s circuit (closed if never used). An open circuit past its break
    /// reads as half-open.
    pub fn state(&self, group: &str) -> CircuitState {
        let now = clock::now();
        let inner = self.lock();
        match inner.get(group).map(Circuit::state) {
            None => CircuitState::Closed,
            Some(CircuitState::Open { until }) if now >= until => CircuitState::HalfOpen,
            Some(s) => s,
        }
    }

    /// Applies a new `[breaker]` config; circuits keep their state, windows restart when the
    /// sampling window changed.
    pub fn reconfigure(&self, config: &BreakerConfig) {
        let mut inner = self.lock();
        if inner.config.sampling_window != config.sampling_window {
            for c in inner.circuits_mut() {
                c.window = [Slot::default(); WINDOW_SLOTS];
            }
        }
        inner.config = config.clone();
        self.publish(&mut inner);
    }
}

fn reject(group: &str, until: Instant, now: Instant) -> CircuitOpen {
    metrics::counter!(m::BREAKER_REJECTIONS, "group" => group.to_owned()).increment(1);
    CircuitOpen {
        group: group.to_owned(),
        until,
        retry_in: until.saturating_duration_since(now),
    }
}

impl fmt::Debug for Breakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        let mut map = f.debug_map();
        for (group, c) in &inner.circuits {
            map.entry(group, &c.phase);
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding: a slow request admitted while the circuit was closed finished after the
    /// circuit had gone open and half-open, and its success closed the circuit although the
    /// probe had not reported.
    #[tokio::test(start_paused = true)]
    async fn outcomes_of_requests_admitted_before_a_phase_change_are_ignored() {
        let b = Breakers::new(&BreakerConfig {
            consecutive_failures: 2,
            break_duration: Duration::from_secs(5),
            ..BreakerConfig::default()
        });
        let slow = b.admit("calls").unwrap();
        for _ in 0..2 {
            let p = b.admit("calls").unwrap();
            b.record("calls", p, true);
        }
        assert!(matches!(b.state("calls"), CircuitState::Open { .. }));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let probe = b.admit("calls").expect("the half-open probe");
        b.record("calls", slow, false);
        assert_eq!(
            b.state("calls"),
            CircuitState::HalfOpen,
            "the stale success changed nothing"
        );
        b.record("calls", probe, false);
        assert_eq!(
            b.state("calls"),
            CircuitState::Closed,
            "the probe's success closes it"
        );
    }

    fn config() -> BreakerConfig {
        BreakerConfig {
            enabled: true,
            failure_ratio: 0.5,
            sampling_window: Duration::from_secs(10),
            min_throughput: 4,
            consecutive_failures: 0,
            break_duration: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ratio_counts_only_the_sampling_window() {
        let b = Breakers::new(&config());
        let t0 = clock::now();
        // Two failures, then the window slides past them.
        b.report("calls", true, t0);
        b.report("calls", true, t0);
        let later = t0 + Duration::from_secs(11);
        b.report("calls", false, later);
        b.report("calls", false, later);
        b.report("calls", true, later);
        assert!(
            b.try_acquire_at("calls", later).is_ok(),
            "1 failure in 3 inside the window"
        );
        b.report("calls", true, later);
        assert!(
            b.try_acquire_at("calls", later).is_err(),
            "2 of 4 reaches 0.5"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn lost_probes_do_not_wedge_a_half_open_circuit() {
        let b = Breakers::new(&BreakerConfig {
            consecutive_failures: 1,
            ..config()
        });
        let t0 = clock::now();
        b.report("agents", true, t0);
        let t1 = t0 + Duration::from_secs(5);
        assert!(b.try_acquire_at("agents", t1).is_ok(), "the probe");
        let err = b.try_acquire_at("agents", t1).unwrap_err();
        assert_eq!(err.until, t1 + Duration::from_secs(5));
        assert!(
            b.try_acquire_at("agents", t1 + Duration::from_secs(5))
                .is_ok(),
            "a new probe round"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_breaker_never_refuses() {
        let b = Breakers::new(&BreakerConfig {
            enabled: false,
            consecutive_failures: 1,
            ..config()
        });
        b.on_failure("calls");
        assert!(b.try_acquire("calls").is_ok());
        assert_eq!(b.state("calls"), CircuitState::Closed);
    }
}
