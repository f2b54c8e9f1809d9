//! The in-flight gate: how many requests this process has on the wire at once; see
//! [`InFlightGate`].

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use metrics::Gauge;
use redial_policy::config::InFlightConfig;
use tokio::sync::Notify;

use crate::clock;
use crate::metrics as m;

/// How long a route's best round trip is remembered: it is the least of the current window's
/// answers and the previous one's, so a best older than two windows is forgotten and a server
/// that became slower for good is soon measured against its new best.
pub const BEST_WINDOW: Duration = Duration::from_secs(30);

/// Limits the requests on the wire from their latency.
///
/// The account's limits are its rate and its call slots; neither says how many requests may
/// wait at the server at once. When the server answers slower than it can (its own queue, or
/// a machine it shares its CPU with), a dialer with a thousand calls in flight would keep a
/// thousand requests queued there: each one a connection, its buffers and its future, for no
/// more throughput. The gate keeps the requests on the wire near what keeps the server busy.
///
/// The rule is TCP Vegas's idea with the tolerance of Netflix's `Gradient2Limit`: each route
/// keeps its best round-trip time over the last [`BEST_WINDOW`] to [`BEST_WINDOW`] × 2; an
/// answer within `tolerance` × that best means no queue, and raises the limit by one if the
/// limit was in use (at least half of it taken when the request left); a slower answer, or
/// none at all (a timeout, a reset), lowers it by one. One answer in [`MEASURE_EVERY`] is
/// measured (every lost request counts). The limit starts at its floor (`min`) and never goes
/// below it, nor above `max` when one is set. Round trips are read on the machine's clock
/// ([`crate::clock::real_now`]): they are physics, which tokio's paused clock, jumping while
/// requests are on the wire, cannot measure.
///
/// Taking and giving back a place are one atomic operation each (no lock): the gate is on
/// every request's path, and a lock both worker threads take for every request costs the
/// client a percent of its throughput. The lock is taken only for the answers measured (one in
/// [`MEASURE_EVERY`]) and for lost requests, to adapt the limit.
#[derive(Debug)]
pub struct InFlightGate {
    /// Requests on the wire (may exceed `limit` for a while after the limit fell). On a cache
    /// line of its own: every request writes it, and the fields read on every request (the
    /// limit, the waiters) should not move between cores with it.
    in_flight: CachePadded<AtomicU32>,
    /// The limit ([`UNLIMITED`] when there is none).
    limit: AtomicU32,
    /// Requests waiting for a place.
    waiting: AtomicU32,
    /// Whether the limit follows latency (read without the lock: a fixed limit takes none).
    adaptive: AtomicBool,
    /// Wakes a waiter when a place frees up or the limit rises.
    freed: Notify,
    state: Mutex<State>,
    limit_gauge: Gauge,
    /// Zero of the permits' send times.
    epoch: Instant,
}

/// One answer in this many is measured and adapts the limit (each thread counts its own): a
/// clock read and the lock on every request cost the client about 1 % of its throughput, and
/// a limit that moves one step every 8 answers still follows a server within a second at a
/// few hundred requests a second.
pub const MEASURE_EVERY: u32 = 8;

/// The send time of a request that is not measured.
const UNMEASURED: u32 = u32::MAX;

thread_local! {
    static REQUESTS_SENT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether the request leaving now on this thread is one to measure.
fn measure_this_one() -> bool {
    REQUESTS_SENT.with(|n| {
        let sent = n.get().wrapping_add(1);
        n.set(sent);
        sent % MEASURE_EVERY == 0
    })
}

/// The limit of a gate that has none: more requests than a process can have on the wire.
const UNLIMITED: u32 = u32::MAX;

/// What adapting the limit needs; behind the gate's lock.
#[derive(Debug)]
struct State {
    settings: Settings,
    routes: Vec<RouteBest>,
}

/// `[pacing.in_flight]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    adaptive: bool,
    min: u32,
    /// [`UNLIMITED`] when none is set.
    max: u32,
    tolerance: f64,
}

