//! Serving: our own accept loop over hyper's HTTP/1 connections, so a handler can reset its
//! TCP connection (see [`crate::conn`]), plus graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::conn::{Connections, KillSwitch, KillableStream};

/// Pending-connection queue length of the listening socket.
const BACKLOG: u32 = 1024;

/// How long open connections get to finish their requests on shutdown.
const GRACE: Duration = Duration::from_secs(1);

/// Binds `addr` with a generous backlog. Must run inside a tokio runtime.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Completes when shutdown is requested or the handle is gone.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

/// Accepts connections until shutdown, then drains them for at most [`GRACE`]. Each
/// connection counts in `counts` while its task runs.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    counts: Connections,
    mut shutdown: watch::Receiver<bool>,
    done: tokio::sync::oneshot::Sender<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let open = counts.opened();
                    let serve = serve_conn(stream, router.clone(), shutdown.clone());
                    conns.spawn(async move {
                        serve.await;
                        drop(open);
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(GRACE + Duration::from_millis(200), drain).await;
    conns.abort_all();
    let _ = done.send(());
}

/// The hyper service of one connection: the router, with the connection's kill switch put
/// into every request's extensions.
#[derive(Debug, Clone)]
struct ConnService {
    router: Router,
    kill: KillSwitch,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.kill.clone());
        let mut router = self.router.clone();
        tower_service::Service::call(&mut router, req)
    }
}

async fn serve_conn(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let kill = KillSwitch::default();
    let io = TokioIo::new(KillableStream::new(stream, kill.clone()));
    let service = ConnService {
        router,
        kill: kill.clone(),
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = kill.fired() => return,
        () = stopped(&mut shutdown) => conn.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        _ = conn.as_mut() => {}
        () = kill.fired() => {}
        () = tokio::time::sleep(GRACE) => {}
    }
}
