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

/// Sends one attempt, bounded by `timeout`, once the in-flight gate gives it a place on the
/// wire (outside the timeout: waiting for one is not the server's time).
///
/// A plain function returning an `async move` block, not an `async fn`: an `async fn` keeps
/// its arguments twice in its state (as captured and as moved-in locals), and this state is in
/// every request's.
#[allow(clippy::manual_async_fn)]
pub(crate) fn send<'a>(
    inner: &'a Inner,
    req: &'a Request<'_>,
    timeout: Duration,
) -> impl Future<Output = Result<Answer, Failure>> + 'a {
    async move {
        let place = inner.in_flight.acquire().await;
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
        let result = match tokio::time::timeout(timeout, exchange(rb.send())).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(timeout)),
        };
        match &result {
            Ok(_) | Err(Failure::Api(_)) => place.answered(req.route),
            Err(Failure::Transport(_)) => place.lost(),
        }
        result
    }
}

/// The attempt timed out (cold, like the other transport-failure constructors here: out of
/// the hot path).
#[cold]
fn timed_out(timeout: Duration) -> Failure {
    Failure::Transport(TransportError::new(
        TransportKind::Timeout,
        true,
        format!("no complete answer within {timeout:?}"),
    ))
}

async fn exchange(
    sent: impl Future<Output = reqwest::Result<reqwest::Response>>,
) -> Result<Answer, Failure> {
    let response = sent
        .await
        .map_err(|e| Failure::Transport(classify_send_error(&e)))?;
    // Read what is needed of the head in a block of its own: a local that was borrowed stays
    // in the future's state across later awaits, and the response moves into its body's read.
    let (status, success, length, response) = {
        let head = response;
        let status = head.status();
        (
            status.as_u16(),
            status.is_success(),
            head.content_length(),
            head,
        )
    };
    // The error path and the rare undeclared-length body are boxed: only the common 2xx read
    // sets the size of every attempt's state.
    if !success {
        return Err(Failure::Api(Box::pin(read_error(response, status)).await));
    }
    // A 2xx: the server acted, so a body we cannot read is a failure that may have acted,
    // never a success and never an unbounded allocation. Read here rather than in a helper
    // future: one level less of nesting.
    match length {
        // The common case: a declared length within bounds, read in one go.
        Some(len) if len <= MAX_SUCCESS_BODY_BYTES as u64 => match response.bytes().await {
            Ok(body) => Ok(Answer { status, body }),
            Err(e) => Err(cut_short(status, &e)),
        },
        Some(_) => Err(too_large(status)),
        None => Box::pin(read_unsized(response, status)).await,
    }
}

/// Reads a 2xx body of undeclared length, chunk by chunk, up to [`MAX_SUCCESS_BODY_BYTES`].
async fn read_unsized(mut response: reqwest::Response, status: u16) -> Result<Answer, Failure> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| cut_short(status, &e))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_SUCCESS_BODY_BYTES {
            return Err(too_large(status));
        }
    }
    Ok(Answer {
        status,
        body: body.freeze(),
    })
}

/// A 2xx body over [`MAX_SUCCESS_BODY_BYTES`].
#[cold]
fn too_large(status: u16) -> Failure {
    Failure::Transport(TransportError::new(
        TransportKind::Decode,
        true,
        format!("HTTP {status} body larger than {MAX_SUCCESS_BODY_BYTES} bytes"),
    ))
}

/// A 2xx body the connection cut short.
#[cold]
fn cut_short(status: u16, e: &reqwest::Error) -> Failure {
    Failure::Transport(TransportError::new(
        TransportKind::Reset,
        true,
        format!("HTTP {status} body cut short: {}", chain(e)),
    ))
}

