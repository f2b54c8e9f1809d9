//! The naive dialer every user would compare redial with: what an engineer writes in an
//! afternoon. A fixed number of workers take contacts from a shared queue; each creates the
//! call (on any failure: sleep a fixed second and try again, up to `MAX_CREATE_TRIES`), then
//! reads its status every `POLL_EVERY` until it is terminal. No pacing, no Retry-After, no
//! idempotency key, no journal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Tries of one create before the contact is given up (lost).
pub(crate) const MAX_CREATE_TRIES: u32 = 5;
/// Fixed sleep after any failed request.
pub(crate) const ERROR_SLEEP: Duration = Duration::from_secs(1);
/// Status reads of a live call, this far apart.
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(1);
/// Status reads of one call before it is given up.
const MAX_POLLS: u32 = 10_000;

/// What the naive dialer got for its contacts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NaiveOutcome {
    /// Calls followed to a terminal status.
    pub(crate) completed: u64,
    /// Contacts given up.
    pub(crate) lost: u64,
}

/// Dials `numbers` against `base_url` with `workers` workers.
pub(crate) async fn run(
    base_url: &str,
    key: &str,
    agent: &str,
    numbers: Vec<String>,
    workers: usize,
) -> NaiveOutcome {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client builds");
    let queue = Arc::new(Mutex::new(numbers.into_iter().collect::<VecDeque<_>>()));
    let outcome = Arc::new(Mutex::new(NaiveOutcome::default()));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (http, queue, outcome) = (http.clone(), queue.clone(), outcome.clone());
        let (base, auth, agent) = (
            base_url.to_owned(),
            format!("Bearer {key}"),
            agent.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(to) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let done = dial(&http, &base, &auth, &agent, &to).await;
                let mut o = outcome.lock().unwrap();
                if done {
                    o.completed += 1;
                } else {
                    o.lost += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    *outcome.lock().unwrap()
}

/// One contact: true when its call reached a terminal status.
async fn dial(http: &reqwest::Client, base: &str, auth: &str, agent: &str, to: &str) -> bool {
    let mut id = None;
    for _ in 0..MAX_CREATE_TRIES {
        let sent = http
            .post(format!("{base}/v1/calls"))
            .header("Authorization", auth)
            .json(&json!({"agent_id": agent, "to": to}))
            .send()
            .await;
        if let Ok(resp) = sent
            && resp.status().as_u16() == 201
            && let Ok(v) = resp.json::<Value>().await
        {
            id = v["id"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(ERROR_SLEEP).await;
    }
    let Some(id) = id else {
        return false;
    };
    for _ in 0..MAX_POLLS {
        tokio::time::sleep(POLL_EVERY).await;
        let read = http
            .get(format!("{base}/v1/calls/{id}"))
            .header("Authorization", auth)
            .send()
            .await;
        match read {
            Ok(resp) if resp.status().is_success() => {
                if let Ok(v) = resp.json::<Value>().await
                    && matches!(
                        v["status"].as_str(),
                        Some("completed" | "busy" | "no_answer" | "failed" | "canceled")
                    )
                {
                    return true;
                }
            }
            _ => tokio::time::sleep(ERROR_SLEEP).await,
        }
    }
    false
}
