//! `/v1/calls`: create (holding a concurrent-call slot), fetch with the current status, list.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::agents::owned_agent;
use super::body::{JsonObject, optional, required};
use super::numbers::{check_to_and_from, imported_sender};
use crate::api_error::ApiError;
use crate::clock;
use crate::lifecycle::Timeline;
use crate::state::{Call, CallView, Shared};

#[derive(Serialize)]
struct List<'a> {
    data: Vec<CallView<'a>>,
}

/// `POST /v1/calls` `{agent_id, to, from_number?, metadata?}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let JsonObject(b) = body?;
    let agent_id = required(&b, "agent_id")?;
    let to = required(&b, "to")?;
    let from = optional(&b, "from_number")?;
    check_to_and_from(to, from)?;
    let account = &shared.scenario.account;
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
    st.live.prune(now);
    let max = shared.scenario.limits.max_concurrent_calls;
    if max > 0 && st.live.len() >= max as usize {
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
    let timeline = Timeline::draw(&shared.scenario.calls, &mut st.rng);
    let end = now + timeline.end_at;
    if end > now {
        st.live.add(end);
    }
    if !st.dialled.insert(to.to_owned()) {
        st.counters.duplicate_dials += 1;
    }
    st.counters.calls_created += 1;
    let call = Call {
        id: st.new_id("call"),
        to: to.to_owned(),
        from_number,
        agent_id: agent_id.to_owned(),
        created: now,
        created_at: humantime::format_rfc3339_millis(st.wall_at(now)).to_string(),
        metadata: b.get("metadata").cloned().unwrap_or(Value::Null),
        timeline,
    };
    let resp = (StatusCode::CREATED, Json(call.view(now))).into_response();
    st.push_call(call);
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
    match st.calls.get(&id) {
        Some(c) => Ok(Json(c.view(now)).into_response()),
        None => Err(
            ApiError::not_found("call_not_found", format!("No call {id}.")).detail("call_id", id),
        ),
    }
}

/// `GET /v1/calls`: the latest calls, newest first.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Response {
    let now = clock::now();
    let st = shared.lock();
    let data = st
        .call_order
        .iter()
        .rev()
        .filter_map(|id| st.calls.get(id))
        .map(|c| c.view(now))
        .collect();
    Json(List { data }).into_response()
}
