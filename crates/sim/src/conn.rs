//! Per-connection control: a kill switch handlers can pull to drop their connection with a
//! TCP reset, which is how `reset_before` and `reset_after` faults reach the client; and the
//! count of open connections ([`Connections`]), which a soak test watches for leaks.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Shared between a connection task and the requests on that connection (as a request
/// extension).
#[derive(Debug, Clone, Default)]
pub(crate) struct KillSwitch(Arc<KillInner>);

#[derive(Debug, Default)]
struct KillInner {
    fired: AtomicBool,
    notify: Notify,
}

impl KillSwitch {
    /// Asks the connection task to drop the connection now, with a reset.
    pub(crate) fn fire(&self) {
        self.0.fired.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`KillSwitch::fire`] was called.
    pub(crate) fn is_fired(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }

    /// Completes once the switch is fired.
    pub(crate) async fn fired(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_fired() {
                return;
            }
            notified.await;
        }
    }
}

/// Counts the server's connections: open now (accepted, not yet closed), the most open at
/// once, and accepted in all. Shared by the accept loop and the [`crate::SimHandle`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Connections(Arc<ConnCounts>);

#[derive(Debug, Default)]
struct ConnCounts {
    open: AtomicU64,
    max_open: AtomicU64,
    accepted: AtomicU64,
}

impl Connections {
    /// Counts a newly accepted connection; it counts as open until the guard is dropped.
    pub(crate) fn opened(&self) -> OpenConnection {
        let c = &self.0;
        c.accepted.fetch_add(1, Ordering::Relaxed);
        let open = c.open.fetch_add(1, Ordering::Relaxed) + 1;
        c.max_open.fetch_max(open, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> u64 {
        self.0.open.load(Ordering::Relaxed)
    }

    /// The most connections open at once.
    pub(crate) fn max_open(&self) -> u64 {
        self.0.max_open.load(Ordering::Relaxed)
    }

    /// Connections accepted since start.
    pub(crate) fn accepted(&self) -> u64 {
        self.0.accepted.load(Ordering::Relaxed)
    }
}

/// One open connection of [`Connections`]: held by its task, uncounted when dropped (the
/// connection ended, or its task was aborted at shutdown).
#[derive(Debug)]
pub(crate) struct OpenConnection(Connections);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream that is closed with `SO_LINGER = 0` (an RST, not a FIN) when its kill switch
/// has fired, so the client sees "connection reset" rather than a clean close.
#[derive(Debug)]
pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: KillSwitch,
}

impl KillableStream {
    /// Wraps an accepted stream.
    pub(crate) fn new(inner: TcpStream, kill: KillSwitch) -> Self {
        KillableStream { inner, kill }
    }
}

impl Drop for KillableStream {
    fn drop(&mut self) {
        if self.kill.is_fired() {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
