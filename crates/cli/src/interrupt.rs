//! Ctrl-C and SIGTERM during a campaign: the first stops taking new contacts, lets the calls
//! in flight finish and writes every result (the contacts not dialled are reported `halted`
//! with code `interrupted`); the second exits at once (the journal keeps the progress).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of an interrupted campaign (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: u8 = 130;

/// Whether the operator asked the campaign to stop.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    stopping: Arc<AtomicBool>,
}

impl Interrupt {
    /// Watches for Ctrl-C and SIGTERM on the current runtime.
    pub fn watch() -> Self {
        let interrupt = Self::default();
        let stopping = interrupt.stopping.clone();
        tokio::spawn(async move {
            if signal().await.is_err() {
                return; // No signal handling on this platform: a signal kills, as before.
            }
            stopping.store(true, Ordering::Release);
            eprintln!(
                "interrupted: no new contacts; finishing the calls in flight (Ctrl-C again to stop now)"
            );
            if signal().await.is_ok() {
                std::process::exit(i32::from(INTERRUPTED_EXIT));
            }
        });
        interrupt
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Asks for a stop (tests).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }
}

/// The next Ctrl-C or SIGTERM.
async fn signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
