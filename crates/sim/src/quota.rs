//! The call quota per fixed window (`[quota]`).

use std::time::Duration;

use crate::scenario::QuotaConfig;
use crate::store::nanos;

/// Calls placed in the current quota window.
#[derive(Debug, Default)]
pub(crate) struct QuotaState {
    /// Index of the window `used` counts in.
    window: u64,
    used: u64,
}

impl QuotaState {
    /// Moves to the window containing `elapsed` (since start), starting its count at 0.
    fn roll(&mut self, cfg: &QuotaConfig, elapsed: Duration) {
        let len = nanos(cfg.window).max(1);
        let index = nanos(elapsed) / len;
        if index != self.window {
            self.window = index;
            self.used = 0;
        }
    }

    /// `Err(time left in the window)` when the quota of the window is used up.
    pub(crate) fn check(&mut self, cfg: &QuotaConfig, elapsed: Duration) -> Result<(), Duration> {
        if cfg.calls == 0 {
            return Ok(());
        }
        self.roll(cfg, elapsed);
        if self.used < cfg.calls {
            return Ok(());
        }
        let len = nanos(cfg.window).max(1);
        let end = (self.window + 1).saturating_mul(len);
        Err(Duration::from_nanos(end.saturating_sub(nanos(elapsed))))
    }

    /// Counts one call placed.
    pub(crate) fn use_one(&mut self, cfg: &QuotaConfig, elapsed: Duration) {
        if cfg.calls == 0 {
            return;
        }
        self.roll(cfg, elapsed);
        self.used += 1;
    }

    /// Calls placed in the window containing `elapsed`.
    pub(crate) fn used(&mut self, cfg: &QuotaConfig, elapsed: Duration) -> u64 {
        if cfg.calls == 0 {
            return 0;
        }
        self.roll(cfg, elapsed);
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_until_the_window_ends() {
        let cfg = QuotaConfig {
            calls: 2,
            window: Duration::from_secs(3600),
        };
        let mut q = QuotaState::default();
        let at = Duration::from_secs;
        assert!(q.check(&cfg, at(10)).is_ok());
        q.use_one(&cfg, at(10));
        q.use_one(&cfg, at(20));
        assert_eq!(q.check(&cfg, at(600)), Err(at(3000)));
        assert_eq!(q.used(&cfg, at(600)), 2);
        assert!(q.check(&cfg, at(3600)).is_ok(), "a new window");
        assert_eq!(q.used(&cfg, at(3600)), 0);
    }

    #[test]
    fn off_by_default() {
        let mut q = QuotaState::default();
        let cfg = QuotaConfig::default();
        for _ in 0..10 {
            q.use_one(&cfg, Duration::ZERO);
        }
        assert!(q.check(&cfg, Duration::ZERO).is_ok());
    }
}
