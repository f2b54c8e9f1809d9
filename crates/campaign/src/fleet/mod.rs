//! Fleet mode (feature `redis`): one contact list and one journal in Redis, shared by every
//! process started with the same `--redis` and `--campaign`.
//!
//! - [`RedisCampaign::join`]: the first process creates the campaign (a marker hash with
//!   the campaign id) and loads the list into a Redis stream; the others wait for it to be
//!   loaded and join. A rerun after the fleet stopped starts the campaign's next *run*: the
//!   whole list is handed out again, and the journal tells what is finished.
//! - [`RedisSource`] ([`ContactSource`](crate::ContactSource)): contacts handed out through
//!   the run's consumer group (`XREADGROUP`), each to one process; acknowledged (`XACK`)
//!   only once its outcome is durable; a contact whose process stopped renewing its claim
//!   for `claim_timeout` (it died) is taken over by another (`XPENDING IDLE` + `XCLAIM`). The
//!   source ends when the whole list is acknowledged, across the fleet.
//! - [`RedisJournal`] ([`Journal`](crate::Journal)): `started`, `placed` and `finished` in a
//!   Redis hash, each written by a script that first checks that this process still holds
//!   the contact's claim (the fence against a process that stalled past its claim).
//!
//! Every script also checks the campaign marker: when it is gone (Redis restarted without
//! persistence, or was flushed) the campaign stops with [`RedisWorkError::Lost`] instead of
//! dialling everyone again, and a tombstone keeps a rerun from starting the campaign afresh.
//! Keys are `redial:{campaign}:...` (see `docs/fleet.md`).

mod conn;
mod error;
mod journal;
mod keys;
mod load;
pub mod metrics;
mod reply;
mod scripts;
mod source;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use uuid::Uuid;

use self::conn::Conn;
pub use self::error::RedisWorkError;
pub use self::journal::RedisJournal;
use self::keys::Keys;
pub use self::source::RedisSource;

/// Default claim timeout: a contact whose process has not renewed its claim for this long is
/// taken over by another (assumed; `fleet.claim_timeout`).
pub const DEFAULT_CLAIM_TIMEOUT: Duration = Duration::from_secs(60);
/// Default deliveries after which a contact is no longer handed out (assumed;
/// `fleet.max_deliveries`).
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;
/// Default longest wait for Redis before the campaign stops (assumed; `fleet.redis_wait`).
pub const DEFAULT_REDIS_WAIT: Duration = Duration::from_secs(600);
/// How long the loader holds the load without progress before another process takes it
/// over, seconds (assumed: a batch takes milliseconds).
const LOAD_LEASE: Duration = Duration::from_secs(30);
/// How often a process waiting for the loader asks again, milliseconds (assumed).
const JOIN_POLL: Duration = Duration::from_millis(100);

/// Where the fleet's list and journal live, and how a process behaves in it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkConfig {
    /// Redis URL (`--redis`).
    pub url: String,
    /// The campaign name (`--campaign`): the hash tag of every key. Non-empty, without `{`
    /// or `}`.
    pub campaign: String,
    /// A contact whose process has not renewed its claim for this long is taken over by
    /// another; claims and presence are renewed every third of it.
    pub claim_timeout: Duration,
    /// Deliveries after which a contact is reported failed instead of being handed out
    /// again (each earlier taker died with it).
    pub max_deliveries: u32,
    /// Longest the work queue and the journal wait for Redis before the campaign stops.
    pub redis_wait: Duration,
}

impl WorkConfig {
    /// The defaults for `url` and `campaign`.
    pub fn new(url: impl Into<String>, campaign: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            campaign: campaign.into(),
            claim_timeout: DEFAULT_CLAIM_TIMEOUT,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            redis_wait: DEFAULT_REDIS_WAIT,
        }
    }
}

/// One contact this process holds: its stream entry and the delivery it got.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub(crate) id: String,
    pub(crate) delivery: i64,
    /// The contact key (`None` for a record that cannot be dialled).
    pub(crate) key: Option<String>,
}

/// The contacts this process holds, by line (outcomes carry it) and by key (the journal's).
#[derive(Debug, Default)]
pub(crate) struct Claims {
    by_line: HashMap<u64, Claim>,
    line_of: HashMap<String, u64>,
}

impl Claims {
    pub(crate) fn insert(&mut self, line: u64, claim: Claim) {
        if let Some(key) = &claim.key {
            self.line_of.insert(key.clone(), line);
        }
        self.by_line.insert(line, claim);
    }

    pub(crate) fn by_key(&self, key: &str) -> Option<(u64, Claim)> {
        let line = *self.line_of.get(key)?;
        Some((line, self.by_line.get(&line)?.clone()))
    }

    pub(crate) fn take(&mut self, line: u64) -> Option<Claim> {
        let claim = self.by_line.remove(&line)?;
        if let Some(key) = &claim.key {
            self.line_of.remove(key);
        }
        Some(claim)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_line.len()
    }
}

