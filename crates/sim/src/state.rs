//! The simulator's mutable world, behind one mutex.
//!
//! Critical sections are short (look up, decide, update; no I/O and no awaits while locked),
//! which keeps one lock fast enough for tens of thousands of requests per second.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use tokio::time::Instant;

use crate::lifecycle::Timeline;
use crate::limits::{Gcra, LiveCalls};
use crate::scenario::{FaultConfig, Scenario};
use crate::stats::{Counters, SimStats};

/// How many calls `GET /v1/calls` lists (the latest ones).
pub(crate) const CALL_LIST_CAP: usize = 1000;

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The scenario the simulator was started with (faults may since have changed).
    pub(crate) scenario: Scenario,
    /// key id -> secret.
    keys: HashMap<String, String>,
    state: Mutex<State>,
}

impl Shared {
    /// Builds the shared state at time `now`.
    pub(crate) fn new(scenario: Scenario, now: Instant, wall: SystemTime) -> Shared {
        let keys = scenario
            .account
            .api_keys
            .iter()
            .map(|k| (k.id.clone(), k.secret.clone()))
            .collect();
        let state = State::new(&scenario, scenario.faults.clone(), now, wall);
        Shared {
            scenario,
            keys,
            state: Mutex::new(state),
        }
    }

    /// Locks the state; a poisoned lock is still usable (every update is a single step).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The secret of `key_id`, if the key exists.
    pub(crate) fn secret_of(&self, key_id: &str) -> Option<&str> {
        self.keys.get(key_id).map(String::as_str)
    }

    /// Back to the seed data and zero counters; faults set at run time are kept.
    pub(crate) fn reset(&self, now: Instant, wall: SystemTime) {
        let mut st = self.lock();
        let faults = st.faults.clone();
        *st = State::new(&self.scenario, faults, now, wall);
    }

    /// Replaces the fault configuration.
    pub(crate) fn set_faults(&self, faults: FaultConfig) {
        self.lock().faults = faults;
    }

    /// A stats snapshot at `now`.
    pub(crate) fn stats(&self, now: Instant) -> SimStats {
        let mut st = self.lock();
        st.live.prune(now);
        let elapsed = now.saturating_duration_since(st.epoch);
        st.counters.snapshot(
            st.live.len(),
            st.live.max_seen(),
            &self.scenario.limits,
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// Counts a finished request and passes the response through.
    pub(crate) fn record(&self, route: &'static str, status: u16) {
        self.lock().counters.request(route, status);
    }
}

/// An agent.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) voice_id: String,
    pub(crate) phone_numbers: Vec<String>,
    #[serde(skip)]
    pub(crate) owned: bool,
}

/// A call and its lifecycle.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: String,
    pub(crate) to: String,
    pub(crate) from_number: String,
    pub(crate) agent_id: String,
    pub(crate) created: Instant,
    pub(crate) created_at: String,
    pub(crate) metadata: serde_json::Value,
    pub(crate) timeline: Timeline,
}

/// The JSON form of a call at one instant.
#[derive(Debug, Serialize)]
pub(crate) struct CallView<'a> {
    id: &'a str,
    status: &'static str,
    to: &'a str,
    from_number: &'a str,
    agent_id: &'a str,
    created_at: &'a str,
    metadata: &'a serde_json::Value,
}

impl Call {
    /// The call as seen at `now`.
    pub(crate) fn view(&self, now: Instant) -> CallView<'_> {
        CallView {
            id: &self.id,
            status: self
                .timeline
                .status_at(now.saturating_duration_since(self.created)),
            to: &self.to,
            from_number: &self.from_number,
            agent_id: &self.agent_id,
            created_at: &self.created_at,
            metadata: &self.metadata,
        }
    }
}

/// The idempotency record of one Idempotency-Key (the simulator has one account).
#[derive(Debug, Clone)]
pub(crate) enum IdemEntry {
    /// The first request is still being handled.
    InFlight,
    /// The first request's response, replayed to repeats.
    Done { status: u16, body: Bytes },
}

/// The mutable world.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) epoch: Instant,
    wall_epoch: SystemTime,
    pub(crate) rng: StdRng,
    pub(crate) faults: FaultConfig,
    pub(crate) gcra: Option<Gcra>,
    pub(crate) live: LiveCalls,
    pub(crate) agents: HashMap<String, Agent>,
    pub(crate) agent_order: Vec<String>,
    /// Imported number -> agent id.
    pub(crate) numbers: HashMap<String, String>,
    pub(crate) calls: HashMap<String, Call>,
    /// Ids of the latest calls, oldest first, at most [`CALL_LIST_CAP`].
    pub(crate) call_order: VecDeque<String>,
    pub(crate) dialled: HashSet<String>,
    pub(crate) idem: HashMap<String, IdemEntry>,
    pub(crate) creates_per_key: HashMap<String, u32>,
    pub(crate) counters: Counters,
}

impl State {
    fn new(s: &Scenario, faults: FaultConfig, now: Instant, wall: SystemTime) -> State {
        let mut agents = HashMap::new();
        let mut agent_order = Vec::new();
        let mut numbers = HashMap::new();
        for a in &s.account.agents {
            for n in &a.phone_numbers {
                numbers.insert(n.clone(), a.id.clone());
            }
            agent_order.push(a.id.clone());
            agents.insert(
                a.id.clone(),
                Agent {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    voice_id: a.voice_id.clone(),
                    phone_numbers: a.phone_numbers.clone(),
                    owned: a.owned,
                },
            );
        }
        State {
            epoch: now,
            wall_epoch: wall,
            rng: StdRng::seed_from_u64(s.seed),
            faults,
            gcra: Gcra::new(s.limits.requests_per_second, s.limits.burst),
            live: LiveCalls::default(),
            agents,
            agent_order,
            numbers,
            calls: HashMap::new(),
            call_order: VecDeque::new(),
            dialled: HashSet::new(),
            idem: HashMap::new(),
            creates_per_key: HashMap::new(),
            counters: Counters::default(),
        }
    }

    /// Wall-clock time corresponding to `now` on the simulator clock.
    pub(crate) fn wall_at(&self, now: Instant) -> SystemTime {
        self.wall_epoch + now.saturating_duration_since(self.epoch)
    }

    /// Time since start or last reset.
    pub(crate) fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    /// A fresh id like `call_0123456789abcdef`.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        use rand::Rng;
        format!("{prefix}_{:016x}", self.rng.random::<u64>())
    }

    /// Remembers a new call for `GET /v1/calls`.
    pub(crate) fn push_call(&mut self, call: Call) {
        if self.call_order.len() == CALL_LIST_CAP {
            self.call_order.pop_front();
        }
        self.call_order.push_back(call.id.clone());
        self.calls.insert(call.id.clone(), call);
    }
}
