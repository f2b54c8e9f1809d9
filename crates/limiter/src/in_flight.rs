//! The in-flight gate: how many requests this process has on the wire at once.
//!
//! The account's limits are its rate and its call slots; neither says how many requests may
//! wait at the server at once. When the server answers slower than it can (its own queue, or
//! a machine it shares its CPU with), a dialer with a thousand calls in flight would keep a
//! thousand requests queued there: each one a connection, its buffers and its future, for no
//! more throughput. The gate keeps the requests on the wire near what keeps the server busy.
//!
//! The rule is TCP Vegas's idea with the tolerance of Netflix's `Gradient2Limit`: each route
//! keeps its best round-trip time over the last [`BEST_WINDOW`] to [`BEST_WINDOW`] × 2; an
//! answer within `tolerance` × that best means no queue, and raises the limit by one if the
//! limit was in use (at least half of it taken when the request left); a slower answer, or
//! none at all (a timeout, a reset), lowers it by one. The limit starts at its floor (`min`)
//! and never goes below it, nor above `max` when one is set. Round trips are read on the
//! machine's clock ([`clock::real_now`]): they are physics, which tokio's paused clock, jumping
//! while requests are on the wire, cannot measure.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use metrics::Gauge;
use redial_policy::config::InFlightConfig;
use tokio::sync::Semaphore;

use crate::clock;
use crate::metrics as m;

/// How long a route's best round trip is remembered: it is the least of the current window's
/// answers and the previous one's, so a best older than two windows is forgotten and a server
/// that became slower for good is soon measured against its new best.
pub const BEST_WINDOW: Duration = Duration::from_secs(30);

/// Limits the requests on the wire; see the [module docs](self).
#[derive(Debug)]
pub struct InFlightGate {
    /// One permit per place under the limit ([`UNLIMITED`] of them when there is none).
    permits: Semaphore,
    state: Mutex<State>,
    limit_gauge: Gauge,
    /// Zero of the permits' send times.
    epoch: Instant,
}

/// The limit of a gate that has none: more requests than a process can have on the wire, and
/// within what a tokio semaphore holds on any target (`Semaphore::MAX_PERMITS` is 2^29 on
/// 32-bit ones).
const UNLIMITED: u32 = 1 << 28;

#[derive(Debug)]
struct State {
    settings: Settings,
    limit: u32,
    /// Permits to forget as they come back: the limit fell while they were out.
    owed: u32,
    in_flight: u32,
    routes: Vec<RouteBest>,
}

/// `[pacing.in_flight]`, resolved.
#[derive(Debug, Clone, Copy)]
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

