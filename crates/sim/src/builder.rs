//! [`Sim`] and [`SimBuilder`]: configure and start a simulator.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use crate::clock;
use crate::conn::Connections;
use crate::error::SimError;
use crate::handle::SimHandle;
use crate::scenario::Scenario;
use crate::server::{accept_loop, bind};
use crate::state::Shared;

/// Entry point of the simulator.
///
/// ```no_run
/// # async fn run() -> Result<(), redial_sim::SimError> {
/// let sim = redial_sim::Sim::builder()
///     .scenario(redial_sim::Scenario::demo())
///     .start()
///     .await?;
/// println!("Nixflex simulator at {}", sim.base_url());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// A builder with the default scenario, listening on a free port of 127.0.0.1.
    pub fn builder() -> SimBuilder {
        SimBuilder {
            scenario: Scenario::default(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// Configures a simulator; finish with [`SimBuilder::start`] or
/// [`SimBuilder::start_background`].
#[derive(Debug)]
pub struct SimBuilder {
    scenario: Scenario,
    listen: SocketAddr,
}

impl SimBuilder {
    /// The scenario to run (default: [`Scenario::default`]).
    pub fn scenario(mut self, s: Scenario) -> Self {
        self.scenario = s;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Starts serving on the current tokio runtime (and its clock: a paused test clock drives
    /// call lifecycles and the rate limiter).
    ///
    /// # Errors
    /// [`SimError::Invalid`] for an invalid scenario, [`SimError::Bind`] when the address
    /// cannot be bound.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub async fn start(self) -> Result<SimHandle, SimError> {
        self.scenario.validate()?;
        let listener = bind(self.listen).map_err(|source| SimError::Bind {
            addr: self.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(SimError::Runtime)?;
        let shared = Arc::new(Shared::new(self.scenario, clock::now(), clock::wall_now()));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = oneshot::channel();
        let router = crate::routes::router(shared.clone());
        let counts = Connections::default();
        tokio::spawn(accept_loop(
            listener,
            router,
            counts.clone(),
            stop_rx,
            done_tx,
        ));
        Ok(SimHandle::new(
            addr,
            shared,
            counts,
            stop_tx,
            done_rx,
            tokio::runtime::Handle::current(),
        ))
    }

    /// Starts serving on its own OS thread with its own multi-thread runtime on the real
    /// clock. Usable from any context, including a test runtime with a paused clock.
    ///
    /// # Errors
    /// As [`SimBuilder::start`], plus [`SimError::Runtime`] when the thread or runtime cannot
    /// be created.
    pub fn start_background(self) -> Result<SimHandle, SimError> {
        self.scenario.validate()?;
        let (init_tx, init_rx) = std::sync::mpsc::channel();
        let SimBuilder { scenario, listen } = self;
        std::thread::Builder::new()
            .name("redial-sim".to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("redial-sim-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = init_tx.send(Err(SimError::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match bind(listen) {
                        Ok(l) => l,
                        Err(source) => {
                            let _ = init_tx.send(Err(SimError::Bind {
                                addr: listen,
                                source,
                            }));
                            return;
                        }
                    };
                    let addr = match listener.local_addr() {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = init_tx.send(Err(SimError::Runtime(e)));
                            return;
                        }
                    };
                    let shared = Arc::new(Shared::new(scenario, clock::now(), clock::wall_now()));
                    let (stop_tx, stop_rx) = watch::channel(false);
                    let (done_tx, done_rx) = oneshot::channel();
                    let router = crate::routes::router(shared.clone());
                    let counts = Connections::default();
                    let handle = SimHandle::new(
                        addr,
                        shared,
                        counts.clone(),
                        stop_tx,
                        done_rx,
                        tokio::runtime::Handle::current(),
                    );
                    if init_tx.send(Ok(handle)).is_ok() {
                        accept_loop(listener, router, counts, stop_rx, done_tx).await;
                    }
                });
            })
            .map_err(SimError::Runtime)?;
        init_rx.recv().map_err(|_| {
            SimError::Runtime(std::io::Error::other(
                "simulator thread exited during start",
            ))
        })?
    }
}
