//! What every `/v1` request goes through: a gateway outage, authentication, the call quota,
//! the account rate limit, injected faults, idempotency, and counting.
//!
//! Order: outage decision (a page that did not act answers here) -> auth (401s are not rate
//! limited) -> quota -> GCRA -> fault decision -> latency -> pre-action faults ->
//! idempotency replay -> handler -> idempotency store -> `reset_after` -> outage page that
//! acted -> count.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{auth, injected, route_key};
use crate::api_error::ApiError;
use crate::clock;
use crate::conn::KillSwitch;
use crate::faults::{self, FaultPlan, OutageHit};
use crate::idem::{Begin, CreatedCall, IdemKey, Replay};
use crate::limits::retry_after_secs;
use crate::scenario::{FaultKind, RetryAfterFormat};
use crate::state::{Shared, State as World};

/// Header a client sends to make a POST idempotent.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Header set on a replayed response.
const REPLAYED: &str = "idempotent-replayed";

/// How a request was answered.
enum Handled {
    /// An answer still to be counted (and maybe replaced by an outage page).
    Answer(Response),
    /// The connection was reset; already counted.
    Reset(Response),
}

/// The `/v1` middleware.
pub(crate) async fn v1(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(super::UNMATCHED, |p| route_key(req.method(), p.as_str()));
    let outage = outage(&shared, route);
    if let Some(o) = outage.filter(|o| !o.acted) {
        shared.lock().counters.outage_pages += 1;
        return finish(&shared, route, injected::gateway_page(o.status));
    }
    match handle(&shared, route, req, next).await {
        Handled::Reset(resp) => resp,
        Handled::Answer(resp) => match outage {
            // The API answered; the gateway lost the answer and shows its page instead.
            Some(o) => {
                {
                    let mut st = shared.lock();
                    st.counters.outage_pages += 1;
                    if resp.status().is_success() {
                        st.counters.outage_pages_after_acting += 1;
                    }
                }
                finish(&shared, route, injected::gateway_page(o.status))
            }
            None => finish(&shared, route, resp),
        },
    }
}

/// Whether the request falls in a gateway outage.
fn outage(shared: &Shared, route: &'static str) -> Option<OutageHit> {
    let now = clock::now();
    let mut guard = shared.lock();
    let st = &mut *guard;
    if st.faults.outages.is_empty() {
        return None;
    }
    let elapsed = st.elapsed(now);
    faults::outage(&st.faults, route, elapsed, &mut st.rng)
}

