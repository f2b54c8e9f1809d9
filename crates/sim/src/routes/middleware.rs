//! What every `/v1` request goes through: authentication, the account rate limit, injected
//! faults, idempotency, and counting.
//!
//! Order: auth (401s are not rate limited) -> GCRA -> fault decision -> latency -> pre-action
//! faults -> idempotency replay -> handler -> idempotency store -> `reset_after` -> count.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{auth, injected, route_key};
use crate::api_error::ApiError;
use crate::clock;
use crate::conn::KillSwitch;
use crate::faults::{self, FaultPlan};
use crate::limits::retry_after_secs;
use crate::scenario::{FaultKind, RetryAfterFormat};
use crate::state::{IdemEntry, Shared};

/// Header a client sends to make a POST idempotent.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Header set on a replayed response.
const REPLAYED: &str = "idempotent-replayed";

/// The `/v1` middleware.
pub(crate) async fn v1(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(super::UNMATCHED, |p| route_key(req.method(), p.as_str()));
    if let Err(e) = auth::authenticate(&shared, req.headers()) {
        return finish(&shared, route, e.into_response());
    }
    let plan = match admit(&shared, route) {
        Ok(plan) => plan,
        Err(e) => return finish(&shared, route, e.into_response()),
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    let kill = req.extensions().get::<KillSwitch>().cloned();
    match plan.kind {
        None | Some(FaultKind::ResetAfter) => {}
        Some(FaultKind::ResetBefore) => return reset(&shared, route, kill).await,
        Some(FaultKind::Hang) => {
            let hang = shared.lock().faults.hang_duration;
            tokio::time::sleep(hang).await;
            let e = ApiError::server(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "The request timed out.",
            );
            return finish(&shared, route, e.into_response());
        }
        Some(kind) => return finish(&shared, route, injected::response(kind, &plan)),
    }
    let idem_key = (req.method() == Method::POST)
        .then(|| req.headers().get(IDEMPOTENCY_KEY))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let honoured = shared.scenario.idempotency.honoured;
    let mut guard = None;
    if let Some(key) = idem_key.as_ref().filter(|_| honoured) {
        match begin(&shared, key) {
            Begin::Replay(resp) => return finish(&shared, route, resp),
            Begin::Started => {
                guard = Some(IdemGuard {
                    shared: &shared,
                    key: key.clone(),
                    done: false,
                });
            }
        }
    }
    let mut resp = next.run(req).await;
    let status = resp.status();
    // Only a request that acted is stored for replay (as Stripe does): an error answer such as
    // a 429 concurrent_call_limit or a 400 created nothing, so a retry with the same key must
    // be executed afresh, not answered with the old refusal. Dropping the guard forgets it.
    if let Some(mut g) = guard.filter(|_| status.is_success()) {
        let (parts, body) = resp.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
        g.complete(status, bytes.clone());
        resp = Response::from_parts(parts, Body::from(bytes));
    }
    if status == StatusCode::CREATED
        && let Some(key) = idem_key
    {
        let mut st = shared.lock();
        let n = st.creates_per_key.entry(key).or_default();
        *n += 1;
        if *n > 1 {
            st.counters.duplicate_creates_per_key += 1;
        }
    }
    if plan.kind == Some(FaultKind::ResetAfter) {
        return reset(&shared, route, kill).await;
    }
    finish(&shared, route, resp)
}

/// Rate limit and fault decision under one lock.
fn admit(shared: &Shared, route: &'static str) -> Result<FaultPlan, ApiError> {
    let now = clock::now();
    let mut guard = shared.lock();
    let st = &mut *guard;
    st.live.prune(now);
    if let Some(g) = st.gcra.as_mut()
        && let Err(wait) = g.check(now)
    {
        st.counters.rate_limited("rate_limit_exceeded");
        let e = ApiError::rate_limit("rate_limit_exceeded", "Too many requests; slow down.")
            .detail(
                "retry_after_ms",
                u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            );
        let header = match shared.scenario.limits.retry_after {
            RetryAfterFormat::Seconds => Some(HeaderValue::from(retry_after_secs(wait))),
            RetryAfterFormat::HttpDate => {
                let at = st.wall_at(now) + std::time::Duration::from_secs(retry_after_secs(wait));
                HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok()
            }
            RetryAfterFormat::None => None,
        };
        return Err(match header {
            Some(h) => e.retry_after(h),
            None => e,
        });
    }
    let elapsed = st.elapsed(now);
    let plan = faults::decide(&st.faults, route, elapsed, &mut st.rng);
    if let Some(kind) = plan.kind {
        st.counters.fault(kind.as_str());
    }
    if !plan.latency.is_zero() {
        st.counters.fault("latency");
    }
    Ok(plan)
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

enum Begin {
    Replay(Response),
    Started,
}

fn begin(shared: &Shared, key: &str) -> Begin {
    let mut st = shared.lock();
    match st.idem.get(key) {
        Some(IdemEntry::Done { status, body }) => {
            let (status, body) = (*status, body.clone());
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
            Begin::Replay(resp)
        }
        Some(IdemEntry::InFlight) => Begin::Replay(
            ApiError::conflict(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed.",
            )
            .into_response(),
        ),
        None => {
            st.idem.insert(key.to_owned(), IdemEntry::InFlight);
            Begin::Started
        }
    }
}

/// Removes an in-flight idempotency entry if the request never completed (e.g. the
/// connection dropped), so a retry is not refused forever.
struct IdemGuard<'a> {
    shared: &'a Shared,
    key: String,
    done: bool,
}

impl IdemGuard<'_> {
    fn complete(&mut self, status: StatusCode, body: bytes::Bytes) {
        self.shared.lock().idem.insert(
            self.key.clone(),
            IdemEntry::Done {
                status: status.as_u16(),
                body,
            },
        );
        self.done = true;
    }
}

impl Drop for IdemGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.shared.lock();
            if matches!(st.idem.get(&self.key), Some(IdemEntry::InFlight)) {
                st.idem.remove(&self.key);
            }
        }
    }
}
