//! The workload shared by `benches/overhead.rs` and `examples/overhead_probe.rs`: the same
//! `GET /v1/agents` through raw reqwest and through redial, 32 in flight, with the same typed
//! decode, against an unlimited, fault-free simulator.
//!
//! "The same requests" holds on the wire: raw reqwest sends the headers redial sends
//! (`Authorization`, `Accept: application/json`, `User-Agent: redial/<version>`), so the
//! comparison charges redial for its client-side work, not for a longer request the server
//! must parse.

use std::future::Future;
use std::hint::black_box;
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use redial::limiter::clock;
use redial::policy::config::{BucketConfig, Config};
use redial::transport::{Agent, ApiKey, Client, USER_AGENT};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};

/// Requests in flight.
pub(crate) const IN_FLIGHT: usize = 32;
/// The simulator's seeded key.
const KEY: &str = "demo_key:demo_secret";

#[derive(serde::Deserialize)]
struct List {
    data: Vec<Agent>,
}

/// The two clients under test.
pub(crate) struct Clients {
    raw: reqwest::Client,
    url: String,
    redial: Client,
}

impl Clients {
    /// Both clients for the simulator at `base_url`; redial's pacing ceiling is far above the
    /// load, so it paces without ever waiting.
    pub(crate) fn new(base_url: &str) -> Self {
        let mut config = Config::default();
        config.pacing.buckets = vec![BucketConfig {
            name: "account".into(),
            routes: vec!["*".into()],
            rate: 1e6,
            burst: 1_000_000,
        }];
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let raw = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .build()
            .expect("raw client builds");
        Self {
            raw,
            url: format!("{base_url}/v1/agents"),
            redial: Client::builder()
                .base_url(base_url)
                .api_key(ApiKey::parse(KEY).expect("valid key"))
                .config(config)
                .build()
                .expect("client builds"),
        }
    }

    /// One request through raw reqwest.
    pub(crate) async fn raw(&self) -> usize {
        let response = self
            .raw
            .get(&self.url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sim answers");
        let list: List = response.json().await.expect("agents list");
        list.data.len()
    }

    /// The same request through redial.
    pub(crate) async fn redial(&self) -> usize {
        self.redial
            .agents()
            .list()
            .await
            .expect("sim answers")
            .len()
    }
}

/// Load shape.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// [`IN_FLIGHT`] requests always in flight; as one ends the next starts.
    Sustained,
    /// [`IN_FLIGHT`] requests started together and all awaited before the next ones.
    Batches,
}

impl Shape {
    /// Runs `rounds` rounds of [`IN_FLIGHT`] requests made by `request`; returns the time
    /// they took.
    pub(crate) async fn run<F, Fut>(self, rounds: u64, request: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: Future<Output = usize>,
    {
        let started = clock::now();
        match self {
            Shape::Sustained => {
                futures::stream::iter(0..rounds * IN_FLIGHT as u64)
                    .map(|_| request())
                    .buffer_unordered(IN_FLIGHT)
                    .for_each(|len| {
                        black_box(len);
                        async {}
                    })
                    .await;
            }
            Shape::Batches => {
                for _ in 0..rounds {
                    black_box(join_all((0..IN_FLIGHT).map(|_| request())).await);
                }
            }
        }
        clock::now().saturating_duration_since(started)
    }
}
