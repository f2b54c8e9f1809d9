//! Client-side checks that save a round trip; each matches the server's error code.

use redial_policy::ErrorCode;

/// Longest message body the API accepts, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1_600;
/// Longest system prompt the API accepts, in characters ("about 10,000").
pub const MAX_PROMPT_CHARS: usize = 10_000;
/// Most digits in an E.164 number (ITU-T E.164 §6.1).
const E164_MAX_DIGITS: usize = 15;
/// Fewest digits we accept in an E.164 number (country code and a short subscriber number).
const E164_MIN_DIGITS: usize = 7;

/// A request the client refused before sending, with the code the server would have answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
#[non_exhaustive]
pub struct InvalidInput {
    /// The field at fault (`to`, `from_number`, `body`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
    /// The API error code the server would answer.
    pub code: ErrorCode,
}

impl InvalidInput {
    fn new(field: &'static str, reason: impl Into<String>, code: ErrorCode) -> Self {
        Self {
            field,
            reason: reason.into(),
            code,
        }
    }
}

/// Checks that `number` is E.164: `+`, a non-zero country digit, 7 to 15 digits in all.
///
/// ```
/// assert!(redial_transport::validate::e164("to", "+447446466847").is_ok());
/// assert!(redial_transport::validate::e164("to", "07446 466847").is_err());
/// ```
///
/// # Errors
/// [`InvalidInput`] with code `invalid_phone_format`.
pub fn e164(field: &'static str, number: &str) -> Result<(), InvalidInput> {
    let bad = |why: &str| {
        Err(InvalidInput::new(
            field,
            format!("{why} (expected E.164 like +447446466847)"),
            ErrorCode::InvalidPhoneFormat,
        ))
    };
    let Some(digits) = number.strip_prefix('+') else {
        return bad("does not start with +");
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return bad("holds characters other than digits after +");
    }
    if digits.starts_with('0') {
        return bad("country code starts with 0");
    }
    if !(E164_MIN_DIGITS..=E164_MAX_DIGITS).contains(&digits.len()) {
        return bad("has the wrong number of digits");
    }
    Ok(())
}

/// Checks a Twilio account SID: `AC` followed by 32 hex characters.
///
/// # Errors
/// [`InvalidInput`] with code `invalid_twilio_sid`.
pub fn twilio_sid(sid: &str) -> Result<(), InvalidInput> {
    let ok =
        sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "twilio_account_sid",
            "expected AC followed by 32 hex characters",
            ErrorCode::InvalidTwilioSid,
        ))
    }
}

/// Checks a message body is at most 1,600 characters.
///
/// # Errors
/// [`InvalidInput`] with code `message_too_long`.
pub fn message_body(body: &str) -> Result<(), InvalidInput> {
    let n = body.chars().count();
    if n > MAX_MESSAGE_CHARS {
        return Err(InvalidInput::new(
            "body",
            format!(
                "{n} characters, the limit is {MAX_MESSAGE_CHARS}; split it with sms::split_body or shorten it"
            ),
            ErrorCode::MessageTooLong,
        ));
    }
    Ok(())
}

/// Checks a system prompt is at most 10,000 characters.
///
/// # Errors
/// [`InvalidInput`] with code `prompt_too_long`.
pub fn prompt(prompt: &str) -> Result<(), InvalidInput> {
    let n = prompt.chars().count();
    if n > MAX_PROMPT_CHARS {
        return Err(InvalidInput::new(
            "system_prompt",
            format!("{n} characters, the limit is {MAX_PROMPT_CHARS}"),
            ErrorCode::PromptTooLong,
        ));
    }
    Ok(())
}

/// Checks an id that goes into a URL path is non-empty and has no path or query characters.
///
/// # Errors
/// [`InvalidInput`] with an `invalid_request`-like code.
pub fn path_id(field: &'static str, id: &str) -> Result<(), InvalidInput> {
    // The first character is alphanumeric (or `+` for a number) so that `.` and `..` can never
    // become path segments that URL parsing resolves away.
    let ok = id.len() <= 200
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'+')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            field,
            "must be 1 to 200 characters of letters, digits, '_', '-', '.', '+', starting with a letter, a digit or '+'",
            ErrorCode::from_name("invalid_request"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_cases() {
        for ok in ["+447446466847", "+14155550100", "+3312345"] {
            assert!(e164("to", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "+",
            "447446466847",
            "+44 7446",
            "+0123456789",
            "+1234",
            "+1234567890123456",
            "+44abc",
        ] {
            assert_eq!(
                e164("to", bad).unwrap_err().code,
                ErrorCode::InvalidPhoneFormat,
                "{bad}"
            );
        }
    }

    #[test]
    fn sid_body_prompt() {
        assert!(twilio_sid("AC0123456789abcdef0123456789abcdef").is_ok());
        assert!(twilio_sid("AC0123").is_err());
        assert!(twilio_sid("XX0123456789abcdef0123456789abcdef").is_err());
        assert!(message_body(&"é".repeat(1600)).is_ok());
        assert_eq!(
            message_body(&"a".repeat(1601)).unwrap_err().code,
            ErrorCode::MessageTooLong
        );
        assert_eq!(
            prompt(&"a".repeat(10_001)).unwrap_err().code,
            ErrorCode::PromptTooLong
        );
        assert!(path_id("id", "call_123").is_ok());
        assert!(path_id("id", "../x").is_err());
        assert!(
            path_id("id", ".").is_err(),
            "would resolve to the parent path"
        );
        assert!(path_id("id", "..").is_err());
        assert!(path_id("id", "").is_err());
    }
}
