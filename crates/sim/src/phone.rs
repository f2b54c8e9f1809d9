//! Format checks for phone numbers and Twilio SIDs.

/// E.164: `+`, a non-zero digit, then 6 to 14 more digits.
pub(crate) fn is_e164(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let b = rest.as_bytes();
    (7..=15).contains(&b.len()) && b[0] != b'0' && b.iter().all(u8::is_ascii_digit)
}

/// A Twilio account SID: `AC` followed by 32 hex characters.
pub(crate) fn is_twilio_sid(s: &str) -> bool {
    s.strip_prefix("AC")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+14155550100"));
        assert!(is_e164("+447446466847"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+0415"));
        assert!(!is_e164("+1 415 555"));
        assert!(!is_e164("+"));
    }

    #[test]
    fn sid() {
        assert!(is_twilio_sid("AC0123456789abcdef0123456789abcdef"));
        assert!(!is_twilio_sid("AC0123"));
        assert!(!is_twilio_sid("XX0123456789abcdef0123456789abcdef"));
    }
}
