//! Ctrl-C and SIGTERM during a campaign: the first cancels the campaign (no new contacts; the
//! contacts not dialled are reported `halted` with code `interrupted`; the calls in flight are
//! followed to their end and every result is written); the second exits at once (the journal
//! keeps the progress).

use redial_campaign::CancelHandle;

/// Exit status of an interrupted campaign (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: u8 = 130;

/// Cancels `handle` on the first Ctrl-C or SIGTERM, and exits the process on the second.
/// Spawns a task on the current runtime.
pub fn cancel_on_signal(handle: CancelHandle) {
    tokio::spawn(async move {
        if signal().await.is_err() {
            return; // No signal handling on this platform: a signal kills, as before.
        }
        handle.cancel();
        eprintln!(
            "interrupted: no new contacts; finishing the calls in flight (Ctrl-C again to stop now)"
        );
        if signal().await.is_ok() {
            std::process::exit(i32::from(INTERRUPTED_EXIT));
        }
    });
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
