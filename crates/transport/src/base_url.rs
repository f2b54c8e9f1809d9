//! The API's base URL, checked and parsed once when the client is built, and the cheap join of
//! a request path onto it.
//!
//! Parsing a whole URL string costs thousands of instructions (the host goes through IDNA
//! processing); every request of a client shares one scheme, host and port, so only the path
//! and query are set per request, on a copy of the parsed base.

use reqwest::Url;

use crate::error::ClientConfigError;

/// A checked base URL: http or https, no credentials, no query or fragment.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    url: Url,
    /// The base's own path without its trailing `/` (`""` for a bare host), put in front of
    /// every request path.
    prefix: String,
}

impl BaseUrl {
    /// Checks and parses `url`.
    ///
    /// # Errors
    /// [`ClientConfigError::BaseUrl`] naming the URL (credentials masked) and what is wrong.
    pub(crate) fn parse(url: &str) -> Result<Self, ClientConfigError> {
        let bad = |reason: &str| ClientConfigError::BaseUrl {
            url: redact_userinfo(url),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a base URL has no query or fragment"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            // Credentials in the URL would be sent besides the API key, and printed with it.
            return Err(bad(
                "a base URL carries no user or password; the API key authenticates",
            ));
        }
        let prefix = parsed.path().trim_end_matches('/').to_owned();
        Ok(Self {
            url: parsed,
            prefix,
        })
    }

    /// The URL of `path` (which starts with `/` and may carry a `?query`) under this base: the
    /// same URL as parsing the base and the path written one after the other.
    pub(crate) fn join(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let mut url = self.url.clone();
        if self.prefix.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{}{path}", self.prefix));
        }
        url.set_query(query);
        url
    }
}

/// The URL with any `user:password@` part masked, for error messages.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://<redacted>@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_base_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            ("ftp://x", "scheme"),
            ("not a url", "relative URL"),
            ("http://x/?a=1", "no query"),
            ("http://x/#f", "no query or fragment"),
        ] {
            let e = BaseUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(reason), "{url}: {e}");
        }
        let e = BaseUrl::parse("http://user:pw@x/").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
        assert!(e.contains("<redacted>"), "{e}");
    }

    /// The cheap join gives exactly the URL that parsing the concatenated string gives.
    #[test]
    fn join_matches_parsing_the_whole_url() {
        let bases = [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://api.nixflex.example",
            "https://api.nixflex.example/nixflex/",
            "https://api.nixflex.example/a/b",
            "http://[::1]:9000",
        ];
        let paths = [
            "/v1/agents",
            "/v1/calls/call_1",
            "/v1/phone-numbers/+15551234567",
            "/v1/calls?status=completed&limit=10",
            "/v1/agents/a%20b",
            "/v1/agents/a b",
        ];
        for base in bases {
            let parsed = BaseUrl::parse(base).unwrap();
            for path in paths {
                let whole = format!("{}{path}", base.trim_end_matches('/'));
                assert_eq!(
                    parsed.join(path),
                    Url::parse(&whole).unwrap(),
                    "{base} + {path}"
                );
            }
        }
    }
}
