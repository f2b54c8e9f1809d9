//! Secrets: the API key and the Twilio auth token. Neither ever appears in Debug, Display,
//! logs, metrics or errors.

use std::fmt;

/// Why an API key was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// No `:` separates the key id from the secret (the server would answer
    /// `key_secret_required`).
    #[error("API key has no secret half: expected KEY_ID:KEY_SECRET")]
    MissingSecret,
    /// The id or the secret is empty.
    #[error("API key has an empty {0}: expected KEY_ID:KEY_SECRET")]
    Empty(&'static str),
    /// The key holds whitespace, control or non-ASCII characters (often a pasted newline).
    #[error("API key contains whitespace, control or non-ASCII characters")]
    BadCharacters,
}

/// A Nixflex API key, `key_id:key_secret`.
///
/// ```
/// use redial_transport::ApiKey;
/// let key = ApiKey::parse("key_123:s3cr3t").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert!(ApiKey::parse("key_123").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `Bearer key_id:key_secret`, marked sensitive so the HTTP stack never logs it.
    header: reqwest::header::HeaderValue,
}

impl ApiKey {
    /// Parses `key_id:key_secret`.
    ///
    /// # Errors
    /// [`ApiKeyError`] when the secret half is missing, a half is empty, or the key holds
    /// whitespace or control characters.
    pub fn parse(raw: &str) -> Result<Self, ApiKeyError> {
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiKeyError::BadCharacters);
        }
        let (id, secret) = raw.split_once(':').ok_or(ApiKeyError::MissingSecret)?;
        if id.is_empty() {
            return Err(ApiKeyError::Empty("key id"));
        }
        if secret.is_empty() {
            return Err(ApiKeyError::Empty("secret"));
        }
        let mut header = reqwest::header::HeaderValue::from_str(&format!("Bearer {raw}"))
            .map_err(|_| ApiKeyError::BadCharacters)?;
        header.set_sensitive(true);
        Ok(Self { header })
    }

    /// The `Authorization` header value.
    pub(crate) fn header_value(&self) -> &reqwest::header::HeaderValue {
        &self.header
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A secret string (the Twilio auth token of a number import): serialised into the request
/// body, redacted everywhere else.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_keys() {
        assert_eq!(ApiKey::parse("abc"), Err(ApiKeyError::MissingSecret));
        assert_eq!(ApiKey::parse(":s"), Err(ApiKeyError::Empty("key id")));
        assert_eq!(ApiKey::parse("id:"), Err(ApiKeyError::Empty("secret")));
        assert_eq!(ApiKey::parse("id:sec\n"), Err(ApiKeyError::BadCharacters));
        assert_eq!(
            ApiKey::parse("id:sec").unwrap().header_value(),
            "Bearer id:sec"
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        let key = ApiKey::parse("key_id:topsecret").unwrap();
        assert!(!format!("{key:?}").contains("topsecret"));
        let token = Secret::new("tok_live");
        assert!(!format!("{token:?}").contains("tok_live"));
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"tok_live\"");
    }
}
