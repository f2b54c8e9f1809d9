//! `/v1/agents`: list, fetch, create.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::body::{JsonObject, required};
use crate::api_error::ApiError;
use crate::state::{Agent, Shared, State as World};

/// Longest accepted system prompt, in characters (the docs say "about 10,000").
const MAX_PROMPT_CHARS: usize = 10_000;

#[derive(Serialize)]
struct List<T> {
    data: Vec<T>,
}

/// An agent of this account, or `agent_not_found` / `agent_not_owned`.
pub(super) fn owned_agent<'a>(st: &'a World, id: &str) -> Result<&'a Agent, ApiError> {
    match st.agents.get(id) {
        Some(a) if a.owned => Ok(a),
        Some(_) => Err(ApiError::permission(
            "agent_not_owned",
            format!("Agent {id} belongs to another account."),
        )
        .detail("agent_id", id)),
        None => Err(
            ApiError::not_found("agent_not_found", format!("No agent {id}."))
                .detail("agent_id", id),
        ),
    }
}

/// `GET /v1/agents`: this account's agents.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let data: Vec<&Agent> = st
        .agent_order
        .iter()
        .filter_map(|id| st.agents.get(id))
        .filter(|a| a.owned)
        .collect();
    Json(List { data }).into_response()
}

/// `GET /v1/agents/{id}`.
pub(crate) async fn get_one(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let st = shared.lock();
    match owned_agent(&st, &id) {
        Ok(a) => Json(a).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /v1/agents` `{name, system_prompt, voice_id}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let JsonObject(b) = body?;
    let name = required(&b, "name")?;
    let prompt = required(&b, "system_prompt")?;
    let voice = required(&b, "voice_id")?;
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(ApiError::invalid(
            "prompt_too_long",
            format!("The system prompt has {chars} characters; keep it under {MAX_PROMPT_CHARS}."),
        )
        .detail("field", "system_prompt")
        .detail("max_chars", MAX_PROMPT_CHARS));
    }
    if !shared.scenario.account.voices.iter().any(|v| v == voice) {
        return Err(
            ApiError::invalid("invalid_voice_id", format!("Unknown voice {voice}."))
                .detail("field", "voice_id")
                .detail("voice_id", voice),
        );
    }
    let mut st = shared.lock();
    let agent = Agent {
        id: st.new_id("agent"),
        name: name.to_owned(),
        voice_id: voice.to_owned(),
        phone_numbers: Vec::new(),
        owned: true,
    };
    let resp = (StatusCode::CREATED, Json(&agent)).into_response();
    st.agent_order.push(agent.id.clone());
    st.agents.insert(agent.id.clone(), agent);
    st.counters.agents_created += 1;
    Ok(resp)
}
