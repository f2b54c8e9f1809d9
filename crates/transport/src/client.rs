//! [`Client`] and its builder.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redial_limiter::{InFlightGate, Limiter};
use redial_policy::{Config, Policy};

use crate::base_url::BaseUrl;
use crate::endpoints::{Agents, Calls, Messages, Numbers};
use crate::error::ClientConfigError;
use crate::halts::Halts;
use crate::key::ApiKey;

/// Longest a TCP + TLS connect may take before the attempt fails as a connect failure (the
/// request is then certainly not sent, so it is safe to retry).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The `User-Agent` every request carries, so Nixflex support can tell redial's traffic and
/// its version apart: `redial/<version>`.
pub const USER_AGENT: &str = concat!("redial/", env!("CARGO_PKG_VERSION"));

/// A client of the Nixflex API. Every request goes through halt checks, the circuit breaker,
/// pacing, the per-attempt timeout, the policy's decision and the metrics, with no extra code
/// in the caller. Cheap to clone (an `Arc` inside); share one per account.
///
/// ```no_run
/// use redial_transport::{ApiKey, Client, NewCall};
///
/// # async fn run() -> Result<(), redial_transport::Error> {
/// let client = Client::builder()
///     .base_url("https://api.nixflex.example")
///     .api_key(ApiKey::parse("key_id:key_secret").expect("well-formed key"))
///     .build()?;
/// let placed = client.calls().create(&NewCall::new("agent_1", "+447446466847")).await?;
/// let done = client.calls().wait_until_done(&placed.call.id).await?;
/// drop(placed.slot); // the call ended: free its concurrent-call slot
/// println!("{} ended {}", done.id, done.status);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: BaseUrl,
    pub(crate) key: ApiKey,
    pub(crate) policy: ArcSwap<Policy>,
    pub(crate) limiter: Limiter,
    /// Requests on the wire at once (`[pacing.in_flight]`), per process.
    pub(crate) in_flight: InFlightGate,
    pub(crate) halts: Halts,
    /// Metric handles of the success path.
    pub(crate) success_metrics: crate::metrics::SuccessHandles,
    /// Why the account (or the creates) are paused.
    pub(crate) pauses: crate::pause::Pauses,
    /// Keys of creates that ended ambiguous under honoured keys.
    pub(crate) in_doubt: crate::in_doubt::InDoubt,
    /// Birth instants of calls, for the absolute `polling.max_wait`.
    pub(crate) births: crate::births::Births,
    /// Provider errors per operation, across requests, for support reports.
    pub(crate) provider_window: crate::support::ProviderWindow,
    rng: Mutex<SmallRng>,
}

impl Inner {
    /// A uniform jitter sample in `[0, 1)`.
    pub(crate) fn jitter(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    key: Option<ApiKey>,
    config: Config,
    limiter: Option<Limiter>,
    jitter_seed: Option<u64>,
    shared_halts: Option<Arc<dyn crate::halts::HaltStore>>,
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Agents: list, get, create.
    pub fn agents(&self) -> Agents<'_> {
        Agents::new(self)
    }

    /// Phone numbers: import, delete.
    pub fn numbers(&self) -> Numbers<'_> {
        Numbers::new(self)
    }

    /// Calls: create (with a call slot), get, list, wait until done.
    pub fn calls(&self) -> Calls<'_> {
        Calls::new(self)
    }

    /// Messages: send.
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// The halted scopes.
    pub fn halts(&self) -> &Halts {
        &self.inner.halts
    }

    /// Whether the account is paused (a throttle's `Retry-After`), until when and why: nothing
    /// is sent until then, and requests that may not wait that long (`pacing.max_pause`) end
    /// with [`crate::Error::Paused`]. A campaign asks this to stop at once instead of letting
    /// every contact find out.
    pub fn pause(&self) -> Option<crate::PauseInfo> {
        let until = self.inner.limiter.pacer().paused_until()?;
        let retry_in = until.saturating_duration_since(crate::clock::now());
        if retry_in.is_zero() {
            return None;
        }
        Some(crate::PauseInfo::new(
            retry_in,
            self.inner.pauses.account_cause(),
        ))
    }

    /// The limiter (pacer, call slots, breakers, budget).
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The gate of requests on the wire (`[pacing.in_flight]`): this process's own, even when
    /// the limiter is shared.
    pub fn in_flight(&self) -> &InFlightGate {
        &self.inner.in_flight
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.inner.policy.load_full()
    }

    /// Applies a new config to the running client: a lock-free swap of the policy and a
    /// reconfiguration of the limiter. Requests in flight finish under the policy they started
    /// with.
    ///
    /// # Errors
    /// [`ClientConfigError::Policy`] when the config is invalid; nothing changes then.
    pub fn apply_config(&self, config: Config) -> Result<(), ClientConfigError> {
        let policy = Policy::new(config)?;
        self.inner.limiter.reconfigure(policy.config());
        self.inner
            .in_flight
            .reconfigure(&policy.config().pacing.in_flight);
        self.inner.policy.store(Arc::new(policy));
        Ok(())
    }
}

