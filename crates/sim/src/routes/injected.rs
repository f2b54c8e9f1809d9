//! The responses of injected faults that do produce a response.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::api_error::ApiError;
use crate::faults::FaultPlan;
use crate::scenario::FaultKind;

/// The page a proxy in front of the API shows when the API is down.
const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The page of a proxy whose upstream is unavailable.
const HTML_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n\
<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";

/// The page of a proxy whose upstream did not answer in time.
const HTML_504: &str = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n\
<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A gateway's HTML error page with status 502, 503 or 504 (anything else is served as 502).
pub(crate) fn gateway_page(status: u16) -> Response {
    let (status, page) = match status {
        503 => (StatusCode::SERVICE_UNAVAILABLE, HTML_503),
        504 => (StatusCode::GATEWAY_TIMEOUT, HTML_504),
        _ => (StatusCode::BAD_GATEWAY, HTML_502),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
        page,
    )
        .into_response()
}

/// The plain-text body of a `non_json` fault.
const PLAIN_500: &str = "Internal Server Error";

/// How long a truncated body waits after its first part before the connection is aborted,
/// so the client has certainly received the headers.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// The response for a fault kind that answers (not resets, hangs, `reset_after` or
/// `rate_limited`); `server_error_after` is a plain 500, sent after the request acted.
pub(crate) fn response(kind: FaultKind, plan: &FaultPlan) -> Response {
    match kind {
        FaultKind::ProviderError => ApiError::provider(
            "provider_unavailable",
            "An upstream provider failed; try again.",
        )
        .detail("provider", "telephony")
        .into_response(),
        FaultKind::OutboundFailed => {
            ApiError::provider("outbound_failed", "Twilio could not place the call.")
                .detail("twilio_error", plan.twilio_error)
                .into_response()
        }
        FaultKind::Html502 => gateway_page(502),
        FaultKind::NonJson => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
            PLAIN_500,
        )
            .into_response(),
        FaultKind::Truncated => truncated(),
        _ => internal().into_response(),
    }
}

fn internal() -> ApiError {
    ApiError::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side.",
    )
}

/// A JSON 500 whose `Content-Length` promises the whole body, of which only the first half
/// is sent before the body stream fails and the server aborts the connection.
fn truncated() -> Response {
    let full = Bytes::from(internal().body_bytes());
    let len = full.len();
    let first = full.slice(..len / 2);
    let stream = futures::stream::unfold(Some(first), |part| async move {
        match part {
            Some(bytes) => Some((Ok(bytes), None)),
            None => {
                tokio::time::sleep(TRUNCATE_PAUSE).await;
                Some((Err(std::io::Error::other("injected truncation")), None))
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}