impl Settings {
    fn new(config: &InFlightConfig) -> Self {
        let max = if config.max == 0 {
            UNLIMITED
        } else {
            config.max
        };
        Self {
            adaptive: config.adaptive,
            min: config.min.clamp(1, max),
            max,
            tolerance: config.tolerance,
        }
    }

    /// Where the limit starts: the floor when it adapts, else the ceiling.
    fn start(&self) -> u32 {
        if self.adaptive { self.min } else { self.max }
    }
}

#[derive(Debug)]
struct RouteBest {
    route: &'static str,
    best: WindowedMin,
}

/// Leaves the waiters' count when dropped (served or cancelled).
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlightGate {
    /// A gate configured by `[pacing.in_flight]`.
    pub fn new(config: &InFlightConfig) -> Self {
        let settings = Settings::new(config);
        let limit = settings.start();
        let gate = Self {
            in_flight: CachePadded::new(AtomicU32::new(0)),
            limit: AtomicU32::new(limit),
            waiting: AtomicU32::new(0),
            adaptive: AtomicBool::new(settings.adaptive),
            freed: Notify::new(),
            state: Mutex::new(State {
                settings,
                routes: Vec::new(),
            }),
            limit_gauge: metrics::gauge!(m::IN_FLIGHT_LIMIT),
            epoch: clock::real_now(),
        };
        gate.publish(limit);
        gate
    }

    /// Applies a new `[pacing.in_flight]` (a reloaded config): the limit restarts where the new
    /// settings start it; requests on the wire above it finish, and no new one goes until the
    /// count is under it. A reload that leaves the section as it was (one that tuned retries,
    /// say) leaves the limit where latency put it.
    pub fn reconfigure(&self, config: &InFlightConfig) {
        let settings = Settings::new(config);
        let mut state = self.lock();
        if state.settings == settings {
            return;
        }
        state.settings = settings;
        self.adaptive.store(settings.adaptive, Ordering::SeqCst);
        self.set_limit(settings.start());
    }

    /// Waits until one more request may go on the wire; its round trip starts now.
    pub async fn acquire(&self) -> InFlightPermit<'_> {
        let busy = match self.try_take() {
            Some(busy) => busy,
            None => self.wait_for_place().await,
        };
        InFlightPermit {
            gate: self,
            sent_us: if measure_this_one() {
                self.micros()
            } else {
                UNMEASURED
            },
            busy,
        }
    }

    /// Takes a place if one is free; returns the requests on the wire, this one included.
    fn try_take(&self) -> Option<u32> {
        let limit = self.limit.load(Ordering::SeqCst);
        let mut n = self.in_flight.load(Ordering::SeqCst);
        while n < limit {
            match self
                .in_flight
                .compare_exchange_weak(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Some(n + 1),
                Err(now) => n = now,
            }
        }
        None
    }

    /// The slow path: joins the waiters and takes a place when one frees up. A waiter counts
    /// itself before it looks, and a giver looks at the count after it gave, so a place given
    /// while a waiter looks is never missed (both sides are `SeqCst`).
    #[cold]
    async fn wait_for_place(&self) -> u32 {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(busy) = self.try_take() {
                return busy;
            }
            freed.await;
        }
    }

    /// Gives a place back and wakes a waiter if there is one.
    fn give_back(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.freed.notify_one();
        }
    }

    /// Microseconds from the epoch to now ([`UNMEASURED`] read as 0), wrapping: a u32 spans
    /// 71 minutes, far more than a round trip.
    fn micros(&self) -> u32 {
        self.micros_at(clock::real_now())
    }

    /// [`Self::micros`] at `at`.
    #[allow(clippy::cast_possible_truncation)]
    fn micros_at(&self, at: Instant) -> u32 {
        at.saturating_duration_since(self.epoch).as_micros() as u32 % UNMEASURED
    }

    /// The current limit, or `None` when nothing limits the requests on the wire.
    pub fn limit(&self) -> Option<u32> {
        let limit = self.limit.load(Ordering::SeqCst);
        (limit != UNLIMITED).then_some(limit)
    }

    /// Requests on the wire now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, limit: u32) {
        if limit != UNLIMITED {
            self.limit_gauge.set(f64::from(limit));
        }
    }

    /// Moves the limit to `to`; a rise wakes the waiters that now fit.
    fn set_limit(&self, to: u32) {
        let from = self.limit.swap(to, Ordering::SeqCst);
        if to != from {
            self.publish(to);
        }
        if to > from && self.waiting.load(Ordering::SeqCst) > 0 {
            if to - from == 1 {
                self.freed.notify_one();
            } else {
                self.freed.notify_waiters();
            }
        }
    }

    /// Settles one request: adapts the limit from what became of it, then gives its place
    /// back.
    fn settle(&self, busy: u32, sample: Option<Sample>) {
        if let Some(sample) = sample
            && self.adaptive.load(Ordering::Relaxed)
        {
            self.adapt(busy, sample);
        }
        self.give_back();
    }

    /// One step of the rule: a queued answer (or none) takes one off the limit, a fast one
    /// adds one while the limit is in use.
    fn adapt(&self, busy: u32, sample: Sample) {
        let mut state = self.lock();
        let s = state.settings;
        if !s.adaptive {
            return;
        }
        let queued = match sample {
            Sample::Answered { route, rtt, at } => {
                let best = state.best(route, rtt, at);
                rtt.as_secs_f64() > best.as_secs_f64() * s.tolerance
            }
            Sample::Lost => true,
        };
        // Under the lock: the limit moves one step at a time from what the last step left.
        let limit = self.limit.load(Ordering::SeqCst);
        if queued && limit > s.min {
            self.set_limit(limit - 1);
        } else if !queued && limit < s.max && busy.saturating_mul(2) >= limit {
            // Only a limit in use climbs: one that idles at twice the traffic proves nothing.
            self.set_limit(limit + 1);
        }
    }
}

