//! What the simulator saw: request counts, limits hit, faults injected, duplicates.
//!
//! Counting happens in [`Counters`] with static keys (no allocation per request); a
//! [`SimStats`] snapshot with string keys is built only when asked for.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::scenario::{FaultKind, LimitsConfig};

/// Status key used for requests whose connection was reset without a response.
pub const RESET_STATUS: &str = "reset";

/// A snapshot of the simulator's counters (`GET /__sim/stats`, [`crate::SimHandle::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimStats {
    /// Requests by route pattern then status: `{"POST /v1/calls": {"201": 3, "429": 1}}`.
    /// Status is the HTTP status, or `"reset"` when the connection was dropped instead.
    /// Requests that matched no route count under `"unmatched"`.
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// 429 responses by error code (`rate_limit_exceeded`, `concurrent_call_limit`); quota
    /// refusals count under `rate_limit_exceeded` too.
    pub rate_limited: BTreeMap<String, u64>,
    /// 429s answered because the `[quota]` of the window was used up (also counted in
    /// `rate_limited`).
    pub quota_refused: u64,
    /// Calls placed in the current quota window (0 without a quota).
    pub quota_used: u64,
    /// Calls created (including ones whose response was then lost to `reset_after`).
    pub calls_created: u64,
    /// Messages created.
    pub messages_created: u64,
    /// Agents created through `POST /v1/agents`.
    pub agents_created: u64,
    /// Numbers imported (added to an agent) through `POST /v1/phone-numbers`, including
    /// imports whose answer was then lost; a repeated import onto the same agent adds nothing
    /// and is not counted.
    pub numbers_imported: u64,
    /// Calls live now (created, not yet terminal).
    pub live_calls: u64,
    /// Highest number of live calls seen.
    pub max_live_calls: u64,
    /// Call creations whose `to` had already been called: a dialer must keep this at 0.
    pub duplicate_dials: u64,
    /// Numbers a call was placed to more than once, with how many calls each got (empty
    /// when `duplicate_dials` is 0).
    pub duplicate_numbers: BTreeMap<String, u64>,
    /// Creations beyond the first under one Idempotency-Key (only possible when keys are
    /// not honoured).
    pub duplicate_creates_per_key: u64,
    /// POSTs answered from the idempotency store instead of being executed.
    pub idempotent_replays: u64,
    /// Injected faults by kind (`server_error`, `reset_after`, ...), plus `latency`.
    pub faults: BTreeMap<String, u64>,
    /// Requests answered with a gateway-outage page (`faults.outages`).
    pub outage_pages: u64,
    /// Of `outage_pages`, the requests that acted first (for `POST /v1/calls`: the call was
    /// placed and is in the list, yet the client saw an HTML 5xx).
    pub outage_pages_after_acting: u64,
    /// Finished calls forgotten because of `calls.keep_finished`.
    pub calls_forgotten: u64,
    /// The limits in force.
    pub limits: LimitsConfig,
    /// Milliseconds since the simulator started or was last reset.
    pub elapsed_ms: u64,
}

impl SimStats {
    /// Requests to `route` (e.g. `"POST /v1/calls"`) answered with `status` (e.g. `"429"`).
    pub fn requests_with(&self, route: &str, status: &str) -> u64 {
        self.requests
            .get(route)
            .and_then(|m| m.get(status))
            .copied()
            .unwrap_or(0)
    }

    /// Requests to `route` over every status (resets included).
    pub fn requests_to(&self, route: &str) -> u64 {
        self.requests.get(route).map_or(0, |m| m.values().sum())
    }

    /// `GET /v1/calls` requests, whatever their answer.
    pub fn list_requests(&self) -> u64 {
        self.requests_to("GET /v1/calls")
    }

    /// `GET /v1/calls/{id}` requests (status reads), whatever their answer.
    pub fn status_reads(&self) -> u64 {
        self.requests_to("GET /v1/calls/{id}")
    }

    /// 429s with error code `code` (`rate_limit_exceeded`, `concurrent_call_limit`).
    pub fn rate_limited_with(&self, code: &str) -> u64 {
        self.rate_limited.get(code).copied().unwrap_or(0)
    }

    /// All requests counted, over every route and status.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().flat_map(|m| m.values()).sum()
    }

    /// Faults of one kind injected.
    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults.get(kind.as_str()).copied().unwrap_or(0)
    }
}

/// Live counters, kept under the state lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// (route, status) -> count; status 0 means reset.
    requests: HashMap<(&'static str, u16), u64>,
    rate_limited: HashMap<&'static str, u64>,
    faults: HashMap<&'static str, u64>,
    pub(crate) calls_created: u64,
    pub(crate) messages_created: u64,
    pub(crate) agents_created: u64,
    pub(crate) numbers_imported: u64,
    pub(crate) duplicate_dials: u64,
    pub(crate) duplicate_creates_per_key: u64,
    pub(crate) idempotent_replays: u64,
    pub(crate) quota_refused: u64,
    pub(crate) outage_pages: u64,
    pub(crate) outage_pages_after_acting: u64,
}

/// The values of a snapshot that live outside [`Counters`].
#[derive(Debug)]
pub(crate) struct Snapshot<'a, D> {
    pub(crate) live_calls: usize,
    pub(crate) max_live_calls: usize,
    /// Numbers dialled more than once, with their counts.
    pub(crate) duplicate_numbers: D,
    pub(crate) calls_forgotten: u64,
    pub(crate) quota_used: u64,
    pub(crate) limits: &'a LimitsConfig,
    pub(crate) elapsed_ms: u64,
}

impl Counters {
    /// Counts one finished request; `status` 0 means the connection was reset.
    pub(crate) fn request(&mut self, route: &'static str, status: u16) {
        *self.requests.entry((route, status)).or_default() += 1;
    }

    /// Counts one 429 by code.
    pub(crate) fn rate_limited(&mut self, code: &'static str) {
        *self.rate_limited.entry(code).or_default() += 1;
    }

    /// Counts one injected fault (or `"latency"`).
    pub(crate) fn fault(&mut self, kind: &'static str) {
        *self.faults.entry(kind).or_default() += 1;
    }

    /// Builds a snapshot; values kept elsewhere are passed in by the state.
    pub(crate) fn snapshot<D: Iterator<Item = (String, u64)>>(
        &self,
        outside: Snapshot<'_, D>,
    ) -> SimStats {
        let mut requests: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (&(route, status), &n) in &self.requests {
            let status = if status == 0 {
                RESET_STATUS.to_owned()
            } else {
                status.to_string()
            };
            requests
                .entry(route.to_owned())
                .or_default()
                .insert(status, n);
        }
        let own = |m: &HashMap<&'static str, u64>| {
            m.iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        SimStats {
            requests,
            rate_limited: own(&self.rate_limited),
            quota_refused: self.quota_refused,
            quota_used: outside.quota_used,
            calls_created: self.calls_created,
            messages_created: self.messages_created,
            agents_created: self.agents_created,
            numbers_imported: self.numbers_imported,
            live_calls: outside.live_calls as u64,
            max_live_calls: outside.max_live_calls as u64,
            duplicate_dials: self.duplicate_dials,
            duplicate_numbers: outside.duplicate_numbers.collect(),
            duplicate_creates_per_key: self.duplicate_creates_per_key,
            idempotent_replays: self.idempotent_replays,
            faults: own(&self.faults),
            outage_pages: self.outage_pages,
            outage_pages_after_acting: self.outage_pages_after_acting,
            calls_forgotten: outside.calls_forgotten,
            limits: outside.limits.clone(),
            elapsed_ms: outside.elapsed_ms,
        }
    }
}
