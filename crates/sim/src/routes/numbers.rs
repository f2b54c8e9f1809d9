//! `/v1/phone-numbers`: import a Twilio number onto an agent, delete it.
//!
//! Credential split: an unknown SID gives `twilio_invalid_credentials`; a known SID with the
//! wrong token gives `twilio_auth_failed` with `details.twilio_error = 20003` (what Twilio
//! itself answers for a bad token).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::agents::owned_agent;
use super::body::{JsonObject, required};
use crate::api_error::ApiError;
use crate::phone::{is_e164, is_twilio_sid};
use crate::state::{Shared, State as World};

/// Twilio's "Authenticate" error.
const TWILIO_AUTH_ERROR: u32 = 20003;

/// 400 `invalid_phone_format` for `field`.
pub(super) fn bad_format(field: &str, value: &str) -> ApiError {
    ApiError::invalid(
        "invalid_phone_format",
        format!("{value:?} is not an E.164 number (format like +447446466847)."),
    )
    .detail("field", field)
}

/// Checks the `to` and the optional `from_number` of a call or message are E.164.
pub(super) fn check_to_and_from(to: &str, from: Option<&str>) -> Result<(), ApiError> {
    if !is_e164(to) {
        return Err(bad_format("to", to));
    }
    match from {
        Some(f) if !is_e164(f) => Err(bad_format("from_number", f)),
        _ => Ok(()),
    }
}

/// The sender `from`, when it is imported to the account; else 403 `from_number_not_owned`.
pub(super) fn imported_sender(st: &World, from: &str) -> Result<String, ApiError> {
    if st.numbers.contains_key(from) {
        Ok(from.to_owned())
    } else {
        Err(ApiError::permission(
            "from_number_not_owned",
            format!("{from} is not imported to this account; import it first."),
        )
        .detail("from_number", from))
    }
}

/// `POST /v1/phone-numbers` `{agent_id, phone_number, twilio_account_sid, twilio_auth_token}`.
pub(crate) async fn import(
    State(shared): State<Arc<Shared>>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let JsonObject(b) = body?;
    let agent_id = required(&b, "agent_id")?;
    let number = required(&b, "phone_number")?;
    let sid = required(&b, "twilio_account_sid")?;
    let token = required(&b, "twilio_auth_token")?;
    let mut st = shared.lock();
    owned_agent(&st, agent_id)?;
    if !is_e164(number) {
        return Err(bad_format("phone_number", number));
    }
    if !is_twilio_sid(sid) {
        return Err(ApiError::invalid(
            "invalid_twilio_sid",
            "A Twilio account SID is AC followed by 32 hex characters.",
        )
        .detail("field", "twilio_account_sid"));
    }
    let Some(account) = shared
        .scenario
        .account
        .twilio_accounts
        .iter()
        .find(|a| a.sid == sid)
    else {
        return Err(ApiError::invalid(
            "twilio_invalid_credentials",
            "Twilio rejected the account SID and auth token.",
        )
        .detail("twilio_account_sid", sid));
    };
    if account.auth_token != token {
        return Err(ApiError::invalid(
            "twilio_auth_failed",
            "Twilio could not authenticate with these credentials.",
        )
        .detail("twilio_error", TWILIO_AUTH_ERROR));
    }
    if !account.numbers.iter().any(|n| n == number) {
        return Err(ApiError::invalid(
            "number_not_in_twilio",
            format!("{number} is not in Twilio account {sid}."),
        )
        .detail("phone_number", number));
    }
    match st.numbers.get(number) {
        Some(owner) if owner != agent_id => {
            return Err(ApiError::conflict(
                "number_already_imported",
                format!("{number} is already on agent {owner}; delete it there first."),
            )
            .detail("agent_id", owner.as_str()));
        }
        Some(_) => {}
        None => {
            st.numbers.insert(number.to_owned(), agent_id.to_owned());
            st.counters.numbers_imported += 1;
            if let Some(a) = st.agents.get_mut(agent_id) {
                a.phone_numbers.push(number.to_owned());
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"phone_number": number, "agent_id": agent_id})),
    )
        .into_response())
}

/// `DELETE /v1/phone-numbers/{phone_number}`.
pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut st = shared.lock();
    let Some(agent_id) = st.numbers.remove(&number) else {
        return Err(ApiError::not_found(
            "phone_number_not_found",
            format!("{number} is not imported to this account."),
        ));
    };
    if let Some(a) = st.agents.get_mut(&agent_id) {
        a.phone_numbers.retain(|n| *n != number);
    }
    Ok(StatusCode::NO_CONTENT)
}
