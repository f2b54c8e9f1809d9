//! Range and cross-field checks of a parsed scenario.

use super::{CallsConfig, Scenario, TalkTime};
use crate::error::SimError;
use crate::phone::is_e164;

fn invalid(key: &str, value: impl std::fmt::Debug, reason: &str) -> SimError {
    SimError::Invalid {
        key: key.to_owned(),
        value: format!("{value:?}"),
        reason: reason.to_owned(),
    }
}

fn rate(key: &str, v: f64) -> Result<(), SimError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(key, v, "a rate must be between 0 and 1"))
    }
}

fn numbers<'a>(key: &str, list: impl IntoIterator<Item = &'a String>) -> Result<(), SimError> {
    for n in list {
        if !is_e164(n) {
            return Err(invalid(key, n, "numbers must be E.164, like +14155550100"));
        }
    }
    Ok(())
}

/// Statuses a gateway outage page may have.
const OUTAGE_STATUSES: [u16; 3] = [502, 503, 504];

/// Largest `sigma` of a log-normal talk time accepted (a spread beyond this is not a call
/// length distribution any more; assumed).
const MAX_SIGMA: f64 = 5.0;

/// Checks `calls.duration` (and that it is not combined with `duration_min`/`duration_max`).
fn talk_time(c: &CallsConfig) -> Result<(), SimError> {
    let Some(d) = &c.duration else {
        return Ok(());
    };
    let defaults = CallsConfig::default();
    if c.duration_min != defaults.duration_min || c.duration_max != defaults.duration_max {
        return Err(invalid(
            "calls.duration",
            d,
            "set either calls.duration or calls.duration_min/duration_max, not both",
        ));
    }
    match d {
        TalkTime::Uniform { min, max } => {
            if min > max {
                return Err(invalid(
                    "calls.duration.min",
                    min,
                    "must not exceed calls.duration.max",
                ));
            }
        }
        TalkTime::LogNormal {
            median,
            sigma,
            min,
            max,
        } => {
            if median.is_zero() {
                return Err(invalid("calls.duration.median", median, "must be > 0"));
            }
            if !(sigma.is_finite() && *sigma > 0.0 && *sigma <= MAX_SIGMA) {
                return Err(invalid(
                    "calls.duration.sigma",
                    sigma,
                    "must be > 0 and at most 5",
                ));
            }
            if !(min <= median && median <= max) {
                return Err(invalid(
                    "calls.duration.median",
                    median,
                    "must lie between calls.duration.min and calls.duration.max",
                ));
            }
        }
    }
    Ok(())
}

/// Validates a whole scenario; see [`Scenario::validate`].
pub(super) fn scenario(s: &Scenario) -> Result<(), SimError> {
    let l = &s.limits;
    if !l.requests_per_second.is_finite() || l.requests_per_second < 0.0 {
        return Err(invalid(
            "limits.requests_per_second",
            l.requests_per_second,
            "must be a finite number >= 0 (0 = unlimited)",
        ));
    }
    let c = &s.calls;
    if c.ringing_after > c.answered_after {
        return Err(invalid(
            "calls.ringing_after",
            c.ringing_after,
            "must not be later than calls.answered_after",
        ));
    }
    if c.duration_min > c.duration_max {
        return Err(invalid(
            "calls.duration_min",
            c.duration_min,
            "must not exceed calls.duration_max",
        ));
    }
    talk_time(c)?;
    let o = &c.outcomes;
    if u64::from(o.completed) + u64::from(o.busy) + u64::from(o.no_answer) + u64::from(o.failed)
        == 0
    {
        return Err(invalid(
            "calls.outcomes",
            o,
            "at least one weight must be > 0",
        ));
    }
    let f = &s.faults;
    for kind in super::FaultKind::ALL {
        rate(&format!("faults.{}", kind.as_str()), f.rate(kind))?;
    }
    if f.outbound_failed > 0.0 && f.twilio_errors.is_empty() {
        return Err(invalid(
            "faults.twilio_errors",
            &f.twilio_errors,
            "needs at least one code when faults.outbound_failed > 0",
        ));
    }
    for (i, w) in f.scheduled.iter().enumerate() {
        rate(&format!("faults.scheduled[{i}].rate"), w.rate)?;
        if w.start >= w.end {
            return Err(invalid(
                &format!("faults.scheduled[{i}].start"),
                w.start,
                "must be before end",
            ));
        }
    }
    for (i, w) in f.first.iter().enumerate() {
        if w.count == 0 {
            return Err(invalid(
                &format!("faults.first[{i}].count"),
                w.count,
                "must be at least 1",
            ));
        }
    }
    for (i, o) in f.outages.iter().enumerate() {
        rate(&format!("faults.outages[{i}].rate"), o.rate)?;
        rate(&format!("faults.outages[{i}].acted"), o.acted)?;
        if o.start >= o.end {
            return Err(invalid(
                &format!("faults.outages[{i}].start"),
                o.start,
                "must be before end",
            ));
        }
        if !OUTAGE_STATUSES.contains(&o.status) {
            return Err(invalid(
                &format!("faults.outages[{i}].status"),
                o.status,
                "must be 502, 503 or 504",
            ));
        }
    }
    let q = &s.quota;
    if q.calls > 0 && q.window.is_zero() {
        return Err(invalid(
            "quota.window",
            q.window,
            "must be longer than 0 when quota.calls > 0",
        ));
    }
    let a = &s.account;
    for (i, t) in a.twilio_accounts.iter().enumerate() {
        if !crate::phone::is_twilio_sid(&t.sid) {
            return Err(invalid(
                &format!("account.twilio_accounts[{i}].sid"),
                &t.sid,
                "must be AC followed by 32 hex characters",
            ));
        }
        numbers(&format!("account.twilio_accounts[{i}].numbers"), &t.numbers)?;
    }
    for (i, ag) in a.agents.iter().enumerate() {
        numbers(
            &format!("account.agents[{i}].phone_numbers"),
            &ag.phone_numbers,
        )?;
    }
    numbers("account.a2p_registered", &a.a2p_registered)?;
    numbers("account.opted_out", &a.opted_out)?;
    Ok(())
}
