//! The account pause: a throttle's `Retry-After` stops every request of the account, and at
//! its end one probe goes first.
//!
//! Why account-wide: a quota answer (`rate_limit_exceeded` with `Retry-After: 3600`) says the
//! account may send nothing until then, whatever the route; pausing only the buckets that paced
//! the refused request would let every other route burn its own refusal.
//!
//! Why a probe: when a pause ends, every waiter would otherwise go at once (a thundering herd
//! that meets the same refusal if the server's window has not quite reopened). So the first
//! request after the end is the probe; the rest wait until it is answered (the transport
//! reports any answer) or [`PROBE_TIMEOUT`] passes, and then go as the buckets allow.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock;

/// Longest the other requests wait for the post-pause probe's answer before they go anyway.
/// **Assumed**: a few seconds covers a normal answer; a probe that hangs (its answer lost)
/// must not hold the account for a whole attempt timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The state of the account pause.
#[derive(Debug, Default)]
pub(super) struct PauseGate {
    state: Mutex<State>,
    /// Woken on every change: a pause starts or grows, a probe is answered.
    notify: Notify,
    /// Whether a pause or a probe is in force: the fast path of an unpaused account reads
    /// only this.
    engaged: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    paused_until: Option<Instant>,
    /// Counts pauses started or extended; a request that took its bucket cells under an older
    /// epoch took them before the pause and must take them again after it.
    epoch: u64,
    probe: Probe,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// No pause ended without its probe.
    #[default]
    None,
    /// A pause is on or just ended: the next request through is the probe.
    Due,
    /// The probe went at some time; the others wait until it is answered or `until`.
    Out { until: Instant },
}

/// What a request learned when it passed the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pass {
    /// The pause epoch it passed under.
    pub(super) epoch: u64,
    /// The probe's wait just ended (answered or timed out): the buckets refilled during the
    /// pause and must be drained, so the release goes at the rate, not in a burst.
    pub(super) released: bool,
}

impl PauseGate {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether nothing holds requests back (no pause, no probe): one atomic load.
    pub(super) fn is_clear(&self) -> bool {
        !self.engaged.load(Ordering::Acquire)
    }

    /// The current pause epoch.
    pub(super) fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Pauses the account until `now + retry_after`; a shorter pause never shortens a longer
    /// one. Returns how far the pause was extended (zero when it was not).
    pub(super) fn pause(&self, retry_after: Duration) -> Duration {
        let now = clock::now();
        let until = now + retry_after;
        let mut st = self.lock();
        let from = st.paused_until.map_or(now, |p| p.max(now));
        if until <= from {
            return Duration::ZERO;
        }
        st.paused_until = Some(until);
        st.epoch += 1;
        st.probe = Probe::Due;
        self.engaged.store(true, Ordering::Release);
        drop(st);
        self.notify.notify_waiters();
        until - from
    }

    /// Until when the account is paused, if it is.
    pub(super) fn paused_until(&self) -> Option<Instant> {
        if self.is_clear() {
            return None;
        }
        self.lock().paused_until.filter(|&p| p > clock::now())
    }

    /// An answer arrived: a probe that was out is answered, the others may go. Returns whether
    /// this released them.
    pub(super) fn answered(&self) -> bool {
        if self.is_clear() {
            return false;
        }
        let mut st = self.lock();
        if !matches!(st.probe, Probe::Out { .. }) {
            return false;
        }
        st.probe = Probe::None;
        self.settle(&st);
        drop(st);
        self.notify.notify_waiters();
        true
    }

    fn settle(&self, st: &State) {
        let clear = st.probe == Probe::None && st.paused_until.is_none();
        self.engaged.store(!clear, Ordering::Release);
    }

    /// Waits until a request may go: not paused, and no probe out (or this request is the
    /// probe). Cancellation-safe: a dropped waiter takes nothing; a dropped probe leaves the
    /// others to [`PROBE_TIMEOUT`].
    pub(super) async fn pass(&self) -> Pass {
        let mut released = false;
        loop {
            let mut notified = pin!(self.notify.notified());
            // Register before looking, so a change in between still wakes us.
            notified.as_mut().enable();
            let wake_at = {
                let mut st = self.lock();
                let now = clock::now();
                match st.paused_until {
                    Some(until) if until > now => until,
                    _ => {
                        st.paused_until = None;
                        match st.probe {
                            Probe::None => {
                                self.settle(&st);
                                return Pass {
                                    epoch: st.epoch,
                                    released,
                                };
                            }
                            Probe::Due => {
                                st.probe = Probe::Out {
                                    until: now + PROBE_TIMEOUT,
                                };
                                return Pass {
                                    epoch: st.epoch,
                                    released: false,
                                };
                            }
                            Probe::Out { until } if until > now => until,
                            Probe::Out { .. } => {
                                // The probe was not answered in time: release the others.
                                st.probe = Probe::None;
                                self.settle(&st);
                                drop(st);
                                self.notify.notify_waiters();
                                released = true;
                                continue;
                            }
                        }
                    }
                }
            };
            let _ = tokio::time::timeout_at(wake_at, notified).await;
        }
    }

    /// A future that completes at the next change of the pause (a pause starts or grows, a
    /// probe is answered). Registered at once: a change after this call is not missed.
    pub(super) fn changed(&self) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut notified = Box::pin(self.notify.notified());
        notified.as_mut().enable();
        notified
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_lets_one_probe_through_then_the_rest_on_its_answer() {
        let gate = PauseGate::default();
        assert!(gate.is_clear());
        let start = clock::now();
        assert_eq!(
            gate.pause(Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            gate.pause(Duration::from_secs(60)),
            Duration::ZERO,
            "never shortened"
        );
        assert_eq!(gate.paused_until(), Some(start + Duration::from_secs(3600)));
        let probe = gate.pass().await;
        assert_eq!(clock::now() - start, Duration::from_secs(3600));
        let mut other = pin!(gate.pass());
        assert!(
            (&mut other).now_or_never().is_none(),
            "the rest wait for the probe"
        );
        assert!(gate.answered());
        let other = other.await;
        assert_eq!(other.epoch, probe.epoch);
        assert!(gate.is_clear());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_probe_holds_the_rest_for_the_probe_timeout_only() {
        let gate = PauseGate::default();
        gate.pause(Duration::from_secs(10));
        let _probe = gate.pass().await;
        let start = clock::now();
        gate.pass().await;
        assert_eq!(clock::now() - start, PROBE_TIMEOUT);
        assert!(gate.is_clear());
    }
}
