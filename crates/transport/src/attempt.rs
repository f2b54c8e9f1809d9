//! One attempt on the wire: send, read a bounded body, and turn every outcome into either the
//! answer's bytes or a typed [`Failure`].

// A `Failure` (an `ApiError` with its optional fields) is large, but it is the cold path and is
// handed to the policy at once; boxing it would cost an allocation on every failed attempt.
#![allow(clippy::result_large_err)]

use std::error::Error as _;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use redial_policy::{
    ApiError, Failure, MAX_ERROR_BODY_BYTES, ResponseMeta, TransportError, TransportKind,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use crate::client::Inner;
use crate::clock;
use crate::request::Request;

/// Largest successful body read (list endpoints); a larger one is a decode failure, never an
/// unbounded allocation.
const MAX_SUCCESS_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Header carrying the server's request id.
const REQUEST_ID: &str = "x-request-id";
/// Header carrying the idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// Sends one attempt, bounded by `timeout`.
pub(crate) async fn send(
    inner: &Inner,
    req: &Request<'_>,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let url = inner.base_url.join(&req.path);
    let mut rb = inner
        .http
        .request(req.method_reqwest(), url)
        .header(AUTHORIZATION, inner.key.header_value().clone());
    if let Some(body) = &req.body {
        rb = rb
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
    }
    if let Some(key) = &req.idempotency_key {
        rb = rb.header(IDEMPOTENCY_KEY, key.as_str());
    }
    // `send` only builds the request; the exchange runs when polled, under the timeout. The
    // future holds the sent request, not the builder, to stay small.
    match tokio::time::timeout(timeout, exchange(rb.send())).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Transport(TransportError::new(
            TransportKind::Timeout,
            true,
            format!("no complete answer within {timeout:?}"),
        ))),
    }
}

async fn exchange(
    sent: impl Future<Output = reqwest::Result<reqwest::Response>>,
) -> Result<Answer, Failure> {
    let response = sent
        .await
        .map_err(|e| Failure::Transport(classify_send_error(&e)))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return read_success(response, status).await;
    }
    let headers = response.headers().clone();
    let (body, truncated) = read_bounded(response, MAX_ERROR_BODY_BYTES).await;
    Err(Failure::Api(parse_error(
        status, &headers, &body, truncated,
    )))
}

/// Reads a 2xx body. The server acted, so a body we cannot read is a failure that may have
/// acted, never a success and never an unbounded allocation.
async fn read_success(response: reqwest::Response, status: u16) -> Result<Answer, Failure> {
    let too_large = || {
        Failure::Transport(TransportError::new(
            TransportKind::Decode,
            true,
            format!("HTTP {status} body larger than {MAX_SUCCESS_BODY_BYTES} bytes"),
        ))
    };
    let cut_short = |e: &reqwest::Error| {
        Failure::Transport(TransportError::new(
            TransportKind::Reset,
            true,
            format!("HTTP {status} body cut short: {}", chain(e)),
        ))
    };
    match response.content_length() {
        // The common case: a declared length within bounds, read in one go.
        Some(len) if len <= MAX_SUCCESS_BODY_BYTES as u64 => {
            let body = response.bytes().await.map_err(|e| cut_short(&e))?;
            Ok(Answer { status, body })
        }
        Some(_) => Err(too_large()),
        None => {
            let mut response = response;
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| cut_short(&e))? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_SUCCESS_BODY_BYTES {
                    return Err(too_large());
                }
            }
            Ok(Answer {
                status,
                body: body.freeze(),
            })
        }
    }
}

/// Reads at most `limit + 1` bytes of an error body (enough to tell it was too large);
/// `truncated` when the connection ended mid-body.
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> (BytesMut, bool) {
    let mut body = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > limit {
                    return (body, false);
                }
            }
            Ok(None) => return (body, false),
            Err(_) => return (body, true),
        }
    }
}

fn parse_error(status: u16, headers: &HeaderMap, body: &[u8], truncated: bool) -> ApiError {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let meta = ResponseMeta {
        retry_after: text(RETRY_AFTER.as_str()),
        request_id: text(REQUEST_ID),
        content_type: text(CONTENT_TYPE.as_str()),
        truncated,
    };
    ApiError::parse(status, meta, body, clock::wall_now())
}

/// Maps a reqwest send error to a transport failure, deciding whether the request may have
/// reached the server. Only a connect failure proves it did not.
fn classify_send_error(e: &reqwest::Error) -> TransportError {
    let detail = chain(e);
    let lower = detail.to_ascii_lowercase();
    if e.is_connect() {
        let kind = if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            TransportKind::Tls
        } else {
            TransportKind::Connect
        };
        return TransportError::new(kind, false, detail);
    }
    if e.is_timeout() {
        return TransportError::new(TransportKind::Timeout, true, detail);
    }
    if e.is_body() || e.is_decode() {
        return TransportError::new(TransportKind::Decode, true, detail);
    }
    if lower.contains("reset")
        || lower.contains("closed")
        || lower.contains("incomplete")
        || lower.contains("broken pipe")
    {
        return TransportError::new(TransportKind::Reset, true, detail);
    }
    TransportError::new(TransportKind::Other, true, detail)
}

/// The error and its sources, one line (reqwest errors never include headers, so no key).
fn chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
