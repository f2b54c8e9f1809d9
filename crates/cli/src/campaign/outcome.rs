//! From a contact's fate to its result line. `redial_transport::Error` is matched by variant
//! (never by message text): the variant decides the status, the last failure the code.

use redial_policy::Failure;
use redial_transport::{Call, Error};

use crate::contacts::{Contact, InvalidRow};
use crate::results::{ErrorInfo, ResultLine, Status};

/// A placed call that reached a terminal status.
pub fn completed(contact: &Contact, call: &Call, attempts: u32) -> ResultLine {
    ResultLine {
        line: contact.line,
        phone: contact.phone.clone(),
        status: Status::Completed,
        call_id: Some(call.id.clone()),
        call_status: Some(call.status.as_str().to_owned()),
        attempts,
        error: None,
    }
}

/// A contact whose create failed (`placed` is `None`), or whose call was created but could
/// not be followed to its end (`placed` is the call as created and the create's attempts).
pub fn from_error(contact: &Contact, error: &Error, placed: Option<(&Call, u32)>) -> ResultLine {
    let status = match error {
        Error::Fatal {
            opted_out: true, ..
        } => Status::OptedOut,
        Error::Fatal { .. } => Status::Failed,
        // Halted after an attempt that may have placed the call: reconcile, do not redial.
        Error::Halted { .. } if error.may_have_acted() => Status::Ambiguous,
        Error::Halted { .. } => Status::Halted,
        Error::Ambiguous { .. } => Status::Ambiguous,
        Error::Exhausted { .. }
        | Error::Timeout { .. }
        | Error::CircuitOpen { .. }
        | Error::BudgetExhausted { .. } => Status::Failed,
        Error::InvalidInput(_) | Error::Config(_) => Status::Failed,
        // A variant added to the transport later: the contact did not complete.
        _ => Status::Failed,
    };
    ResultLine {
        line: contact.line,
        phone: contact.phone.clone(),
        status,
        call_id: placed.map(|(c, _)| c.id.clone()),
        call_status: placed.map(|(c, _)| c.status.as_str().to_owned()),
        attempts: placed.map_or_else(|| error.attempts(), |(_, a)| a),
        error: Some(error_info(error)),
    }
}

/// The `error` object of a result line.
pub fn error_info(error: &Error) -> ErrorInfo {
    let last = error.detail().and_then(|d| d.last.as_ref());
    let (error_type, code) = match (error, last) {
        (Error::InvalidInput(i), _) => ("invalid_input".to_owned(), i.code.as_str().to_owned()),
        (_, Some(Failure::Api(api))) => (
            api.error_type
                .as_ref()
                .map_or_else(|| error.outcome().to_owned(), |t| t.as_str().to_owned()),
            api.code
                .as_ref()
                .map_or_else(|| format!("http_{}", api.status), |c| c.as_str().to_owned()),
        ),
        (_, Some(Failure::Transport(t))) => ("transport".to_owned(), t.kind.as_str().to_owned()),
        // Nothing was sent (a halted scope, an open circuit): the runtime's own class.
        (_, None) => (error.outcome().to_owned(), error.outcome().to_owned()),
    };
    ErrorInfo {
        error_type,
        code,
        message: error.to_string(),
        scope: error.halt_scope().map(|s| s.kind().to_owned()),
    }
}

/// A malformed contacts row.
pub fn invalid_row(row: &InvalidRow) -> ResultLine {
    local_failure(
        row.line,
        &row.phone,
        Status::Failed,
        "invalid_request",
        "invalid_input",
        format!("line {}: {}", row.line, row.reason),
    )
}

/// A number that appeared earlier in the file: never dialled twice.
pub fn duplicate(contact: &Contact, first_line: u64) -> ResultLine {
    local_failure(
        contact.line,
        &contact.phone,
        Status::Failed,
        "invalid_request",
        "duplicate_contact",
        format!(
            "line {}: {} is already on line {first_line}; not dialled twice",
            contact.line, contact.phone
        ),
    )
}

/// A number on the suppress list.
pub fn suppressed(contact: &Contact) -> ResultLine {
    local_failure(
        contact.line,
        &contact.phone,
        Status::OptedOut,
        "compliance",
        "suppressed",
        format!("{} is on the suppress list; not dialled", contact.phone),
    )
}

/// A contact not attempted because a halt scope of the campaign tripped.
pub fn not_attempted_halted(contact: &Contact, scope: &str, cause: &str) -> ResultLine {
    let mut r = local_failure(
        contact.line,
        &contact.phone,
        Status::Halted,
        "halted",
        cause,
        format!("not attempted: the {scope} scope is halted ({cause})"),
    );
    if let Some(e) = &mut r.error {
        e.scope = Some(scope.to_owned());
    }
    r
}

/// A contact not dialled because the operator interrupted the campaign: a rerun with the
/// journal dials it.
pub fn interrupted(contact: &Contact) -> ResultLine {
    let mut r = local_failure(
        contact.line,
        &contact.phone,
        Status::Halted,
        "halted",
        "interrupted",
        "not attempted: the campaign was interrupted (Ctrl-C or SIGTERM)".to_owned(),
    );
    if let Some(e) = &mut r.error {
        e.scope = Some("campaign".to_owned());
    }
    r
}

/// A contact whose create may have been sent by an earlier run (journal `started`, no
/// result) while the server is not known to honour idempotency keys: never redialled.
pub fn unfinished_in_journal(contact: &Contact) -> ResultLine {
    local_failure(contact.line, &contact.phone, Status::Ambiguous, "ambiguous", "interrupted", "an earlier run may have placed this call before it stopped; not redialled because idempotency keys are not known to be honoured".to_owned())
}

fn local_failure(
    line: u64,
    phone: &str,
    status: Status,
    error_type: &str,
    code: &str,
    message: String,
) -> ResultLine {
    ResultLine {
        line,
        phone: phone.to_owned(),
        status,
        call_id: None,
        call_status: None,
        attempts: 0,
        error: Some(ErrorInfo {
            error_type: error_type.to_owned(),
            code: code.to_owned(),
            message,
            scope: None,
        }),
    }
}
