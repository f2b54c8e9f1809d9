//! `POST /v1/messages`: SMS with the compliance checks.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::agents::owned_agent;
use super::body::{JsonObject, optional, required};
use super::calls::unsubscribed;
use super::numbers::{check_to_and_from, imported_sender};
use crate::api_error::ApiError;
use crate::state::Shared;

/// Longest message body, in characters.
const MAX_BODY_CHARS: usize = 1600;

/// `POST /v1/messages` `{to, body, from_number?, agent_id?}`.
///
/// Without `from_number` the sender is the agent's first number, or else the account's
/// first imported number (in sorted order).
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let JsonObject(b) = body?;
    let to = required(&b, "to")?;
    let text = required(&b, "body")?;
    let from = optional(&b, "from_number")?;
    let agent_id = optional(&b, "agent_id")?;
    let chars = text.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(ApiError::invalid(
            "message_too_long",
            format!("The body has {chars} characters; the limit is {MAX_BODY_CHARS}."),
        )
        .detail("field", "body")
        .detail("max_chars", MAX_BODY_CHARS));
    }
    check_to_and_from(to, from)?;
    let account = &shared.scenario.account;
    let mut st = shared.lock();
    let agent_number = match agent_id {
        Some(id) => owned_agent(&st, id)?.phone_numbers.first().cloned(),
        None => None,
    };
    let from_number = match from {
        Some(f) => imported_sender(&st, f)?,
        None => match agent_number.or_else(|| st.numbers.keys().min().cloned()) {
            Some(n) => n,
            None => return Err(ApiError::body("from_number", "No number to send from.")),
        },
    };
    if from_number.starts_with("+1") && !account.a2p_registered.contains(&from_number) {
        return Err(ApiError::invalid(
            "sms_not_supported_in_region",
            format!("{from_number} is a US number without A2P 10DLC registration."),
        )
        .detail("from_number", from_number));
    }
    if account.opted_out.iter().any(|n| n == to) {
        return Err(unsubscribed(to));
    }
    let id = st.new_id("msg");
    st.counters.messages_created += 1;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "status": "queued", "to": to, "from_number": from_number})),
    )
        .into_response())
}
