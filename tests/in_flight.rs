//! The in-flight gate (`[pacing.in_flight]`) end to end over loopback. Round trips are physics,
//! read on the machine's clock, so these tests run on tokio's real clock; they assert counts
//! (requests at the server at once, the limit), never a time.
//!
//! - A server that serves one request at a time (a queue) is handed about the floor's worth of
//!   requests at once instead of every caller's.
//! - A server that is slow but serves everything in parallel sees the limit climb far past the
//!   floor: the gate never caps a server that is not queueing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::stub::{self, Reply, Stub};
use common::{client_at, config};
use redial::policy::config::Config;
use redial::transport::Client;

/// Requests the server is serving now, and the most at once.
#[derive(Default)]
struct AtServer {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl AtServer {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// A stub whose every answer takes `service`; one at a time when `queue`, else all at once.
async fn slow_server(service: Duration, queue: bool) -> (Stub, Arc<AtServer>) {
    let at = Arc::new(AtServer::default());
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let seen = Arc::clone(&at);
    let stub = stub::start_async(move |_req, _i| {
        let (at, one_at_a_time) = (Arc::clone(&seen), Arc::clone(&one_at_a_time));
        async move {
            at.enter();
            if queue {
                let _turn = one_at_a_time.lock().await;
                tokio::time::sleep(service).await;
            } else {
                tokio::time::sleep(service).await;
            }
            at.leave();
            Reply::Json(200, stub::call_json("call_1", "+442000030001", "k-1"))
        }
    })
    .await;
    (stub, at)
}

fn gated(min: u32) -> Config {
    let mut c = config();
    c.pacing.buckets[0].rate = 1_000_000.0;
    c.pacing.buckets[0].burst = 1_000_000;
    c.pacing.in_flight.min = min;
    c
}

/// `callers` tasks each read the call `rounds` times; every read succeeds.
async fn read_from(client: &Client, callers: usize, rounds: usize) {
    let reads = (0..callers).map(|_| async {
        for _ in 0..rounds {
            client
                .calls()
                .get("call_1")
                .await
                .expect("every read is answered");
        }
    });
    futures::future::join_all(reads).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queueing_server_is_handed_about_the_floor_not_every_caller() {
    let (stub, at) = slow_server(Duration::from_millis(2), true).await;
    let client = client_at(&stub.base_url, gated(8));
    read_from(&client, 300, 1).await;
    // Answers come back slower than twice the best (each waits behind the queue), so the limit
    // stays near its floor; it may climb a little while the best is still being learnt.
    let limit = client.in_flight().limit().expect("adaptive");
    assert!(limit <= 32, "limit {limit}");
    assert!(at.peak() <= 40, "the server saw {} at once", at.peak());
    assert_eq!(stub.seen.lock().unwrap().len(), 300, "every read went once");

    // Without the gate, the same callers all queue at the server.
    let (stub, at) = slow_server(Duration::from_millis(2), true).await;
    let mut ungated = gated(8);
    ungated.pacing.in_flight.adaptive = false;
    let client = client_at(&stub.base_url, ungated);
    assert_eq!(client.in_flight().limit(), None);
    read_from(&client, 300, 1).await;
    assert!(at.peak() > 100, "the server saw {} at once", at.peak());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_that_is_not_queueing_gets_all_the_requests_it_can_take() {
    // 100 ms an answer: far more than a loopback connection's setup or a busy machine's
    // scheduling delays, so neither the stub's own accept loop (one connection per request)
    // nor a loaded CI machine looks like a queue.
    let (stub, at) = slow_server(Duration::from_millis(100), false).await;
    let client = client_at(&stub.base_url, gated(4));
    read_from(&client, 200, 12).await;
    let limit = client.in_flight().limit().expect("adaptive");
    // Past the default floor (64) from 4; it reached 217-238 with both cores also taken by
    // two busy loops.
    assert!(limit > 64, "the limit climbed from 4 to only {limit}");
    assert!(at.peak() > 40, "the server saw only {} at once", at.peak());
    assert_eq!(client.in_flight().in_flight(), 0, "every place given back");
}