/// What the source, the journal and the heartbeat of one process share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) conn: Conn,
    pub(crate) keys: Keys,
    pub(crate) config: WorkConfig,
    pub(crate) campaign_id: Uuid,
    pub(crate) run: u64,
    pub(crate) me: String,
    pub(crate) claims: Mutex<Claims>,
}

impl Shared {
    pub(crate) fn claims(&self) -> std::sync::MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the campaign id and the run (every fenced script's `ARGV[1..2]`).
    pub(crate) fn campaign_args(&self, inv: &mut ::redis::ScriptInvocation<'_>) {
        inv.arg(self.campaign_id.to_string()).arg(self.run);
    }

    /// The error for a script's refusal (`lost`, `ended`, `gone`, `taken`) of the contact at
    /// `line`; `None` for `ok`.
    pub(crate) fn refusal(&self, tag: &str, line: u64) -> Option<RedisWorkError> {
        match tag {
            "ok" => None,
            "lost" => Some(RedisWorkError::Lost {
                campaign: self.config.campaign.clone(),
            }),
            "ended" => Some(RedisWorkError::RunEnded {
                campaign: self.config.campaign.clone(),
                run: self.run,
            }),
            "gone" | "taken" => {
                metrics::claim_lost();
                Some(RedisWorkError::ClaimLost { line })
            }
            other => Some(RedisWorkError::Corrupt {
                what: "script reply",
                detail: format!("unknown reply {other:?}"),
            }),
        }
    }

    fn claim_timeout_ms(&self) -> u64 {
        u64::try_from(self.config.claim_timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

/// A spawned task aborted when its last owner is dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// This process's part in a fleet campaign: joined (or created and loaded), with a
/// background task renewing its presence and claims. Build the [`RedisSource`] and the
/// [`RedisJournal`] of the run from it.
///
/// ```no_run
/// use redial_campaign::fleet::{RedisCampaign, WorkConfig};
/// # async fn run(client: redial_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let cfg = WorkConfig::new("redis://10.0.0.5:6379/", "spring-renewals");
/// let fleet = RedisCampaign::join(cfg, "agent_123", "contacts.csv".as_ref()).await?;
/// let campaign = redial_campaign::Campaign::builder(client)
///     .agent("agent_123")
///     .journal(fleet.journal())
///     .build()?;
/// let summary = campaign.run(fleet.source(), redial_campaign::MemorySink::new()).await?;
/// fleet.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisCampaign {
    shared: Arc<Shared>,
    heartbeat: Arc<AbortOnDrop>,
    total: u64,
    new_run: bool,
}

impl RedisCampaign {
    /// Joins campaign `config.campaign` for `agent` over the list `contacts`: creates it and
    /// loads the list when no process did yet (the others wait for the load), joins its
    /// current run when processes work on it, or starts its next run (a rerun) when its run
    /// is over or nobody works on it any more.
    ///
    /// # Errors
    ///
    /// [`RedisWorkError::InvalidName`], [`RedisWorkError::InvalidUrl`],
    /// [`RedisWorkError::NoRuntime`]; [`RedisWorkError::Mismatch`] when the campaign has
    /// another agent or list; [`RedisWorkError::Lost`] when Redis lost the campaign;
    /// [`RedisWorkError::Contacts`] when the list cannot be read; Redis errors.
    pub async fn join(
        config: WorkConfig,
        agent: &str,
        contacts: &Path,
    ) -> Result<Self, RedisWorkError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| RedisWorkError::NoRuntime)?;
        let keys = Keys::new(&config.campaign)?;
        let conn = Conn::new(&config.url, config.redis_wait)?;
        let me = format!(
            "{}-{}",
            std::process::id(),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let print = load::Fingerprint::of(contacts)?;
        let presence_ms = u64::try_from(config.claim_timeout.as_millis()).unwrap_or(u64::MAX);
        let (campaign_id, run, total, new_run) = loop {
            let mut inv = scripts::JOIN.prepare_invoke();
            inv.key(keys.marker())
                .key(keys.stream())
                .key(keys.journal())
                .key(keys.processes())
                .arg(Uuid::new_v4().to_string())
                .arg(&me)
                .arg(agent)
                .arg(&print.name)
                .arg(print.bytes)
                .arg(&print.hash)
                .arg(u64::try_from(LOAD_LEASE.as_millis()).unwrap_or(u64::MAX))
                .arg(presence_ms)
                .arg(crate::clock::unix_seconds());
            let (v, _) = conn.call("join", &inv).await?;
            let items = reply::items(&v).ok_or_else(|| reply::corrupt("join", &v))?;
            match reply::tag(&v).as_deref() {
                Some("load") => {
                    tracing::info!(campaign = %config.campaign, "loading the contact list into Redis");
                    load::load(&conn, &keys, &me, contacts, presence_ms).await?;
                }
                Some("wait") => tokio::time::sleep(JOIN_POLL).await,
                Some("joined") => {
                    let id = items
                        .get(1)
                        .and_then(reply::text)
                        .and_then(|t| Uuid::parse_str(&t).ok());
                    let nums: Vec<Option<i64>> = items
                        .get(2..)
                        .unwrap_or(&[])
                        .iter()
                        .map(reply::int)
                        .collect();
                    match (id, nums.as_slice()) {
                        (Some(id), [Some(run), Some(total), Some(new)]) => {
                            break (id, *run as u64, *total as u64, *new == 1);
                        }
                        _ => return Err(reply::corrupt("join", &v)),
                    }
                }
                Some("lost") => {
                    return Err(RedisWorkError::Lost {
                        campaign: config.campaign.clone(),
                    });
                }
                Some("mismatch") => {
                    let what = items.get(1).and_then(reply::text).unwrap_or_default();
                    let theirs = items.get(2).and_then(reply::text).unwrap_or_default();
                    let (what, ours) = if what == "agent" {
                        ("agent", agent.to_owned())
                    } else {
                        (
                            "contacts",
                            format!("{} ({} bytes)", print.name, print.bytes),
                        )
                    };
                    return Err(RedisWorkError::Mismatch {
                        campaign: config.campaign.clone(),
                        what,
                        theirs,
                        ours,
                    });
                }
                _ => return Err(reply::corrupt("join", &v)),
            }
        };
        tracing::info!(
            campaign = %config.campaign, %campaign_id, run, total, new_run, process = %me,
            "joined the fleet campaign"
        );
        let every = config.claim_timeout / 3;
        let shared = Arc::new(Shared {
            conn,
            keys,
            config,
            campaign_id,
            run,
            me,
            claims: Mutex::default(),
        });
        let task = rt.spawn(heartbeat(Arc::downgrade(&shared), every));
        Ok(Self {
            shared,
            heartbeat: Arc::new(AbortOnDrop(task.abort_handle())),
            total,
            new_run,
        })
    }

    /// The campaign id (the namespace of every contact's idempotency key).
    pub fn campaign_id(&self) -> Uuid {
        self.shared.campaign_id
    }

    /// The run this process works in (1 for the first; a rerun after the fleet stopped
    /// starts the next).
    pub fn run(&self) -> u64 {
        self.shared.run
    }

    /// Whether this process started its run (a rerun over the whole list).
    pub fn started_run(&self) -> bool {
        self.new_run
    }

    /// Records in the list (contacts and records that cannot be dialled).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// This process's name in the fleet (its consumer name).
    pub fn process_id(&self) -> &str {
        &self.shared.me
    }

    /// The work queue of this process.
    pub fn source(&self) -> RedisSource {
        RedisSource::new(self.shared.clone(), self.heartbeat.clone())
    }

    /// The journal of this process (records only contacts its [`RedisSource`] handed out).
    pub fn journal(&self) -> RedisJournal {
        RedisJournal::new(self.shared.clone(), self.heartbeat.clone())
    }

    /// Leaves the campaign: this process no longer counts as working on it (a rerun may
    /// start once every process left). Call it after the campaign's run ended.
    ///
    /// # Errors
    ///
    /// Redis errors (presence then lapses after `claim_timeout` anyway).
    pub async fn leave(&self) -> Result<(), RedisWorkError> {
        let s = &self.shared;
        let mut inv = scripts::LEAVE.prepare_invoke();
        inv.key(s.keys.marker()).key(s.keys.processes()).arg(&s.me);
        s.conn.call_once("leave", &inv).await.map(|_| ())
    }
}

/// Renews this process's presence and claims every `every` while the campaign lives.
async fn heartbeat(shared: Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(s) = shared.upgrade() else { return };
        let held: Vec<(String, i64)> = s
            .claims()
            .by_line
            .values()
            .map(|c| (c.id.clone(), c.delivery))
            .collect();
        let mut inv = scripts::HEARTBEAT.prepare_invoke();
        inv.key(s.keys.marker())
            .key(s.keys.stream())
            .key(s.keys.processes());
        s.campaign_args(&mut inv);
        inv.arg(&s.me).arg(s.claim_timeout_ms());
        for (id, delivery) in &held {
            inv.arg(id).arg(*delivery);
        }
        match s.conn.call_once("heartbeat", &inv).await {
            Ok(v) => match reply::tag(&v).as_deref() {
                Some("ok") => {
                    let lost = reply::items(&v).map_or(0, |i| i.len().saturating_sub(1));
                    if lost > 0 {
                        tracing::warn!(
                            lost,
                            "contacts of this process were taken over by another (it did not renew its claims within fleet.claim_timeout)"
                        );
                    }
                }
                Some(other) => {
                    tracing::error!(reply = other, "the fleet campaign is over for this process")
                }
                None => tracing::warn!("heartbeat: unexpected reply {v:?}"),
            },
            Err(e) => tracing::warn!("heartbeat: {e}: {:?}", std::error::Error::source(&e)),
        }
    }
}