impl State {
    /// Records `rtt` for `route` and returns the route's best round trip.
    fn best(&mut self, route: &'static str, rtt: Duration, now: Instant) -> Duration {
        // A handful of routes with short names: a scan beats hashing.
        let i = match self.routes.iter().position(|r| r.route == route) {
            Some(i) => i,
            None => {
                self.routes.push(RouteBest {
                    route,
                    best: WindowedMin::new(now),
                });
                self.routes.len() - 1
            }
        };
        self.routes[i].best.observe(rtt, now)
    }
}

/// What became of a request.
enum Sample {
    /// The server answered (any status) after `rtt`, at `at`.
    Answered {
        route: &'static str,
        rtt: Duration,
        at: Instant,
    },
    /// No answer: a timeout or a broken connection.
    Lost,
}

/// One request's place on the wire; settle it with [`answered`](Self::answered) or
/// [`lost`](Self::lost). Dropped unsettled (the request was cancelled), it gives its place back
/// and teaches the limit nothing.
#[derive(Debug)]
#[must_use = "a permit settles when the request ends"]
pub struct InFlightPermit<'a> {
    gate: &'a InFlightGate,
    /// When the request left, on the gate's clock ([`InFlightGate::micros`]); [`UNMEASURED`]
    /// for the answers that do not adapt the limit.
    sent_us: u32,
    /// Requests on the wire when this one left, itself included; 0 once settled.
    busy: u32,
}

impl InFlightPermit<'_> {
    /// The server answered `route`'s request (any status) just now.
    pub fn answered(mut self, route: &'static str) {
        if self.sent_us == UNMEASURED {
            self.settle(None);
            return;
        }
        // One clock read serves the round trip and the route's window.
        let at = clock::real_now();
        let rtt = Duration::from_micros(u64::from(
            self.gate.micros_at(at).wrapping_sub(self.sent_us),
        ));
        self.settle(Some(Sample::Answered { route, rtt, at }));
    }

    /// The request got no answer (a timeout, a broken connection): counts as queued.
    pub fn lost(mut self) {
        self.settle(Some(Sample::Lost));
    }

    /// The server answered `route`'s request after `rtt`.
    #[cfg(test)]
    fn answered_after(mut self, route: &'static str, rtt: Duration) {
        let at = clock::real_now();
        self.settle(Some(Sample::Answered { route, rtt, at }));
    }

    fn settle(&mut self, sample: Option<Sample>) {
        let busy = std::mem::take(&mut self.busy);
        if busy != 0 {
            self.gate.settle(busy, sample);
        }
    }
}

