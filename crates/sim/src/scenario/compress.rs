//! Time compression: the same scenario, `k` times faster, for runs on the real clock.

use std::time::Duration;

use super::{Scenario, TalkTime};

impl Scenario {
    /// This scenario with time running `factor` times faster, for runs on the real clock
    /// (benchmarks, demos) that should keep the shape of a long one: every duration (call
    /// timings and talk times, the quota window, fault windows, outages, latency, hangs) is
    /// divided by `factor` and the request rate multiplied by it; counts (burst, call limit,
    /// quota calls), shares and `sigma` stay. `factor` 0 counts as 1. A `Retry-After` in
    /// seconds keeps its 1 s granularity, so very high factors make waits coarse.
    ///
    /// ```
    /// let s = redial_sim::Scenario::realistic().compressed(60);
    /// assert_eq!(s.quota.window, std::time::Duration::from_secs(180));
    /// assert_eq!(s.limits.requests_per_second, 1200.0);
    /// ```
    pub fn compressed(&self, factor: u32) -> Scenario {
        let k = factor.max(1);
        let d = |x: Duration| x / k;
        let mut s = self.clone();
        s.limits.requests_per_second *= f64::from(k);
        let c = &mut s.calls;
        c.ringing_after = d(c.ringing_after);
        c.answered_after = d(c.answered_after);
        // Left alone when `duration` replaces them (validation wants them at the defaults).
        if c.duration.is_none() {
            c.duration_min = d(c.duration_min);
            c.duration_max = d(c.duration_max);
        }
        for t in [
            &mut c.busy_after,
            &mut c.no_answer_after,
            &mut c.failed_after,
        ] {
            *t = t.map(d);
        }
        c.duration = c.duration.clone().map(|t| match t {
            TalkTime::Uniform { min, max } => TalkTime::Uniform {
                min: d(min),
                max: d(max),
            },
            TalkTime::LogNormal {
                median,
                sigma,
                min,
                max,
            } => TalkTime::LogNormal {
                median: d(median),
                sigma,
                min: d(min),
                max: d(max),
            },
        });
        s.quota.window = d(s.quota.window);
        let f = &mut s.faults;
        f.hang_duration = d(f.hang_duration);
        f.latency = d(f.latency);
        f.latency_jitter = d(f.latency_jitter);
        f.rate_limited_wait = d(f.rate_limited_wait);
        for w in &mut f.scheduled {
            w.start = d(w.start);
            w.end = d(w.end);
        }
        for o in &mut f.outages {
            o.start = d(o.start);
            o.end = d(o.end);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_divides_durations_and_keeps_counts() {
        let r = Scenario::realistic();
        let s = r.compressed(60);
        s.validate().unwrap();
        Scenario::demo().compressed(7).validate().unwrap();
        assert_eq!(
            Scenario::demo().compressed(2).calls.duration_max,
            Duration::from_secs(2)
        );
        assert_eq!(
            s.calls.answered_after,
            Duration::from_millis(166) + Duration::from_nanos(666_666)
        );
        assert_eq!(s.calls.no_answer_after, Some(Duration::from_millis(500)));
        assert_eq!(
            s.calls.duration,
            Some(TalkTime::LogNormal {
                median: Duration::from_millis(1500),
                sigma: 0.8,
                min: Duration::from_secs(5) / 60,
                max: Duration::from_secs(15),
            })
        );
        assert_eq!(s.faults.outages[0].start, Duration::from_secs(5));
        assert_eq!(s.faults.outages[0].end, Duration::from_secs(8));
        assert_eq!(s.faults.outages[0].acted, r.faults.outages[0].acted);
        assert_eq!(s.limits.max_concurrent_calls, r.limits.max_concurrent_calls);
        assert_eq!(s.limits.burst, r.limits.burst);
        assert_eq!(s.quota.calls, r.quota.calls);
        assert_eq!(Scenario::demo().compressed(0).calls, Scenario::demo().calls);
        assert_eq!(
            Scenario::default()
                .compressed(10)
                .limits
                .requests_per_second,
            0.0
        );
    }
}
