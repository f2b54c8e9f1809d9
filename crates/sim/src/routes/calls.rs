//! `/v1/calls`: create (holding a concurrent-call slot), fetch with the current status, list.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agents::owned_agent;
use super::body::{JsonObject, optional, required};
use super::numbers::{bad_format, check_to_and_from, imported_sender};
use crate::api_error::ApiError;
use crate::clock;
use crate::idem::{CreatedCall, IdemKey};
use crate::lifecycle::Timeline;
use crate::state::Shared;
use crate::store::{CallJson, CallRecord, NO_SEQ, PhoneKey, nanos};

/// Calls `GET /v1/calls` returns without a `limit` (the contract's default).
pub(crate) const DEFAULT_LIST_LIMIT: usize = 100;

/// Largest `limit` `GET /v1/calls` honours; larger values are treated as this (assumed, as
/// list APIs commonly cap a page).
pub(crate) const MAX_LIST_LIMIT: usize = 1000;

#[derive(Serialize)]
struct List<'a> {
    data: Vec<CallJson<'a>>,
}

/// `POST /v1/calls` `{agent_id, to, from_number?, metadata?}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    key: Option<Extension<IdemKey>>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let JsonObject(b) = body?;
    let agent_id = required(&b, "agent_id")?;
    let to = required(&b, "to")?;
    let from = optional(&b, "from_number")?;
    check_to_and_from(to, from)?;
    let to_key = PhoneKey::of(to).ok_or_else(|| bad_format("to", to))?;
    let account = &shared.scenario.account;
    let cfg = &shared.scenario.calls;
    let now = clock::now();
    let mut guard = shared.lock();
    let st = &mut *guard;
    let agent = owned_agent(st, agent_id)?;
    let from_number = match from {
        Some(f) => imported_sender(st, f)?,
        None => match agent.phone_numbers.first() {
            Some(n) => n.clone(),
            None => {
                return Err(ApiError::invalid(
                    "agent_no_phone",
                    format!("Agent {agent_id} has no phone number to call from."),
                )
                .detail("agent_id", agent_id));
            }
        },
    };
    if account.opted_out.iter().any(|n| n == to) {
        return Err(unsubscribed(to));
    }
    st.prune(now);
    let max = shared.scenario.limits.max_concurrent_calls;
    if max > 0 && st.calls.live() >= max as usize {
        st.counters.rate_limited("concurrent_call_limit");
        return Err(ApiError::rate_limit(
            "concurrent_call_limit",
            format!("The account already has {max} live calls."),
        )
        .detail("max_concurrent_calls", max));
    }
    if let Some(rule) = account.twilio_rejects.iter().find(|r| r.matches(to)) {
        return Err(
            ApiError::provider("outbound_failed", "Twilio could not place the call.")
                .detail("twilio_error", rule.twilio_error),
        );
    }
    let timeline = Timeline::draw(cfg, &mut st.rng);
    let id = st.new_call_id();
    let metadata = match b.get("metadata") {
        None | Some(Value::Null) => None,
        Some(v) => serde_json::value::to_raw_value(v).ok(),
    };
    let record = CallRecord {
        id,
        created_ns: st.calls.ns(now),
        end_ns: nanos(timeline.end_at),
        to: to_key,
        prev_same_to: NO_SEQ,
        metadata,
        key: key.map(|Extension(IdemKey(k))| k),
        from: st.calls.names.intern(&from_number),
        agent: st.calls.names.intern(agent_id),
        outcome: timeline.outcome,
    };
    let (seq, again) = st.calls.insert(record, now);
    if again {
        st.counters.duplicate_dials += 1;
    }
    st.counters.calls_created += 1;
    let elapsed = st.elapsed(now);
    st.quota.use_one(&shared.scenario.quota, elapsed);
    let Some(rec) = st.calls.get(seq) else {
        return Err(ApiError::server(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The call was not stored.",
        ));
    };
    let mut resp = (StatusCode::CREATED, Json(st.call_json(rec, cfg, now))).into_response();
    resp.extensions_mut().insert(CreatedCall(seq));
    Ok(resp)
}

/// 400 `recipient_unsubscribed`.
pub(super) fn unsubscribed(to: &str) -> ApiError {
    ApiError::invalid(
        "recipient_unsubscribed",
        format!("{to} has opted out (sent STOP); never contact them."),
    )
    .detail("to", to)
}

/// `GET /v1/calls/{id}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let st = shared.lock();
    match st.calls.find(&id) {
        Some(rec) => Ok(Json(st.call_json(rec, &shared.scenario.calls, now)).into_response()),
        None => Err(
            ApiError::not_found("call_not_found", format!("No call {id}.")).detail("call_id", id),
        ),
    }
}

/// The query of `GET /v1/calls`; unknown parameters are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    to: Option<String>,
    agent_id: Option<String>,
    limit: Option<String>,
}

/// 400 `invalid_query` naming the parameter.
fn bad_query(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_query", message).detail("field", field)
}

/// `GET /v1/calls?to=&agent_id=&limit=`: the account's calls, newest first, filtered by `to`
/// and `agent_id` (unless `calls.list_ignores_filters`), at most `limit` of them (default
/// [`DEFAULT_LIST_LIMIT`], at most [`MAX_LIST_LIMIT`]).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| bad_query("query", e.body_text()))?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIST_LIMIT,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX).min(MAX_LIST_LIMIT),
            _ => {
                return Err(bad_query(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {MAX_LIST_LIMIT}."),
                ));
            }
        },
    };
    let cfg = &shared.scenario.calls;
    let (to, agent_id) = if cfg.list_ignores_filters {
        (None, None)
    } else {
        (q.to.as_deref(), q.agent_id.as_deref())
    };
    let now = clock::now();
    let st = shared.lock();
    let data = st
        .calls
        .list(to, agent_id, limit)
        .into_iter()
        .map(|rec| st.call_json(rec, cfg, now))
        .collect();
    Ok(Json(List { data }).into_response())
}
