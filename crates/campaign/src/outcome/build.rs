//! From a contact's fate to its outcome. `redial_transport::Error` is matched by variant
//! (never by message text): the variant decides the status, the last failure the code.

use std::time::SystemTime;

use redial_policy::{ErrorType, Failure};
use redial_transport::{Call, Error, PauseInfo};
use serde_json::{Value, json};

use super::{ContactOutcome, ErrorInfo, OutcomeStatus};
use crate::contact::{Contact, InvalidContact};

/// A placed call that reached a terminal status.
pub(crate) fn completed(contact: &Contact, call: &Call, attempts: u32) -> ContactOutcome {
    ContactOutcome {
        line: contact.line,
        phone: contact.phone.clone(),
        status: OutcomeStatus::Completed,
        call_id: Some(call.id.clone()),
        call_status: Some(call.status.as_str().to_owned()),
        attempts,
        error: None,
    }
}

/// The status a request error gives its contact.
pub(crate) fn status_of(error: &Error) -> OutcomeStatus {
    match error {
        Error::Fatal {
            opted_out: true, ..
        } => OutcomeStatus::OptedOut,
        Error::Fatal { .. } => OutcomeStatus::Failed,
        // Halted after an attempt that may have placed the call: reconcile, do not redial.
        Error::Halted { .. } if error.may_have_acted() => OutcomeStatus::Ambiguous,
        Error::Halted { .. } => OutcomeStatus::Halted,
        // Nothing was sent: an account pause longer than the campaign may wait, or a slot
        // wait past `slots.max_wait`. Re-dialable, never failed.
        Error::Paused { .. } | Error::SlotWait { .. } => OutcomeStatus::Halted,
        Error::Ambiguous { .. } => OutcomeStatus::Ambiguous,
        // An endpoint outage the campaign could not wait out: nothing acted, re-dialable.
        Error::CircuitOpen { .. } if error.may_have_acted() => OutcomeStatus::Ambiguous,
        Error::CircuitOpen { .. } => OutcomeStatus::Halted,
        Error::Exhausted { .. } | Error::Timeout { .. } | Error::BudgetExhausted { .. } => {
            OutcomeStatus::Failed
        }
        Error::InvalidInput(_) | Error::Config(_) => OutcomeStatus::Failed,
        // A variant added to the transport later: the contact did not complete.
        _ => OutcomeStatus::Failed,
    }
}

/// A contact whose create failed (`placed` is `None`), or whose call was created but could
/// not be followed to its end (`placed` is the call as created and the create's attempts).
pub(crate) fn from_error(contact: &Contact, error: &Error) -> ContactOutcome {
    ContactOutcome {
        line: contact.line,
        phone: contact.phone.clone(),
        status: status_of(error),
        call_id: None,
        call_status: None,
        attempts: error.attempts(),
        error: Some(Box::new(error_info(contact, error))),
    }
}

/// A contact whose call `call_id` was created but could not be followed to its end: the
/// outcome carries the call id, and no call status (it is not known).
pub(crate) fn call_lost(
    contact: &Contact,
    error: &Error,
    call_id: &str,
    attempts: u32,
) -> ContactOutcome {
    let mut outcome = from_error(contact, error);
    outcome.call_id = Some(call_id.to_owned());
    outcome.attempts = attempts;
    outcome
}

/// The `error` object of an outcome.
pub(crate) fn error_info(contact: &Contact, error: &Error) -> ErrorInfo {
    let last = error.detail().and_then(|d| d.last.as_ref());
    // The answer behind the error: the last one, or for a pause the throttle that caused it.
    let api = error.api_error();
    let (error_type, code) = match (error, last, api) {
        (Error::InvalidInput(i), _, _) => ("invalid_input".to_owned(), i.code.as_str().to_owned()),
        (_, Some(Failure::Transport(t)), _) => ("transport".to_owned(), t.kind.as_str().to_owned()),
        (_, _, Some(api)) => (
            api.error_type
                .as_ref()
                .map_or_else(|| error.outcome().to_owned(), |t| t.as_str().to_owned()),
            api.code
                .as_ref()
                .map_or_else(|| format!("http_{}", api.status), |c| c.as_str().to_owned()),
        ),
        // Nothing was sent (a halted scope, an open circuit): the runtime's own class.
        _ => (error.outcome().to_owned(), error.outcome().to_owned()),
    };
    let paused = matches!(error, Error::Paused { .. });
    ErrorInfo {
        error_type,
        code,
        message: error.to_string(),
        // A pause stops every request of the account.
        scope: if paused {
            Some("account".to_owned())
        } else {
            error.halt_scope().map(|s| s.kind().to_owned())
        },
        details: api.and_then(|a| a.details.clone()),
        doc_url: api.and_then(|a| a.doc_url.clone()),
        retry_at: error.resume_at().map(rfc3339),
        support: support(contact, error),
    }
}

