//! A loopback TCP proxy in front of the simulator that can lose traffic on cue: every byte
//! from the client to the server ([`Cut::Requests`]: the server never sees the request) or
//! from the server to the client ([`Cut::Answers`]: the server acted, its answer never
//! arrives), from the moment it is cut until it is healed. It reports the moment the lost
//! bytes name a given number (the create of that contact, or its answer): the crash point
//! "after the send, before the answer".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use super::trap::Hits;

/// Which way traffic is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Client to server: the server never sees what is sent.
    Requests,
    /// Server to client: the server acts, the client never hears.
    Answers,
}

/// A cut in force: the direction, the number to report, where to report it.
#[derive(Debug)]
struct Armed {
    cut: Cut,
    phone: String,
    hits: Hits,
    reported: bool,
}

/// The proxy: cheap to clone, lives as long as the runtime it was started on.
#[derive(Debug, Clone)]
pub(crate) struct Proxy {
    addr: SocketAddr,
    armed: Arc<Mutex<Option<Armed>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let armed = Arc::new(Mutex::new(None));
        let proxy = Proxy { addr, armed };
        let accepting = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_rx, client_tx) = client.into_split();
                let (server_rx, server_tx) = server.into_split();
                tokio::spawn(accepting.clone().pump(client_rx, server_tx, Cut::Requests));
                tokio::spawn(accepting.clone().pump(server_rx, client_tx, Cut::Answers));
            }
        });
        proxy
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on loses every byte going the `cut` way, and reports `phone` on `hits` once
    /// the lost bytes of one connection name it.
    pub(crate) fn cut(&self, cut: Cut, phone: &str, hits: Hits) {
        *self.lock() = Some(Armed {
            cut,
            phone: phone.to_owned(),
            hits,
            reported: false,
        });
    }

    /// Forwards everything again (what was lost stays lost).
    pub(crate) fn heal(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Armed>> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Copies `from` to `to` (the `way` direction), losing what a cut of that way says.
    async fn pump(self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf, way: Cut) {
        let mut lost = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let lose = match self.lock().as_mut() {
                Some(armed) if armed.cut == way => {
                    lost.extend_from_slice(&buf[..n]);
                    let needle = armed.phone.as_bytes();
                    if !armed.reported && lost.windows(needle.len()).any(|w| w == needle) {
                        armed.reported = true;
                        let _ = armed.hits.send(armed.phone.clone());
                    }
                    true
                }
                _ => false,
            };
            if !lose && to.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }
}
