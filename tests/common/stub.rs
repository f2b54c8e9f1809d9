//! A scripted HTTP/1.1 server on loopback, for answers the simulator does not give (a `409`
//! for an idempotency key still in use, a create that hangs). One request per connection
//! (`connection: close`); the script sees each request and says what to answer.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) body: String,
}

/// What to answer: a status and a JSON body, or nothing at all (the connection hangs).
pub(crate) enum Reply {
    Json(u16, String),
    Hang,
}

/// A running stub.
pub(crate) struct Stub {
    pub(crate) base_url: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

/// Starts a stub that answers with `script(request, index)`.
pub(crate) async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Stub {
    start_async(move |seen, index| std::future::ready(script(&seen, index))).await
}

/// Starts a stub that answers with what `script(request, index)` comes to (it may take its
/// time, or wait its turn).
pub(crate) async fn start_async<F, A>(script: F) -> Stub
where
    F: Fn(Seen, usize) -> A + Send + Sync + 'static,
    A: std::future::Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (script, log) = (Arc::clone(&script), Arc::clone(&log));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_owned())
                    })
                };
                let length: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let request = Seen {
                    method: first.next().unwrap_or_default().to_owned(),
                    path: first.next().unwrap_or_default().to_owned(),
                    idempotency_key: header("idempotency-key"),
                    body: String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(request.clone());
                    log.len() - 1
                };
                match script(request, index).await {
                    Reply::Json(status, body) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    }
                    Reply::Hang => std::future::pending::<()>().await,
                }
            });
        }
    });
    Stub { base_url, seen }
}

/// A call object as the contract shapes it.
pub(crate) fn call_json(id: &str, to: &str, key: &str) -> String {
    format!(
        r#"{{"id":"{id}","status":"queued","to":"{to}","agent_id":"agent_demo","created_at":"2030-01-01T00:00:00Z","metadata":{{"redial_idempotency_key":"{key}"}}}}"#
    )
}
