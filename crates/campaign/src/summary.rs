//! The end-of-campaign summary: counts by status and error code, attempts, duration,
//! throughput, peak live calls and throttles.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::outcome::{ContactOutcome, OutcomeStatus as Status};

/// Totals of a campaign, accumulated as results arrive.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Summary {
    /// Contacts by status.
    pub by_status: BTreeMap<Status, u64>,
    /// Contacts by error code (every non-completed contact with an error).
    pub by_code: BTreeMap<String, u64>,
    /// Create attempts over all contacts.
    pub attempts: u64,
    /// Attempts beyond the first (retries, throttles and slot waits that re-sent).
    pub retries: u64,
    /// Contacts re-emitted from the journal instead of being dialled.
    pub resumed: u64,
    /// Halt scopes that stopped contacts (`account`, `agent`, `sender`).
    pub halted_scopes: BTreeMap<String, u64>,
    /// Wall time of the campaign.
    pub duration: Duration,
    /// Most calls live at once, as seen by the client.
    pub max_live_calls: u32,
    /// 429 `rate_limit_exceeded` answers, when known (the embedded simulator counts them).
    pub throttles: Option<u64>,
    /// 429 `concurrent_call_limit` answers, when known.
    pub slot_limit_hits: Option<u64>,
    /// Lowest rate the account bucket was paced at, requests per second.
    pub min_account_rate: Option<f64>,
    /// The operator interrupted the campaign (Ctrl-C or SIGTERM).
    pub interrupted: bool,
    /// When an account pause stopped contacts of this run: the latest time the account may
    /// send again (RFC 3339). Rerun the campaign with its journal after it.
    pub rerun_after: Option<String>,
    /// Contacts of this run whose outcome carries a support report (`error.support`).
    pub support_reports: u64,
}

impl Summary {
    /// Counts one result.
    pub fn add(&mut self, r: &ContactOutcome) {
        self.add_resumed(r);
        if let Some(e) = &r.error {
            if e.support.is_some() {
                self.support_reports += 1;
            }
            if let Some(at) = &e.retry_at
                && self.rerun_after.as_ref().is_none_or(|latest| at > latest)
            {
                self.rerun_after = Some(at.clone());
            }
        }
        if let (Status::Halted, Some(scope)) =
            (r.status, r.error.as_ref().and_then(|e| e.scope.as_ref()))
        {
            *self.halted_scopes.entry(scope.clone()).or_default() += 1;
        }
    }

    /// Counts a result re-emitted from the journal: like [`Summary::add`], but an earlier
    /// run's halt does not count as a halt of this run (exit status 3).
    pub fn add_resumed(&mut self, r: &ContactOutcome) {
        *self.by_status.entry(r.status).or_default() += 1;
        if let Some(e) = &r.error {
            *self.by_code.entry(e.code.clone()).or_default() += 1;
        }
        self.attempts += u64::from(r.attempts);
        self.retries += u64::from(r.attempts.saturating_sub(1));
    }

    /// Contacts counted.
    pub fn total(&self) -> u64 {
        self.by_status.values().sum()
    }

    /// Contacts with this status.
    pub fn count(&self, s: Status) -> u64 {
        self.by_status.get(&s).copied().unwrap_or(0)
    }

    /// Whether an account- or agent-scope halt stopped contacts (exit status 3).
    pub fn halted_campaign(&self) -> bool {
        self.halted_scopes
            .keys()
            .any(|s| s == "account" || s == "agent")
    }

    /// The table printed at the end.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let secs = self.duration.as_secs_f64();
        let rate = if secs > 0.0 {
            self.total() as f64 / secs
        } else {
            0.0
        };
        let _ = writeln!(s, "── campaign summary ─────────────────────────────");
        for status in Status::ALL {
            let _ = writeln!(s, "  {:<22} {:>8}", status.as_str(), self.count(status));
        }
        let _ = writeln!(s, "  {:<22} {:>8}", "total", self.total());
        if self.resumed > 0 {
            let _ = writeln!(s, "  {:<22} {:>8}", "from the journal", self.resumed);
        }
        if !self.by_code.is_empty() {
            let _ = writeln!(s, "  by error code:");
            let mut codes: Vec<_> = self.by_code.iter().collect();
            codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (code, n) in codes {
                let _ = writeln!(s, "    {code:<28} {n:>6}");
            }
        }
        for (scope, n) in &self.halted_scopes {
            let _ = writeln!(s, "  halted by {scope} scope    {n:>8}");
        }
        let _ = writeln!(
            s,
            "  {:<22} {:>8}  ({} retries)",
            "create attempts", self.attempts, self.retries
        );
        let _ = writeln!(s, "  {:<22} {:>8.1} s", "duration", secs);
        let _ = writeln!(s, "  {:<22} {:>8.2}", "contacts/s", rate);
        let _ = writeln!(s, "  {:<22} {:>8}", "max live calls", self.max_live_calls);
        if let Some(t) = self.throttles {
            let _ = writeln!(s, "  {:<22} {:>8}", "throttles (429 rate)", t);
        }
        if let Some(t) = self.slot_limit_hits {
            let _ = writeln!(s, "  {:<22} {:>8}", "slot-limit hits (429)", t);
        }
        if let Some(r) = self.min_account_rate {
            let _ = writeln!(s, "  {:<22} {:>8.1} rps", "lowest paced rate", r);
        }
        if self.support_reports > 0 {
            let _ = writeln!(
                s,
                "  {:<22} {:>8}  (error.support in the results)",
                "support reports", self.support_reports
            );
        }
        if let Some(at) = &self.rerun_after {
            let _ = writeln!(
                s,
                "  the account is paused: rerun with the same journal after {at}"
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ErrorInfo;

    fn account_halt() -> ErrorInfo {
        let mut e = ErrorInfo::new("authentication_error", "invalid_api_key", String::new());
        e.scope = Some("account".into());
        e
    }

    #[test]
    fn an_earlier_runs_halt_does_not_halt_this_run() {
        let halted = ContactOutcome {
            line: 2,
            phone: "+1".into(),
            status: Status::Halted,
            call_id: Some("call_1".into()),
            call_status: None,
            attempts: 1,
            error: Some(Box::new(account_halt())),
        };
        let mut s = Summary::default();
        s.add_resumed(&halted);
        assert!(
            !s.halted_campaign(),
            "re-emitted from the journal: not this run's halt"
        );
        assert_eq!(s.count(Status::Halted), 1);
        s.add(&halted);
        assert!(s.halted_campaign());
    }

    #[test]
    fn counts_statuses_codes_and_halts() {
        let mut sum = Summary::default();
        let mut r = ContactOutcome {
            line: 2,
            phone: "+1".into(),
            status: Status::Completed,
            call_id: None,
            call_status: None,
            attempts: 3,
            error: None,
        };
        sum.add(&r);
        r.status = Status::Halted;
        r.attempts = 1;
        r.error = Some(Box::new(account_halt()));
        sum.add(&r);
        assert_eq!((sum.total(), sum.attempts, sum.retries), (2, 4, 2));
        assert!(sum.halted_campaign());
        let table = sum.render();
        assert!(
            table.contains("invalid_api_key") && table.contains("completed"),
            "{table}"
        );
        r.error.as_mut().unwrap().scope = Some("sender".into());
        let mut only_sender = Summary::default();
        only_sender.add(&r);
        assert!(!only_sender.halted_campaign());
    }
}
