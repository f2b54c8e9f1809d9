//! A logical request as the retry loop sees it.

use redial_policy::{Method, RequestInfo};

/// One logical request: everything each attempt needs, built once. Its `Debug` leaves the
/// body out: a number import's body carries the Twilio auth token.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    /// Concrete path with query, e.g. `/v1/calls/call_1`.
    pub(crate) path: String,
    /// Route pattern, a metrics label: `"GET /v1/calls/{id}"`.
    pub(crate) route: &'static str,
    /// Endpoint group (breaker, metrics): `agents`, `numbers`, `calls`, `messages`.
    pub(crate) group: &'static str,
    /// JSON body; `Bytes` so each attempt shares it without copying.
    pub(crate) body: Option<bytes::Bytes>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) agent_id: Option<&'a str>,
    pub(crate) sender: Option<&'a str>,
    /// The call this request concerns, for support reports.
    pub(crate) call_id: Option<&'a str>,
    /// The destination number of a call or message, for support reports.
    pub(crate) to: Option<&'a str>,
    /// Run right before each send (a dialer's journal); an error stops the request unsent.
    pub(crate) before_send: Option<&'a crate::endpoints::BeforeSend<'a>>,
    /// An earlier send of this request (same idempotency key) may have acted: it starts as
    /// "may have acted", so no answer can turn it into a plain failure while the call may be
    /// being placed.
    pub(crate) in_doubt: bool,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("route", &self.route)
            .field("group", &self.group)
            .field("body_bytes", &self.body.as_ref().map(bytes::Bytes::len))
            .finish_non_exhaustive()
    }
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        method: Method,
        path: String,
        route: &'static str,
        group: &'static str,
    ) -> Self {
        Self {
            method,
            path,
            route,
            group,
            body: None,
            idempotency_key: None,
            agent_id: None,
            sender: None,
            call_id: None,
            to: None,
            before_send: None,
            in_doubt: false,
        }
    }

    pub(crate) fn info(&self) -> RequestInfo<'_> {
        RequestInfo {
            method: self.method,
            path: &self.path,
            idempotency_key: self.idempotency_key.is_some(),
            agent_id: self.agent_id,
            sender: self.sender,
        }
    }

    pub(crate) fn method_reqwest(&self) -> reqwest::Method {
        match self.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            _ => reqwest::Method::DELETE,
        }
    }
}
