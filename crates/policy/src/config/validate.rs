//! Range and rule checks of a parsed [`Config`]; collects every problem.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{ActionName, Config, ConfigError, RuleConfig, ScheduleConfig, error::Problem};
use crate::error::{ErrorCode, ErrorType};
use crate::route::RoutePattern;

/// Longest accepted deadline or timeout: anything longer is a typo (`"10000s"`).
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Most attempts a rule may allow.
const MAX_ATTEMPTS_CEILING: u32 = 100;

pub(super) fn validate(config: &Config) -> Result<(), ConfigError> {
    let mut v = Validator::default();
    let r = &config.retry;
    v.range_u32(
        "retry.max_attempts",
        r.max_attempts,
        1,
        MAX_ATTEMPTS_CEILING,
    );
    v.duration("retry.deadline", r.deadline);
    v.duration("retry.attempt_timeout", r.attempt_timeout);
    v.duration("retry.max_retry_after", r.max_retry_after);
    v.duration("retry.reconcile_settle", r.reconcile_settle);
    v.schedule("backoff.retry", &config.backoff.retry);
    v.schedule("backoff.throttle", &config.backoff.throttle);

    for (name, rule) in &config.types {
        let path = format!("types.{name}");
        v.name(&path, name);
        if let ErrorType::Unknown(_) = ErrorType::from_name(name) {
            // Unknown types are allowed (the API adds them) but must look like one.
        }
        v.rule(&path, rule);
    }
    for (name, rule) in &config.codes {
        let path = format!("codes.{name}");
        v.name(&path, name);
        v.rule(&path, rule);
        if ErrorCode::from_name(name) == ErrorCode::RecipientUnsubscribed
            && rule.action.is_some_and(|a| a != ActionName::Fatal)
        {
            v.problem(
                format!("{path}.action"),
                format!("{:?}", rule.action.map(action_str).unwrap_or_default()),
                "recipient_unsubscribed is a compliance answer (the recipient sent STOP) and is \
                 always fatal: it can never be retried, throttled or waited on",
            );
        }
    }
    for (pattern, route) in &config.routes {
        let path = format!("routes.\"{pattern}\"");
        if let Err(e) = RoutePattern::parse(pattern) {
            v.problem(path.clone(), format!("{pattern:?}"), e.to_string());
        }
        if let Some(n) = route.max_attempts {
            v.range_u32(&format!("{path}.max_attempts"), n, 1, MAX_ATTEMPTS_CEILING);
        }
        if let Some(d) = route.deadline {
            v.duration(&format!("{path}.deadline"), d);
        }
        if let Some(d) = route.attempt_timeout {
            v.duration(&format!("{path}.attempt_timeout"), d);
        }
    }
    v.twilio(config);
    v.limits(config);
    let p = &config.polling;
    v.duration("polling.initial", p.initial);
    v.duration("polling.max", p.max);
    if p.max < p.initial {
        v.problem(
            "polling.max",
            humantime::format_duration(p.max).to_string(),
            "at least polling.initial",
        );
    }
    v.at_least_one("polling.multiplier", p.multiplier);
    v.duration("polling.max_wait", p.max_wait);
    let s = &config.support;
    v.duration("support.provider_window", s.provider_window);
    v.range_u32("support.provider_repeats", s.provider_repeats, 1, 1000);
    v.fleet(&config.fleet);
    v.finish()
}

