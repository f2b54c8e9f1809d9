//! Reading script replies (`redis::Value`) without panics: anything unexpected is
//! [`RedisWorkError::Corrupt`].

use ::redis::Value;

use super::error::RedisWorkError;

/// A reply's text (bulk or simple string).
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

/// A reply's integer (an integer, or a string holding one).
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

/// A reply's array items.
pub(crate) fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// The tag of a reply: its text, or the first item's text for an array.
pub(crate) fn tag(v: &Value) -> Option<String> {
    match v {
        Value::Array(items) => items.first().and_then(text),
        other => text(other),
    }
}

/// A [`RedisWorkError::Corrupt`] for an unreadable reply of `what`.
pub(crate) fn corrupt(what: &'static str, v: &Value) -> RedisWorkError {
    RedisWorkError::Corrupt {
        what,
        detail: format!("unexpected reply {v:?}"),
    }
}
