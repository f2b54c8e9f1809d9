//! The simulator's mutable world, behind one mutex.
//!
//! Critical sections are short (look up, decide, update; no I/O and no awaits while locked),
//! which keeps one lock fast enough for tens of thousands of requests per second.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use tokio::time::Instant;

use crate::faults::FirstHits;
use crate::idem::IdemStore;
use crate::limits::Gcra;
use crate::quota::QuotaState;
use crate::scenario::{CallsConfig, FaultConfig, Scenario};
use crate::stats::{Counters, SimStats, Snapshot};
use crate::store::{CallJson, CallRecord, CallStore};

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

    /// Replaces the fault configuration; `faults.first` counts from zero again.
    pub(crate) fn set_faults(&self, faults: FaultConfig) {
        let mut st = self.lock();
        st.faults = faults;
        st.first_hits = FirstHits::default();
    }

    /// A stats snapshot at `now`.
    pub(crate) fn stats(&self, now: Instant) -> SimStats {
        let mut guard = self.lock();
        let st = &mut *guard;
        st.prune(now);
        let elapsed = st.elapsed(now);
        st.counters.snapshot(Snapshot {
            live_calls: st.calls.live(),
            max_live_calls: st.calls.max_live(),
            duplicate_numbers: st.calls.duplicates().map(|(k, n)| (k.to_string(), n)),
            calls_forgotten: st.calls.forgotten(),
            quota_used: st.quota.used(&self.scenario.quota, elapsed),
            limits: &self.scenario.limits,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// How many calls were placed to `to` since start or the last reset.
    pub(crate) fn calls_placed_to(&self, to: &str) -> u64 {
        self.lock().calls.placed_to(to)
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

/// The mutable world.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) epoch: Instant,
    wall_epoch: SystemTime,
    pub(crate) rng: StdRng,
    pub(crate) faults: FaultConfig,
    /// Requests affected so far by each `faults.first` entry.
    pub(crate) first_hits: FirstHits,
    pub(crate) gcra: Option<Gcra>,
    pub(crate) agents: HashMap<String, Agent>,
    pub(crate) agent_order: Vec<String>,
    /// Imported number -> agent id.
    pub(crate) numbers: HashMap<String, String>,
    /// Every call (or the latest, with `calls.keep_finished`), the live ones, dial counts.
    pub(crate) calls: CallStore,
    pub(crate) idem: IdemStore,
    pub(crate) quota: QuotaState,
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
            first_hits: FirstHits::default(),
            gcra: Gcra::new(s.limits.requests_per_second, s.limits.burst),
            agents,
            agent_order,
            numbers,
            calls: CallStore::new(now, s.calls.keep_finished),
            idem: IdemStore::default(),
            quota: QuotaState::default(),
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

    /// Releases the slots of calls ended by `now`, forgetting finished calls (and their
    /// Idempotency-Keys) beyond `calls.keep_finished`.
    pub(crate) fn prune(&mut self, now: Instant) {
        let idem = &mut self.idem;
        self.calls.prune(now, |rec, seq| {
            if let Some(k) = &rec.key {
                idem.forget(k, seq);
            }
        });
    }

    /// A fresh call id number, unused by any stored call.
    pub(crate) fn new_call_id(&mut self) -> u64 {
        use rand::Rng;
        loop {
            let n = self.rng.random::<u64>();
            if !self.calls.contains_id(n) {
                return n;
            }
        }
    }

    /// The JSON form of `rec` as seen at `at`.
    pub(crate) fn call_json<'a>(
        &'a self,
        rec: &'a CallRecord,
        cfg: &CallsConfig,
        at: Instant,
    ) -> CallJson<'a> {
        let created = self.epoch + Duration::from_nanos(rec.created_ns);
        CallJson {
            id: crate::store::call_id(rec.id),
            status: rec
                .timeline()
                .status_at(cfg, at.saturating_duration_since(created)),
            to: rec.to.to_string(),
            from_number: self.calls.names.name(rec.from),
            agent_id: self.calls.names.name(rec.agent),
            created_at: humantime::format_rfc3339_millis(self.wall_at(created)).to_string(),
            metadata: rec.metadata.as_deref(),
        }
    }

    /// The creation instant of `rec`.
    pub(crate) fn created(&self, rec: &CallRecord) -> Instant {
        self.epoch + Duration::from_nanos(rec.created_ns)
    }
}