/// Reads a non-2xx answer (bounded) into a typed API error.
async fn read_error(response: reqwest::Response, status: u16) -> ApiError {
    let headers = response.headers().clone();
    let (body, truncated) = read_bounded(response, MAX_ERROR_BODY_BYTES).await;
    parse_error(status, &headers, &body, truncated)
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
#[cold]
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves `response` (raw bytes, then the connection closes) to one request on loopback and
    /// returns what [`exchange`] makes of it.
    async fn exchange_with(response: Vec<u8>) -> Result<Answer, Failure> {
        serve(response, 0).await.0
    }

    /// Serves `head`, then `chunks` chunks of 1 MiB in chunked encoding and the final chunk,
    /// to one request on loopback. Returns what [`exchange`] makes of it, and whether the
    /// server could write everything (false when the client stopped reading and hung up).
    async fn serve(head: Vec<u8>, chunks: usize) -> (Result<Answer, Failure>, bool) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.expect("read request");
                assert_ne!(n, 0, "client closed before sending its request");
                request.extend_from_slice(&buf[..n]);
            }
            let chunk = [
                format!("{:x}\r\n", 1 << 20).into_bytes(),
                vec![b'x'; 1 << 20],
                b"\r\n".to_vec(),
            ]
            .concat();
            let mut wrote_all = socket.write_all(&head).await.is_ok();
            for _ in 0..chunks {
                wrote_all = wrote_all && socket.write_all(&chunk).await.is_ok();
            }
            if chunks > 0 {
                wrote_all = wrote_all && socket.write_all(b"0\r\n\r\n").await.is_ok();
            }
            let _ = socket.shutdown().await;
            wrote_all
        });
        // No proxy from the environment: the server is on loopback.
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let answer = exchange(http.get(format!("http://{addr}/v1/agents")).send()).await;
        drop(http);
        let wrote_all = server.await.expect("server task");
        (answer, wrote_all)
    }

    fn transport_kind(result: &Result<Answer, Failure>) -> (TransportKind, String) {
        match result {
            Err(Failure::Transport(t)) => (t.kind, t.detail.clone()),
            other => panic!("expected a transport failure, got {other:?}"),
        }
    }

    /// A declared length and a chunked body of undeclared length are both read whole.
    #[tokio::test]
    async fn success_bodies_are_read_whole() {
        let cases: [(&[u8], u16, &[u8]); 2] = [
            (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"data\":[]}",
                200,
                b"{\"data\":[]}",
            ),
            (
                b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"id\"\r\n8\r\n:\"c_1\"}\n\r\n0\r\n\r\n",
                201,
                b"{\"id\":\"c_1\"}\n",
            ),
        ];
        for (response, status, body) in cases {
            let answer = exchange_with(response.to_vec())
                .await
                .unwrap_or_else(|f| panic!("HTTP {status}: {f:?}"));
            assert_eq!(answer.status, status);
            assert_eq!(&answer.body[..], body);
        }
    }

    /// The server declares a length over the limit and sends no body: a client that tried to
    /// read it would fail as cut short (a reset), not as too large.
    #[tokio::test]
    async fn declared_length_over_the_limit_is_refused_unread() {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            MAX_SUCCESS_BODY_BYTES + 1
        );
        let (kind, text) = transport_kind(&exchange_with(head.into_bytes()).await);
        assert_eq!(kind, TransportKind::Decode);
        assert!(text.contains("larger than"), "{text}");
    }

    /// A chunked body far over the limit (64 MiB, more than the loopback socket buffers hold)
    /// is cut off at the limit: the client stops reading and hangs up, so the server cannot
    /// write it all.
    #[tokio::test]
    async fn chunked_body_over_the_limit_stops_at_the_limit() {
        let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        let (result, wrote_all) = serve(head, 64).await;
        let (kind, text) = transport_kind(&result);
        assert_eq!(kind, TransportKind::Decode);
        assert!(text.contains("larger than"), "{text}");
        assert!(!wrote_all, "the client read the whole 64 MiB body");
    }

    #[tokio::test]
    async fn body_cut_short_is_a_reset_that_may_have_acted() {
        let result =
            exchange_with(b"HTTP/1.1 201 Created\r\ncontent-length: 100\r\n\r\n{\"id\":".to_vec())
                .await;
        match &result {
            Err(Failure::Transport(t)) => {
                assert_eq!(t.kind, TransportKind::Reset);
                assert!(t.request_sent, "a 2xx was sent: the server acted");
                assert!(t.detail.contains("HTTP 201 body cut short"), "{}", t.detail);
            }
            other => panic!("expected a reset, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn html_error_page_becomes_a_typed_api_error() {
        let page = b"<html><body>502 Bad Gateway</body></html>";
        let mut response = format!(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\nx-request-id: req_9\r\n\
             retry-after: 7\r\ncontent-length: {}\r\n\r\n",
            page.len()
        )
        .into_bytes();
        response.extend_from_slice(page);
        match exchange_with(response).await {
            Err(Failure::Api(e)) => {
                assert_eq!(e.status, 502);
                assert_eq!(e.body, redial_policy::BodyKind::Html);
                assert_eq!(e.code, None, "an HTML page names no error code");
                assert_eq!(e.request_id.as_deref(), Some("req_9"));
                assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }
}
