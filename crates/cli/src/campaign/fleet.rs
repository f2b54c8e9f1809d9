//! Fleet mode of `redial campaign`: `--redis URL` shares the account's limits (rate, live
//! calls, pauses) and halts with every process on the same Redis; `--campaign NAME` also
//! shares the contact list and the journal, so each contact is dialled by one process and a
//! rerun resumes across the fleet. See docs/fleet.md.

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use redial_campaign::fleet::{RedisCampaign, RedisSource, WorkConfig};
use redial_campaign::{
    BoxError, CancelHandle, ContactOutcome, ContactSource, CsvSource, Journal, SourceItem,
};
use redial_limiter::Limiter;
use redial_limiter::redis::{DEFAULT_NAMESPACE, FleetConfig, OnRedisError, RedisFleet, RedisHalts};
use redial_policy::Config;
use redial_policy::config::OnRedisErrorName;
use redial_transport::ClientBuilder;

use crate::exit::{UsageError, usage};

/// `--redis` and `--campaign`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPlan {
    /// Redis URL.
    pub url: String,
    /// The fleet campaign's name: the list and the journal are shared; `None` shares only
    /// the limits and halts (namespace `default`).
    pub campaign: Option<String>,
}

impl FleetPlan {
    /// Checks the flags (the URL is checked when connecting).
    ///
    /// # Errors
    /// [`UsageError`] naming `--redis` or `--campaign`.
    pub fn from_flags(
        redis: Option<String>,
        campaign: Option<String>,
    ) -> Result<Option<Self>, UsageError> {
        let Some(url) = redis else {
            return match campaign {
                Some(_) => Err(UsageError::new(
                    "--campaign needs --redis URL: the list and the journal live in Redis",
                )),
                None => Ok(None),
            };
        };
        if !(url.starts_with("redis://")
            || url.starts_with("rediss://")
            || url.starts_with("unix://"))
        {
            return Err(UsageError::new(format!(
                "--redis {url:?}: expected a Redis URL like redis://10.0.0.5:6379/"
            )));
        }
        if let Some(name) = &campaign
            && (name.is_empty() || name.contains(['{', '}']))
        {
            return Err(UsageError::new(format!(
                "--campaign {name:?}: must be non-empty, without '{{' or '}}' (it becomes the Redis keys' hash tag)"
            )));
        }
        Ok(Some(Self { url, campaign }))
    }
}

/// This process's part in the fleet: the shared limiter and halts, and with `--campaign` the
/// shared list and journal.
#[derive(Debug)]
pub struct Fleet {
    limiter: Limiter,
    halts: RedisHalts,
    work: Option<RedisCampaign>,
}

/// Connects to the fleet: the shared limits at once, and with `--campaign` joins (or creates
/// and loads) the campaign.
///
/// # Errors
/// A usage error for a bad URL or a campaign of another agent or list; the error that stops
/// the campaign otherwise (Redis unreachable for `fleet.redis_wait`, the campaign lost).
pub async fn start(
    plan: &FleetPlan,
    config: &Config,
    agent: &str,
    contacts: &Path,
) -> anyhow::Result<Fleet> {
    let f = &config.fleet;
    let mut cfg = FleetConfig::new(
        plan.url.clone(),
        plan.campaign.as_deref().unwrap_or(DEFAULT_NAMESPACE),
    );
    cfg.on_redis_error = match f.on_redis_error {
        OnRedisErrorName::Local => OnRedisError::Local { share: f.share },
        _ => OnRedisError::Wait,
    };
    cfg.lease = f.lease;
    let redis = RedisFleet::new(cfg).map_err(|e| usage(format!("--redis: {e}")))?;
    let limiter = redis
        .limiter(config)
        .map_err(|e| usage(format!("--redis: {e}")))?;
    let halts = redis.halts().map_err(|e| usage(format!("--redis: {e}")))?;
    let work = match &plan.campaign {
        None => None,
        Some(name) => {
            let mut w = WorkConfig::new(plan.url.clone(), name.clone());
            w.claim_timeout = f.claim_timeout;
            w.max_deliveries = f.max_deliveries;
            w.redis_wait = f.redis_wait;
            let joined = RedisCampaign::join(w, agent, contacts).await.map_err(|e| {
                use redial_campaign::fleet::RedisWorkError as W;
                match e {
                    W::InvalidUrl(_) | W::InvalidName { .. } | W::Mismatch { .. } => {
                        usage(format!("--campaign: {e}"))
                    }
                    other => anyhow::Error::new(other).context("fleet campaign"),
                }
            })?;
            eprintln!(
                "fleet campaign {name:?}: run {} of {} records, process {}{}",
                joined.run(),
                joined.total(),
                joined.process_id(),
                if joined.started_run() && joined.run() > 1 {
                    " (a rerun: finished contacts come from the journal)"
                } else {
                    ""
                }
            );
            Some(joined)
        }
    };
    Ok(Fleet {
        limiter,
        halts,
        work,
    })
}