/// The support report of a contact that ended on a `server_error` or `provider_error` (a
/// bare 5xx gateway page included): the transport's, or one built from the last answer.
fn support(contact: &Contact, error: &Error) -> Option<Value> {
    let detail = error.detail()?;
    if let Some(report) = &detail.support {
        return serde_json::to_value(report).ok();
    }
    let Some(Failure::Api(api)) = &detail.last else {
        return None;
    };
    let server_side = matches!(
        api.error_type,
        Some(ErrorType::Server | ErrorType::Provider)
    ) || (api.error_type.is_none() && api.status >= 500);
    server_side.then(|| {
        json!({
            "timestamp": crate::clock::rfc3339_now(),
            "operation": detail.operation,
            "agent_id": Value::Null,
            "to": contact.phone,
            "call_id": Value::Null,
            "request_id": api.request_id,
            "attempts": detail.attempts,
            "error": {
                "type": api.error_type.as_ref().map(|t| t.as_str()),
                "code": api.code.as_ref().map(|c| c.as_str()),
                "message": api.message,
                "details": api.details,
                "doc_url": api.doc_url,
                "status": api.status,
            },
        })
    })
}

/// A wall-clock time as RFC 3339 (UTC, seconds).
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A contact not attempted because the account is paused for longer than the campaign may
/// wait (a quota's `Retry-After`): `halted`, re-dialable after `retry_at`.
pub(crate) fn paused(contact: &Contact, pause: &PauseInfo) -> ContactOutcome {
    let cause = pause.cause.as_ref();
    let mut error = ErrorInfo::new(
        cause
            .and_then(|c| c.error_type.as_ref())
            .map_or("rate_limit_error", |t| t.as_str()),
        cause
            .and_then(|c| c.code.as_ref())
            .map_or("rate_limit_exceeded", |c| c.as_str()),
        format!(
            "not attempted: the account is paused until {} (longer than the campaign may wait); rerun after it",
            rfc3339(pause.resume_at)
        ),
    );
    error.scope = Some("account".to_owned());
    error.retry_at = Some(rfc3339(pause.resume_at));
    error.details = cause.and_then(|c| c.details.clone());
    error.doc_url = cause.and_then(|c| c.doc_url.clone());
    ContactOutcome::without_call(contact.line, &contact.phone, OutcomeStatus::Halted, error)
}

/// A malformed record of the source.
pub(crate) fn invalid(row: &InvalidContact) -> ContactOutcome {
    ContactOutcome::without_call(
        row.line,
        &row.phone,
        OutcomeStatus::Failed,
        ErrorInfo::new(
            "invalid_request",
            "invalid_input",
            format!("line {}: {}", row.line, row.reason),
        ),
    )
}

/// A number that appeared earlier in the source: never dialled twice.
pub(crate) fn duplicate(contact: &Contact) -> ContactOutcome {
    ContactOutcome::without_call(
        contact.line,
        &contact.phone,
        OutcomeStatus::Failed,
        ErrorInfo::new(
            "invalid_request",
            "duplicate_contact",
            format!(
                "line {}: {} is already earlier in the contacts; not dialled twice",
                contact.line, contact.phone
            ),
        ),
    )
}

/// A number on the suppress list.
pub(crate) fn suppressed(contact: &Contact) -> ContactOutcome {
    ContactOutcome::without_call(
        contact.line,
        &contact.phone,
        OutcomeStatus::OptedOut,
        ErrorInfo::new(
            "compliance",
            "suppressed",
            format!("{} is on the suppress list; not dialled", contact.phone),
        ),
    )
}

/// A contact not attempted because a halt scope of the campaign tripped.
pub(crate) fn not_attempted_halted(contact: &Contact, scope: &str, cause: &str) -> ContactOutcome {
    let mut error = ErrorInfo::new(
        "halted",
        cause,
        format!("not attempted: the {scope} scope is halted ({cause})"),
    );
    error.scope = Some(scope.to_owned());
    ContactOutcome::without_call(contact.line, &contact.phone, OutcomeStatus::Halted, error)
}

/// A contact not dialled because the campaign was stopped (its cancel handle: Ctrl-C in the
/// CLI): a rerun with the journal dials it.
pub(crate) fn interrupted(contact: &Contact) -> ContactOutcome {
    let mut error = ErrorInfo::new(
        "halted",
        "interrupted",
        "not attempted: the campaign was stopped (Ctrl-C, SIGTERM or its cancel handle)".to_owned(),
    );
    error.scope = Some("campaign".to_owned());
    ContactOutcome::without_call(contact.line, &contact.phone, OutcomeStatus::Halted, error)
}

/// A contact whose create may have been sent by an earlier run (journal `started`, no
/// result) while the server is not known to honour idempotency keys: never redialled.
pub(crate) fn unfinished_in_journal(contact: &Contact) -> ContactOutcome {
    ContactOutcome::without_call(
        contact.line,
        &contact.phone,
        OutcomeStatus::Ambiguous,
        ErrorInfo::new(
            "ambiguous",
            "interrupted",
            "an earlier run may have placed this call before it stopped; not redialled because idempotency keys are not known to be honoured".to_owned(),
        ),
    )
}