fn action_str(a: ActionName) -> &'static str {
    match a {
        ActionName::Retry => "retry",
        ActionName::Throttle => "throttle",
        ActionName::WaitSlot => "wait_slot",
        ActionName::Fatal => "fatal",
        ActionName::Halt => "halt",
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn problem(
        &mut self,
        path: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.problems.push(Problem {
            path: path.into(),
            value: value.into(),
            expected: expected.into(),
        });
    }

    fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                problems: self.problems,
            })
        }
    }

    fn range_u32(&mut self, path: &str, value: u32, min: u32, max: u32) {
        if !(min..=max).contains(&value) {
            self.problem(
                path,
                value.to_string(),
                format!("a whole number from {min} to {max}"),
            );
        }
    }

    fn range_f64(&mut self, path: &str, value: f64, min: f64, max: f64, what: &str) {
        if !value.is_finite() || value < min || value > max {
            self.problem(path, value.to_string(), what.to_owned());
        }
    }

    fn positive(&mut self, path: &str, value: f64) {
        if !value.is_finite() || value <= 0.0 {
            self.problem(path, value.to_string(), "a number greater than 0");
        }
    }

    fn at_least_one(&mut self, path: &str, value: f64) {
        self.range_f64(path, value, 1.0, 1000.0, "a number from 1 to 1000");
    }

    fn duration(&mut self, path: &str, d: Duration) {
        if d.is_zero() || d > MAX_DURATION {
            self.problem(
                path,
                format!("\"{}\"", humantime::format_duration(d)),
                "a duration greater than 0 and at most 24h, like \"250ms\" or \"30s\"",
            );
        }
    }

    fn name(&mut self, path: &str, name: &str) {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            self.problem(
                path,
                format!("{name:?}"),
                "a snake_case type or code name, like `server_error`",
            );
        }
    }

    fn schedule(&mut self, path: &str, s: &ScheduleConfig) {
        if s.base > MAX_DURATION {
            self.problem(
                format!("{path}.base"),
                humantime::format_duration(s.base).to_string(),
                "at most 24h",
            );
        }
        self.duration(&format!("{path}.cap"), s.cap);
        if s.cap < s.base {
            self.problem(
                format!("{path}.cap"),
                format!("\"{}\"", humantime::format_duration(s.cap)),
                format!("at least {path}.base"),
            );
        }
        self.at_least_one(&format!("{path}.multiplier"), s.multiplier);
    }

    fn rule(&mut self, path: &str, rule: &RuleConfig) {
        if rule.scope.is_some() && rule.action.is_some_and(|a| a != ActionName::Halt) {
            self.problem(
                format!("{path}.scope"),
                format!("{:?}", rule.scope),
                "a scope only goes with action = \"halt\"",
            );
        }
        if let Some(n) = rule.max_attempts {
            self.range_u32(&format!("{path}.max_attempts"), n, 1, MAX_ATTEMPTS_CEILING);
        }
    }

    fn twilio(&mut self, config: &Config) {
        let t = &config.twilio;
        let mut seen = BTreeSet::new();
        let lists: [(&str, &Vec<u32>); 5] = [
            ("twilio.fatal", &t.fatal),
            ("twilio.opted_out", &t.opted_out),
            ("twilio.throttle", &t.throttle),
            ("twilio.retry", &t.retry),
            ("twilio.halt_sender", &t.halt_sender),
        ];
        for (path, codes) in lists {
            for &code in codes {
                if !seen.insert(code) {
                    self.problem(
                        path,
                        code.to_string(),
                        "each Twilio code may stand in one list only",
                    );
                }
            }
        }
        for code in crate::config::TWILIO_OPTED_OUT_CODES {
            if !t.opted_out.contains(&code) {
                self.problem(
                    "twilio.opted_out",
                    format!("{:?}", t.opted_out),
                    "must contain 21610: a recipient who sent STOP is always opted out",
                );
            }
            for (path, list) in [("twilio.retry", &t.retry), ("twilio.throttle", &t.throttle)] {
                if list.contains(&code) {
                    self.problem(
                        path,
                        code.to_string(),
                        "Twilio 21610 means the recipient unsubscribed (STOP): it is never retried",
                    );
                }
            }
        }
        if matches!(t.default, ActionName::Throttle | ActionName::WaitSlot) {
            self.problem(
                "twilio.default",
                action_str(t.default),
                "one of retry, fatal, halt",
            );
        }
    }

    fn fleet(&mut self, f: &super::FleetSettings) {
        self.range_u32("fleet.share", f.share, 1, 1000);
        self.duration("fleet.lease", f.lease);
        if f.lease < Duration::from_millis(3) {
            self.problem(
                "fleet.lease",
                format!("\"{}\"", humantime::format_duration(f.lease)),
                "at least 3ms (renewed every third of it)",
            );
        }
        self.duration("fleet.claim_timeout", f.claim_timeout);
        if f.claim_timeout < Duration::from_millis(30) {
            self.problem(
                "fleet.claim_timeout",
                format!("\"{}\"", humantime::format_duration(f.claim_timeout)),
                "at least 30ms (renewed every third of it)",
            );
        }
        self.range_u32("fleet.max_deliveries", f.max_deliveries, 1, 1000);
        self.duration("fleet.redis_wait", f.redis_wait);
    }

    fn limits(&mut self, config: &Config) {
        let mut names = BTreeSet::new();
        for (i, b) in config.pacing.buckets.iter().enumerate() {
            let path = format!("pacing.buckets[{i}]");
            if !names.insert(b.name.as_str()) {
                self.problem(
                    format!("{path}.name"),
                    format!("{:?}", b.name),
                    "bucket names must be unique",
                );
            }
            self.name(&format!("{path}.name"), &b.name);
            self.range_f64(
                &format!("{path}.rate"),
                b.rate,
                0.001,
                1_000_000.0,
                "requests per second, from 0.001 to 1000000",
            );
            self.range_u32(&format!("{path}.burst"), b.burst, 1, 1_000_000);
            for pattern in &b.routes {
                if let Err(e) = RoutePattern::parse(pattern) {
                    self.problem(
                        format!("{path}.routes"),
                        format!("{pattern:?}"),
                        e.to_string(),
                    );
                }
            }
        }
        if let Some(d) = config.pacing.max_pause {
            self.duration("pacing.max_pause", d);
        }
        let a = &config.pacing.adaptive;
        self.range_f64(
            "pacing.adaptive.beta",
            a.beta,
            0.01,
            0.99,
            "a number between 0.01 and 0.99",
        );
        self.positive("pacing.adaptive.scale", a.scale);
        self.range_f64(
            "pacing.adaptive.smooth",
            a.smooth,
            0.01,
            1.0,
            "a number between 0.01 and 1",
        );
        self.range_f64(
            "pacing.adaptive.min_rate",
            a.min_rate,
            0.001,
            1_000_000.0,
            "requests per second, from 0.001 to 1000000",
        );
        let f = &config.pacing.in_flight;
        self.range_u32("pacing.in_flight.min", f.min, 1, 1_000_000);
        self.range_u32("pacing.in_flight.max", f.max, 0, 1_000_000);
        if f.max != 0 && f.max < f.min {
            self.problem(
                "pacing.in_flight.max",
                f.max.to_string(),
                format!(
                    "0 (no ceiling) or at least pacing.in_flight.min ({})",
                    f.min
                ),
            );
        }
        self.range_f64(
            "pacing.in_flight.tolerance",
            f.tolerance,
            1.01,
            100.0,
            "a number between 1.01 and 100",
        );

        let s = &config.slots;
        self.range_u32(
            "slots.max_concurrent_calls",
            s.max_concurrent_calls,
            1,
            1_000_000,
        );
        self.range_u32("slots.increase_after", s.increase_after, 1, 1_000_000);
        if let Some(d) = s.max_wait {
            self.duration("slots.max_wait", d);
        }

        let br = &config.breaker;
        self.range_f64(
            "breaker.failure_ratio",
            br.failure_ratio,
            0.01,
            1.0,
            "a share between 0.01 and 1",
        );
        self.duration("breaker.sampling_window", br.sampling_window);
        self.duration("breaker.break_duration", br.break_duration);
        self.range_u32("breaker.min_throughput", br.min_throughput, 1, 1_000_000);
        self.range_u32("breaker.half_open_probes", br.half_open_probes, 1, 1000);

        let bu = &config.budget;
        self.range_f64(
            "budget.ratio",
            bu.ratio,
            0.0,
            1000.0,
            "a share from 0 to 1000",
        );
        if bu.window < Duration::from_secs(1) || bu.window > Duration::from_secs(60) {
            self.problem(
                "budget.window",
                format!("\"{}\"", humantime::format_duration(bu.window)),
                "a duration from 1s to 60s",
            );
        }
        self.positive("budget.retry_cost", bu.retry_cost);
        self.positive("budget.timeout_cost", bu.timeout_cost);
    }
}