/// The client builder with the fleet's limiter and halts (unchanged without a fleet).
pub fn client(fleet: Option<&Fleet>, builder: ClientBuilder) -> ClientBuilder {
    match fleet {
        Some(f) => builder
            .limiter(f.limiter.clone())
            .shared_halts(Arc::new(f.halts.clone())),
        None => builder,
    }
}

/// The fleet's journal, with `--campaign`.
pub fn journal(fleet: Option<&Fleet>) -> Option<Arc<dyn Journal>> {
    let work = fleet?.work.as_ref()?;
    Some(Arc::new(work.journal()))
}

/// The campaign's contacts: the CSV file, or with `--campaign` the fleet's shared list
/// (which stops handing out contacts once `cancel` is cancelled).
pub fn source(fleet: Option<&Fleet>, csv: CsvSource, cancel: CancelHandle) -> Source {
    match fleet.and_then(|f| f.work.as_ref()) {
        Some(work) => Source::Fleet(Box::new(work.source().stop_on(cancel))),
        None => Source::Csv(csv),
    }
}

/// After the run: this process leaves the campaign (a rerun may start once all left).
pub async fn finish(fleet: Option<Fleet>) {
    if let Some(work) = fleet.and_then(|f| f.work)
        && let Err(e) = work.leave().await
    {
        tracing::warn!("leaving the fleet campaign: {e}");
    }
}

/// The contacts of a run: the file, or the fleet's list.
#[derive(Debug)]
pub enum Source {
    /// `--contacts`, read by this process alone.
    Csv(CsvSource),
    /// The fleet's list in Redis.
    Fleet(Box<RedisSource>),
}

impl ContactSource for Source {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<SourceItem>, BoxError>> {
        match self {
            Self::Csv(s) => s.next(),
            Self::Fleet(s) => s.next(),
        }
    }

    fn size_hint(&self) -> Option<u64> {
        match self {
            Self::Csv(s) => s.size_hint(),
            Self::Fleet(s) => s.size_hint(),
        }
    }

    fn done<'a>(&'a mut self, outcome: &'a ContactOutcome) -> BoxFuture<'a, Result<(), BoxError>> {
        match self {
            Self::Csv(s) => s.done(outcome),
            Self::Fleet(s) => s.done(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_flags_are_checked() {
        assert_eq!(FleetPlan::from_flags(None, None).unwrap(), None);
        let e = FleetPlan::from_flags(None, Some("c".into())).unwrap_err();
        assert!(e.to_string().contains("--campaign needs --redis"), "{e}");
        let e = FleetPlan::from_flags(Some("localhost:6379".into()), None).unwrap_err();
        assert!(e.to_string().contains("--redis"), "{e}");
        let e = FleetPlan::from_flags(Some("redis://h/".into()), Some("a{b".into())).unwrap_err();
        assert!(e.to_string().contains("--campaign"), "{e}");
        let ok = FleetPlan::from_flags(Some("redis://h:6379/".into()), Some("spring".into()));
        assert_eq!(
            ok.unwrap(),
            Some(FleetPlan {
                url: "redis://h:6379/".into(),
                campaign: Some("spring".into())
            })
        );
    }
}
