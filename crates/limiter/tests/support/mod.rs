//! A throwaway `redis-server` for the Redis backend's tests: loopback, a free port, no
//! persistence, in its own temp dir, killed on drop.
//!
//! When `redis-server` is not on PATH the tests fail with a clear message (CI installs it),
//! unless `REDIAL_SKIP_REDIS=1` is set, in which case [`RedisServer::start`] returns `None`
//! and the test returns early.

#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Environment variable that lets the Redis tests pass without a `redis-server`.
pub const SKIP_ENV: &str = "REDIAL_SKIP_REDIS";
/// How often to try connecting to a fresh server.
const START_POLL: Duration = Duration::from_millis(20);
/// How many tries (10 s in all) a fresh server gets to accept connections.
const START_TRIES: u32 = 500;

/// A running `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// AOF with `appendfsync always` in `dir` (kept across [`RedisServer::restart`]).
    persistent: bool,
}

impl RedisServer {
    /// Starts a server on a free loopback port, or returns `None` when `REDIAL_SKIP_REDIS=1`
    /// and no server binary is found.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not on PATH (and the skip variable is not set), or does not
    /// start.
    pub fn start() -> Option<Self> {
        Self::start_with(false)
    }

    /// [`RedisServer::start`] with persistence: AOF, `appendfsync always`, in the server's
    /// temp dir, so a [`RedisServer::restart`] keeps every acknowledged write.
    pub fn start_persistent() -> Option<Self> {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Option<Self> {
        if !on_path("redis-server") {
            if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
                eprintln!("redis-server not on PATH and {SKIP_ENV}=1: skipping this Redis test");
                return None;
            }
            panic!(
                "redis-server is not on PATH: install it (Debian: apt-get install redis-server) \
                 or set {SKIP_ENV}=1 to skip the Redis backend's tests"
            );
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("redial-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the redis temp dir");
        let mut server = Self {
            child: None,
            port,
            dir,
            persistent,
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", if self.persistent { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        for _ in 0..START_TRIES {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(START_POLL);
        }
        panic!(
            "redis-server did not listen on port {} within {:?}",
            self.port,
            START_POLL * START_TRIES
        );
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: without persistence it forgets everything).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port: empty, or (persistent) with its data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn on_path(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file()))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local addr").port()
}