impl InFlightGate {
    /// A gate configured by `[pacing.in_flight]`.
    pub fn new(config: &InFlightConfig) -> Self {
        let settings = Settings::new(config);
        let limit = settings.start();
        let gate = Self {
            permits: Semaphore::new(limit as usize),
            state: Mutex::new(State {
                settings,
                limit,
                owed: 0,
                in_flight: 0,
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
    /// count is under it.
    pub fn reconfigure(&self, config: &InFlightConfig) {
        let settings = Settings::new(config);
        let mut state = self.lock();
        state.settings = settings;
        self.set_limit(&mut state, settings.start());
    }

    /// Waits until one more request may go on the wire; its round trip starts now.
    pub async fn acquire(&self) -> InFlightPermit<'_> {
        // The semaphore is never closed. The permit is given back by hand when the request
        // settles (or forgotten, if the limit fell meanwhile): the guard stays small, for it
        // lives in every request's state.
        if let Ok(p) = self.permits.acquire().await {
            p.forget();
        }
        let busy = {
            let mut state = self.lock();
            state.in_flight += 1;
            state.in_flight
        };
        InFlightPermit {
            gate: self,
            sent_us: self.micros(),
            busy,
        }
    }

    /// Microseconds since the epoch, wrapping (a u32 spans 71 minutes, far more than a round
    /// trip).
    #[allow(clippy::cast_possible_truncation)]
    fn micros(&self) -> u32 {
        clock::real_now()
            .saturating_duration_since(self.epoch)
            .as_micros() as u32
    }

    /// The current limit, or `None` when nothing limits the requests on the wire.
    pub fn limit(&self) -> Option<u32> {
        let limit = self.lock().limit;
        (limit != UNLIMITED).then_some(limit)
    }

    /// Requests on the wire now.
    pub fn in_flight(&self) -> u32 {
        self.lock().in_flight
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, limit: u32) {
        if limit != UNLIMITED {
            self.limit_gauge.set(f64::from(limit));
        }
    }

    /// Moves the limit to `to`: permits are added, or taken back now where they are free and
    /// owed (forgotten as they return) where they are out.
    fn set_limit(&self, state: &mut State, to: u32) {
        if to > state.limit {
            let mut more = to - state.limit;
            let repaid = more.min(state.owed);
            state.owed -= repaid;
            more -= repaid;
            self.permits.add_permits(more as usize);
        } else {
            let fewer = state.limit - to;
            // Lost to a concurrent acquire between the two reads, the free ones are owed too.
            let free =
                u32::try_from(self.permits.available_permits()).map_or(fewer, |n| n.min(fewer));
            let taken = self.permits.try_acquire_many(free).map_or(0, |p| {
                p.forget();
                free
            });
            state.owed += fewer - taken;
        }
        if to != state.limit {
            state.limit = to;
            self.publish(to);
        }
    }

    /// Settles one request: adapts the limit from what became of it, then gives its permit
    /// back (or forgets it, if the limit fell while it was out).
    fn settle(&self, busy: u32, sample: Option<Sample>) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        let s = state.settings;
        if s.adaptive {
            let queued = match sample {
                Some(Sample::Answered { route, rtt }) => {
                    let best = state.best(route, rtt, clock::real_now());
                    Some(rtt.as_secs_f64() > best.as_secs_f64() * s.tolerance)
                }
                Some(Sample::Lost) => Some(true),
                None => None,
            };
            let limit = state.limit;
            match queued {
                Some(true) if limit > s.min => self.set_limit(&mut state, limit - 1),
                // Only a limit in use climbs: one that idles at twice the traffic proves nothing.
                Some(false) if limit < s.max && busy.saturating_mul(2) >= limit => {
                    self.set_limit(&mut state, limit + 1);
                }
                _ => {}
            }
        }
        if state.owed > 0 {
            state.owed -= 1;
        } else {
            self.permits.add_permits(1);
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
    /// The server answered (any status) after `rtt`.
    Answered { route: &'static str, rtt: Duration },
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
    /// When the request left, on the gate's clock ([`InFlightGate::micros`]).
    sent_us: u32,
    /// Requests on the wire when this one left, itself included; 0 once settled.
    busy: u32,
}

impl InFlightPermit<'_> {
    /// The server answered `route`'s request (any status) just now.
    pub fn answered(self, route: &'static str) {
        let rtt = Duration::from_micros(u64::from(self.gate.micros().wrapping_sub(self.sent_us)));
        self.answered_after(route, rtt);
    }

    /// The request got no answer (a timeout, a broken connection): counts as queued.
    pub fn lost(mut self) {
        self.settle(Some(Sample::Lost));
    }

    /// The server answered `route`'s request after `rtt`.
    fn answered_after(mut self, route: &'static str, rtt: Duration) {
        self.settle(Some(Sample::Answered { route, rtt }));
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
    async fn a_lowered_limit_holds_back_requests_until_enough_permits_come_back() {
        let gate = adaptive(2, 0);
        fill(&gate, ROUTE, ms(10)).await;
        fill(&gate, ROUTE, ms(10)).await;
        assert_eq!(gate.limit(), Some(7));
        let mut out = Vec::new();
        for _ in 0..7 {
            out.push(gate.acquire().await);
        }
        // Five answers come back queued while all seven are out: the limit falls to 2 and the
        // permits it owes are forgotten as they return.
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