impl Drop for InFlightPermit<'_> {
    fn drop(&mut self) {
        self.settle(None);
    }
}

/// The least sample of the current window and the previous one.
#[derive(Debug)]
struct WindowedMin {
    window_start: Instant,
    current: Duration,
    previous: Duration,
}

impl WindowedMin {
    fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            current: Duration::MAX,
            previous: Duration::MAX,
        }
    }

    /// Records `sample` at `now`; returns the least sample of the last one or two windows.
    fn observe(&mut self, sample: Duration, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= BEST_WINDOW {
            self.previous = if elapsed >= BEST_WINDOW * 2 {
                Duration::MAX
            } else {
                self.current
            };
            self.current = Duration::MAX;
            self.window_start = now;
        }
        self.current = self.current.min(sample);
        self.current.min(self.previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "POST /v1/calls";
    const OTHER: &str = "GET /v1/calls/{id}";

    fn adaptive(min: u32, max: u32) -> InFlightGate {
        InFlightGate::new(&InFlightConfig {
            adaptive: true,
            min,
            max,
            tolerance: 2.0,
        })
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends `n` requests at once and settles each with `rtt`, in the order they left.
    async fn round(gate: &InFlightGate, n: usize, route: &'static str, rtt: Duration) {
        let mut permits = Vec::new();
        for _ in 0..n {
            permits.push(gate.acquire().await);
        }
        for p in permits {
            p.answered_after(route, rtt);
        }
    }

    /// A round that fills the limit.
    async fn fill(gate: &InFlightGate, route: &'static str, rtt: Duration) {
        let n = gate.limit().expect("a limited gate") as usize;
        round(gate, n, route, rtt).await;
    }

    #[tokio::test(start_paused = true)]
    async fn starts_at_its_floor_and_climbs_while_answers_stay_fast_and_the_limit_is_used() {
        let gate = adaptive(4, 0);
        assert_eq!(gate.limit(), Some(4));
        fill(&gate, ROUTE, ms(10)).await;
        // The requests that left with half the limit or more taken (2nd, 3rd, 4th) each add one.
        assert_eq!(gate.limit(), Some(7));
        fill(&gate, ROUTE, ms(12)).await;
        assert_eq!(
            gate.limit(),
            Some(11),
            "within twice the best is not a queue"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limit_does_not_climb() {
        let gate = adaptive(8, 0);
        for _ in 0..100 {
            round(&gate, 1, ROUTE, ms(10)).await;
        }
        assert_eq!(
            gate.limit(),
            Some(8),
            "one request at a time never uses the limit"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_answers_lower_the_limit_to_its_floor_and_no_further() {
        let gate = adaptive(4, 0);
        fill(&gate, ROUTE, ms(10)).await;
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(11));
        let mut out = Vec::new();
        for _ in 0..11 {
            out.push(gate.acquire().await);
        }
        for p in out.drain(..5) {
            p.answered_after(ROUTE, ms(50));
        }
        assert_eq!(gate.limit(), Some(6), "each queued answer takes one off");
        for p in out.drain(..) {
            p.answered_after(ROUTE, ms(50));
        }
        assert_eq!(gate.limit(), Some(4), "never below the floor");
        // Exactly the floor's worth of places is left.
        for _ in 0..4 {
            out.push(gate.acquire().await);
        }
        assert!(tokio::time::timeout(ms(1), gate.acquire()).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_request_counts_as_queued_and_a_dropped_permit_teaches_nothing() {
        let gate = adaptive(2, 0);
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(4));
        let (a, b) = (gate.acquire().await, gate.acquire().await);
        assert_eq!(gate.in_flight(), 2);
        a.lost();
        drop(b);
        assert_eq!(gate.limit(), Some(3));
        assert_eq!(gate.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn routes_are_measured_against_their_own_best() {
        let gate = adaptive(2, 0);
        fill(&gate, OTHER, ms(5)).await;
        assert_eq!(gate.limit(), Some(4));
        // Creates take 100 ms where reads take 5: not a queue, a slower route.
        fill(&gate, ROUTE, ms(100)).await;
        assert_eq!(gate.limit(), Some(7));
        // The same 100 ms on the read route is a queue.
        round(&gate, 1, OTHER, ms(100)).await;
        assert_eq!(gate.limit(), Some(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lowered_limit_holds_back_requests_until_enough_places_come_back() {
        let gate = adaptive(2, 0);
        fill(&gate, ROUTE, ms(10)).await;
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(7));
        let mut out = Vec::new();
        for _ in 0..7 {
            out.push(gate.acquire().await);
        }
        // Five answers come back queued while all seven are out: the limit falls to 2, and the
        // two still out fill it.
        for p in out.drain(..5) {
            p.answered_after(ROUTE, ms(100));
        }
        assert_eq!(gate.limit(), Some(2));
        assert!(
            tokio::time::timeout(ms(1), gate.acquire()).await.is_err(),
            "the two still out fill a limit of two"
        );
        out.pop().expect("one left").lost();
        let third = tokio::time::timeout(ms(1), gate.acquire()).await;
        assert!(third.is_ok(), "one back, one place free");
    }

    #[tokio::test(start_paused = true)]
    async fn max_caps_the_climb_and_a_fixed_limit_never_moves() {
        let gate = adaptive(2, 3);
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(3));
        let fixed = InFlightGate::new(&InFlightConfig {
            adaptive: false,
            max: 5,
            ..InFlightConfig::default()
        });
        fill(&fixed, ROUTE, ms(500)).await;
        assert_eq!(fixed.limit(), Some(5));
        let none = InFlightGate::new(&InFlightConfig {
            adaptive: false,
            max: 0,
            ..InFlightConfig::default()
        });
        assert_eq!(none.limit(), None);
        round(&none, 10_000, ROUTE, ms(500)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_reloaded_config_moves_the_limit_and_the_places_with_it() {
        let gate = adaptive(4, 0);
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(7));
        gate.reconfigure(&InFlightConfig {
            adaptive: true,
            min: 4,
            max: 0,
            tolerance: 2.0,
        });
        assert_eq!(gate.limit(), Some(7), "the same section: the limit stays");
        let out = (gate.acquire().await, gate.acquire().await);
        gate.reconfigure(&InFlightConfig {
            adaptive: false,
            max: 1,
            ..InFlightConfig::default()
        });
        assert_eq!(gate.limit(), Some(1));
        drop(out);
        let one = gate.acquire().await;
        assert!(tokio::time::timeout(ms(1), gate.acquire()).await.is_err());
        drop(one);
        gate.reconfigure(&InFlightConfig {
            adaptive: false,
            max: 0,
            ..InFlightConfig::default()
        });
        assert_eq!(gate.limit(), None);
        round(&gate, 1_000, ROUTE, ms(1)).await;
    }

    #[test]
    fn the_best_is_forgotten_after_two_windows() {
        let t0 = clock::real_now();
        let mut best = WindowedMin::new(t0);
        assert_eq!(best.observe(ms(10), t0), ms(10));
        assert_eq!(
            best.observe(ms(40), t0 + BEST_WINDOW),
            ms(10),
            "last window's"
        );
        assert_eq!(best.observe(ms(50), t0 + BEST_WINDOW * 2), ms(40));
        assert_eq!(
            best.observe(ms(60), t0 + BEST_WINDOW * 5),
            ms(60),
            "all stale"
        );
    }
}