/// Everything behind the gateway.
async fn handle(shared: &Shared, route: &'static str, mut req: Request, next: Next) -> Handled {
    if let Err(e) = auth::authenticate(shared, req.headers()) {
        return Handled::Answer(e.into_response());
    }
    let plan = match admit(shared, route) {
        Ok(plan) => plan,
        Err(e) => return Handled::Answer(e.into_response()),
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    let kill = req.extensions().get::<KillSwitch>().cloned();
    match plan.kind {
        None | Some(FaultKind::ResetAfter | FaultKind::ServerErrorAfter) => {}
        Some(FaultKind::ResetBefore) => return Handled::Reset(reset(shared, route, kill).await),
        Some(FaultKind::RateLimited) => return Handled::Answer(rate_limited(shared)),
        Some(FaultKind::Hang) => {
            let hang = shared.lock().faults.hang_duration;
            tokio::time::sleep(hang).await;
            let e = ApiError::server(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "The request timed out.",
            );
            return Handled::Answer(e.into_response());
        }
        Some(kind) => return Handled::Answer(injected::response(kind, &plan)),
    }
    let idem_key = (req.method() == Method::POST)
        .then(|| req.headers().get(IDEMPOTENCY_KEY))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let honoured = shared.scenario.idempotency.honoured;
    let mut guard = None;
    let mut key = None;
    if let Some(k) = idem_key {
        if honoured {
            match begin(shared, &k) {
                Ok(resp) => return Handled::Answer(resp),
                Err(shared_key) => {
                    guard = Some(IdemGuard {
                        shared,
                        key: shared_key.clone(),
                        done: false,
                    });
                    key = Some(shared_key);
                }
            }
        } else {
            key = Some(Arc::<str>::from(k));
        }
    }
    if let Some(k) = &key {
        req.extensions_mut().insert(IdemKey(k.clone()));
    }
    let mut resp = next.run(req).await;
    let status = resp.status();
    // Only a request that acted is stored for replay (as Stripe does): an error answer such as
    // a 429 concurrent_call_limit or a 400 created nothing, so a retry with the same key must
    // be executed afresh, not answered with the old refusal. Dropping the guard forgets it.
    if let Some(mut g) = guard.filter(|_| status.is_success()) {
        let replay = match resp.extensions().get::<CreatedCall>() {
            Some(CreatedCall(seq)) => Replay::Call(*seq),
            None => {
                let (parts, body) = resp.into_parts();
                let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
                resp = Response::from_parts(parts, Body::from(bytes.clone()));
                Replay::Body(Box::new(bytes))
            }
        };
        g.complete(status, replay);
    }
    if status == StatusCode::CREATED
        && let Some(k) = key
    {
        let mut st = shared.lock();
        if st.idem.count_create(k) {
            st.counters.duplicate_creates_per_key += 1;
        }
    }
    match plan.kind {
        Some(FaultKind::ResetAfter) => Handled::Reset(reset(shared, route, kill).await),
        // The request acted (and, under an honoured key, its answer is stored for replay);
        // the client is told it failed.
        Some(kind @ FaultKind::ServerErrorAfter) => {
            Handled::Answer(injected::response(kind, &plan))
        }
        _ => Handled::Answer(resp),
    }
}

/// The 429 of a `rate_limited` fault: `rate_limit_exceeded` asking for
/// `faults.rate_limited_wait`, stated as `limits.retry_after` says.
fn rate_limited(shared: &Shared) -> Response {
    let now = clock::now();
    let mut guard = shared.lock();
    let st = &mut *guard;
    st.counters.rate_limited("rate_limit_exceeded");
    let wait = st.faults.rate_limited_wait;
    let e = ApiError::rate_limit("rate_limit_exceeded", "Too many requests; slow down.");
    throttled(shared, st, now, wait, e).into_response()
}

/// Quota, rate limit and fault decision under one lock.
fn admit(shared: &Shared, route: &'static str) -> Result<FaultPlan, ApiError> {
    let now = clock::now();
    let mut guard = shared.lock();
    let st = &mut *guard;
    st.prune(now);
    let elapsed = st.elapsed(now);
    let quota = &shared.scenario.quota;
    if let Err(left) = st.quota.check(quota, elapsed) {
        st.counters.rate_limited("rate_limit_exceeded");
        st.counters.quota_refused += 1;
        let e = ApiError::rate_limit(
            "rate_limit_exceeded",
            format!(
                "The account's quota of {} calls per {} is used up; retry when it renews.",
                quota.calls,
                humantime::format_duration(quota.window)
            ),
        )
        .detail("quota", quota.calls);
        return Err(throttled(shared, st, now, left, e));
    }
    if let Some(g) = st.gcra.as_mut()
        && let Err(wait) = g.check(now)
    {
        st.counters.rate_limited("rate_limit_exceeded");
        let e = ApiError::rate_limit("rate_limit_exceeded", "Too many requests; slow down.");
        return Err(throttled(shared, st, now, wait, e));
    }
    let plan = faults::decide(&st.faults, route, elapsed, &mut st.rng, &mut st.first_hits);
    if let Some(kind) = plan.kind {
        st.counters.fault(kind.as_str());
    }
    if !plan.latency.is_zero() {
        st.counters.fault("latency");
    }
    Ok(plan)
}

/// Adds `details.retry_after_ms` and the `Retry-After` header (per `limits.retry_after`)
/// for a wait of `wait` to a 429.
fn throttled(
    shared: &Shared,
    st: &World,
    now: tokio::time::Instant,
    wait: Duration,
    e: ApiError,
) -> ApiError {
    let e = e.detail(
        "retry_after_ms",
        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
    );
    let header = match shared.scenario.limits.retry_after {
        RetryAfterFormat::Seconds => Some(HeaderValue::from(retry_after_secs(wait))),
        RetryAfterFormat::HttpDate => {
            let at = st.wall_at(now) + Duration::from_secs(retry_after_secs(wait));
            HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok()
        }
        RetryAfterFormat::None => None,
    };
    match header {
        Some(h) => e.retry_after(h),
        None => e,
    }
}

/// Drops the connection without a response; never returns when a kill switch is present.
async fn reset(shared: &Shared, route: &'static str, kill: Option<KillSwitch>) -> Response {
    shared.record(route, 0);
    match kill {
        Some(k) => {
            k.fire();
            std::future::pending::<Response>().await
        }
        None => ApiError::server(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Connection reset.",
        )
        .into_response(),
    }
}

fn finish(shared: &Shared, route: &'static str, resp: Response) -> Response {
    shared.record(route, resp.status().as_u16());
    resp
}

/// Starts a request under an honoured key: `Ok(answer)` for a replay or a 409, `Err(key)`
/// when the request is to run.
fn begin(shared: &Shared, key: &str) -> Result<Response, Arc<str>> {
    let mut guard = shared.lock();
    let st = &mut *guard;
    loop {
        match st.idem.begin(key) {
            Begin::Replay { status, replay } => {
                let body = match replay {
                    Replay::Body(b) => *b,
                    Replay::Call(seq) => match st.calls.get(seq) {
                        Some(rec) => {
                            let at = st.created(rec);
                            let json = st.call_json(rec, &shared.scenario.calls, at);
                            serde_json::to_vec(&json).unwrap_or_default().into()
                        }
                        // The call was forgotten: so is its key.
                        None => {
                            st.idem.forget(key, seq);
                            continue;
                        }
                    },
                };
                st.counters.idempotent_replays += 1;
                let mut resp = (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body,
                )
                    .into_response();
                resp.headers_mut()
                    .insert(REPLAYED, HeaderValue::from_static("true"));
                return Ok(resp);
            }
            Begin::InFlight => {
                return Ok(ApiError::conflict(
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still being processed.",
                )
                .into_response());
            }
            Begin::Started(k) => return Err(k),
        }
    }
}

/// Removes an in-flight idempotency entry if the request never completed (e.g. the
/// connection dropped), so a retry is not refused forever.
struct IdemGuard<'a> {
    shared: &'a Shared,
    key: Arc<str>,
    done: bool,
}

impl IdemGuard<'_> {
    fn complete(&mut self, status: StatusCode, replay: Replay) {
        self.shared
            .lock()
            .idem
            .complete(&self.key, status.as_u16(), replay);
        self.done = true;
    }
}

impl Drop for IdemGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().idem.abandon(&self.key);
        }
    }
}