impl ClientBuilder {
    /// The API's base URL, e.g. `https://api.nixflex.example` (required).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (required).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The runtime config (default: `Config::default()`).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// A limiter to share, e.g. a fleet backend; default: an in-process limiter built from
    /// the config. A given limiter keeps its own `[pacing]`, `[slots]`, `[breaker]` and
    /// `[budget]` settings: the client's config sections for those are then not applied
    /// (except `budget.enabled`, read per request) until [`Client::apply_config`].
    pub fn limiter(mut self, limiter: Limiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Halted scopes shared with other processes on the account (a fleet), e.g. the Redis
    /// halts of `redial-limiter` (with this crate's `redis` feature): a halt this client
    /// records is written there too, and one recorded by another process stops this client's
    /// requests in the scope before their next send. Default: this client's own halts only.
    pub fn shared_halts(mut self, store: Arc<dyn crate::halts::HaltStore>) -> Self {
        self.shared_halts = Some(store);
        self
    }

    /// Seeds the jitter RNG so that backoff delays are reproducible (tests).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ClientConfigError`] naming the missing key, the bad URL or the invalid config value.
    pub fn build(self) -> Result<Client, ClientConfigError> {
        let url = self.base_url.unwrap_or_default();
        let base_url = BaseUrl::parse(&url)?;
        let key = self.key.ok_or(ClientConfigError::MissingApiKey)?;
        let policy = Policy::new(self.config)?;
        let limiter = self
            .limiter
            .unwrap_or_else(|| Limiter::in_process(policy.config()));
        let in_flight = InFlightGate::new(&policy.config().pacing.in_flight);
        // `Accept` rides in the default headers (set once), not added to every request.
        let mut default_headers = reqwest::header::HeaderMap::new();
        default_headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let http = reqwest::Client::builder()
            .default_headers(default_headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // The retry loop is the one place that repeats a request, where it is paced,
            // counted and bounded; reqwest's own layer (HTTP/2 and /3 NACKs, which this
            // build does not speak) would otherwise copy every request's headers in case.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| ClientConfigError::Http(e.to_string()))?;
        let rng = match self.jitter_seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::from_os_rng(),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                key,
                policy: ArcSwap::from_pointee(policy),
                limiter,
                in_flight,
                halts: Halts::with_shared(self.shared_halts),
                success_metrics: crate::metrics::SuccessHandles::default(),
                pauses: crate::pause::Pauses::default(),
                in_doubt: crate::in_doubt::InDoubt::default(),
                births: crate::births::Births::default(),
                provider_window: crate::support::ProviderWindow::default(),
                rng: Mutex::new(rng),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_requires_a_key_and_a_valid_config() {
        let e = Client::builder()
            .base_url("http://127.0.0.1:1")
            .build()
            .unwrap_err();
        assert!(matches!(e, ClientConfigError::MissingApiKey));
        let mut config = Config::default();
        config.retry.max_attempts = 0;
        let e = Client::builder()
            .base_url("http://127.0.0.1:1")
            .api_key(ApiKey::parse("a:b").unwrap())
            .config(config)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("retry.max_attempts"), "{e}");
    }
}

#[cfg(test)]
mod send_tests {
    use super::*;
    use crate::model::NewCall;

    fn assert_send<T: Send>(_: &T) {}

    /// A client of an address nothing listens on (these tests never poll), and a call.
    fn client_and_call() -> (Client, NewCall) {
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .api_key(ApiKey::parse("a:b").unwrap())
            .build()
            .unwrap();
        (client, NewCall::new("agent", "+447446466847"))
    }

    /// The retry loop's state is boxed once per request: the futures callers hold (often
    /// thousands, in a `FuturesUnordered`) stay small. They were 2,600 bytes before.
    #[test]
    fn request_futures_are_small() {
        let (client, call) = client_and_call();
        for (what, size) in [
            (
                "agents().list()",
                std::mem::size_of_val(&client.agents().list()),
            ),
            (
                "calls().create()",
                std::mem::size_of_val(&client.calls().create(&call)),
            ),
            (
                "calls().get()",
                std::mem::size_of_val(&client.calls().get("call_1")),
            ),
        ] {
            assert!(size <= 512, "{what} future is {size} bytes");
        }
    }

    /// Regression: the retry loop held a `&dyn RetryBudget` (not `Sync`) across an await, so
    /// request futures could not be spawned on a multi-threaded runtime.
    #[test]
    fn request_futures_are_send() {
        let (client, call) = client_and_call();
        assert_send(&client.calls().create(&call));
        assert_send(&client.calls().wait_until_done("call_1"));
        assert_send(&client.agents().list());
        assert_send(&client.messages().send(&crate::model::NewMessage {
            to: "+447446466847".into(),
            body: "hi".into(),
            from_number: None,
            agent_id: None,
            idempotency_key: None,
        }));
    }
}
