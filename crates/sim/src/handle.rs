//! [`SimHandle`]: a running simulator.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use crate::clock;
use crate::conn::Connections;
use crate::scenario::FaultConfig;
use crate::state::Shared;
use crate::stats::SimStats;

/// A running simulator. Dropping it shuts the server down (without waiting).
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    connections: Connections,
    stop: watch::Sender<bool>,
    done: Option<oneshot::Receiver<()>>,
    /// The runtime the server runs on: its clock is the simulator's clock.
    rt: tokio::runtime::Handle,
}

impl SimHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        shared: Arc<Shared>,
        connections: Connections,
        stop: watch::Sender<bool>,
        done: oneshot::Receiver<()>,
        rt: tokio::runtime::Handle,
    ) -> SimHandle {
        SimHandle {
            addr,
            shared,
            connections,
            stop,
            done: Some(done),
            rt,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the counters, read directly (no HTTP).
    pub fn stats(&self) -> SimStats {
        let _in_sim_runtime = self.rt.enter();
        self.shared.stats(clock::now())
    }

    /// TCP connections open now (accepted and not yet closed). A client with a bounded pool
    /// keeps this bounded; after it is dropped it falls back to 0.
    pub fn open_connections(&self) -> u64 {
        self.connections.open()
    }

    /// The most TCP connections open at once since start (not cleared by [`SimHandle::reset`]).
    pub fn max_open_connections(&self) -> u64 {
        self.connections.max_open()
    }

    /// TCP connections accepted since start (not cleared by [`SimHandle::reset`]).
    pub fn connections_accepted(&self) -> u64 {
        self.connections.accepted()
    }

    /// How many calls were placed to `to` since start or the last reset (every call
    /// created, including ones whose answer was lost to a reset or a gateway page, and ones
    /// since forgotten under `calls.keep_finished`). A dialer that never dials a number twice
    /// keeps this at most 1; [`SimStats::duplicate_numbers`] lists the numbers above 1.
    pub fn calls_placed_to(&self, to: &str) -> u64 {
        self.shared.calls_placed_to(to)
    }

    /// Back to the scenario's seed data with zeroed counters, the RNG re-seeded and the
    /// schedule of faults restarted. Faults changed with [`SimHandle::set_faults`] stay.
    pub fn reset(&self) {
        let _in_sim_runtime = self.rt.enter();
        self.shared.reset(clock::now(), clock::wall_now());
    }

    /// Replaces the fault configuration (random rates, latency, schedule) at run time.
    pub fn set_faults(&self, f: FaultConfig) {
        self.shared.set_faults(f);
    }

    /// Stops accepting, lets open requests finish for up to a second, then closes every
    /// connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
