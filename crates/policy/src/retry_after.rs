//! `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

/// Largest delay accepted before it is treated as garbage, seconds (one year, assumed): a
/// delta-seconds value or an HTTP-date this far ahead is a broken header, and the policy's
/// `max_retry_after` refuses far less anyway.
const MAX_DELTA_SECONDS: u64 = 365 * 24 * 60 * 60;

/// Parses a `Retry-After` value into a delay from `now`.
///
/// Returns `None` for garbage, negative or absurdly large numbers and for an HTTP-date more
/// than a year ahead; an HTTP-date in the past gives a zero delay.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use redial_policy::parse_retry_after;
/// assert_eq!(parse_retry_after("3", SystemTime::UNIX_EPOCH), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("-1", SystemTime::UNIX_EPOCH), None);
/// assert_eq!(parse_retry_after("soon", SystemTime::UNIX_EPOCH), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = value.parse().ok()?;
        return (secs <= MAX_DELTA_SECONDS).then(|| Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        // Fractional seconds are not in the RFC but some servers send them.
        return (secs.is_finite() && secs >= 0.0 && secs <= MAX_DELTA_SECONDS as f64)
            .then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let delay = at.duration_since(now).unwrap_or(Duration::ZERO);
    (delay <= Duration::from_secs(MAX_DELTA_SECONDS)).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_in_future_and_past() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    /// Hostile-input finding (issue 15, tests/fuzz_inputs.rs): a delta of two years was refused as garbage,
    /// but an HTTP-date in the year 9999 gave a delay of 8000 years.
    #[test]
    fn a_date_years_ahead_is_garbage_like_a_huge_delta() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            None
        );
        assert_eq!(
            parse_retry_after("Sat, 02 Jan 1971 00:00:00 GMT", now),
            None
        );
        assert_eq!(
            parse_retry_after("Thu, 31 Dec 1970 00:00:00 GMT", now),
            Some(Duration::from_secs(364 * 24 * 60 * 60))
        );
    }

    #[test]
    fn garbage_is_ignored() {
        let now = SystemTime::UNIX_EPOCH;
        for v in [
            "",
            "  ",
            "abc",
            "-5",
            "NaN",
            "inf",
            "99999999999999999999",
            "1e300",
        ] {
            assert_eq!(parse_retry_after(v, now), None, "{v:?}");
        }
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
    }
}
