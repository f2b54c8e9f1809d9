//! Reconciliation: did a create whose answer was lost place its call?
//!
//! The contract's own advice for "does this call exist" is `GET /v1/calls`. Its filters and
//! page size are **assumed**, so the answer is read defensively: the client filters it itself
//! (destination, agent, and the idempotency key every create carries in its metadata), and
//! concludes "not placed" only when the page provably covers the time since the create was
//! first sent. Anything else is [`Reconciled::Unknown`]: a person must never be dialled twice.

use std::time::{Duration, SystemTime};

use crate::model::{Call, NewCall};

/// Calls asked for per reconciliation list: the contract's default page size, so a server that
/// caps pages at its default still returns a full page when more calls exist.
pub const RECONCILE_LIST_LIMIT: u32 = 100;

/// How far the server's clock may be behind ours. **Assumed**: servers keep NTP time within
/// seconds; five minutes leaves a wide margin. A call created up to this long before the create
/// was first sent (by our clock) still counts as possibly ours.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// What a reconciliation concluded about a create.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconciled {
    /// The create placed this call: adopt it (track it to its end; it holds a call slot).
    Found(Call),
    /// The create placed no call: it is safe to send again, under the same key.
    NotFound,
    /// The answer cannot settle it (a full page of newer calls, a call of this contact whose
    /// metadata is missing): keep the contact ambiguous.
    Unknown,
}

/// Concludes from one page of `GET /v1/calls` (asked with `limit`) whether `call`, sent under
/// `key` at or after `sent_after`, was placed.
pub(crate) fn conclude(
    page: &[Call],
    call: &NewCall,
    key: &str,
    sent_after: SystemTime,
    limit: u32,
) -> Reconciled {
    // The filters are assumed: keep only calls that could be this create's.
    let candidate =
        |c: &&Call| c.to == call.to && c.agent_id.as_deref().is_none_or(|a| a == call.agent_id);
    if let Some(found) = page
        .iter()
        .filter(candidate)
        .find(|c| c.idempotency_key() == Some(key))
    {
        return Reconciled::Found(found.clone());
    }
    let since = sent_after
        .checked_sub(CLOCK_SKEW_MARGIN)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    // A call of this contact, recent enough to be ours, whose key cannot be read (a server
    // that drops metadata): it may be ours.
    let unreadable = page
        .iter()
        .filter(candidate)
        .any(|c| c.idempotency_key().is_none() && c.created_at_time().is_none_or(|t| t >= since));
    if unreadable {
        return Reconciled::Unknown;
    }
    // A page that is not full holds every call the server would list.
    if page.len() < limit as usize {
        return Reconciled::NotFound;
    }
    // A full page: complete back to its oldest call (newest first; read every time anyway).
    let oldest = page
        .iter()
        .map(Call::created_at_time)
        .try_fold(None::<SystemTime>, |oldest, t| {
            t.map(|t| Some(oldest.map_or(t, |o: SystemTime| o.min(t))))
        });
    match oldest {
        Some(Some(oldest)) if oldest < since => Reconciled::NotFound,
        _ => Reconciled::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEY: &str = "k-1";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn call(to: &str, agent: &str, key: Option<&str>, created: u64) -> Call {
        let created_at = humantime::format_rfc3339_seconds(at(created)).to_string();
        let metadata = match key {
            Some(k) => json!({ "redial_idempotency_key": k, "campaign": "c" }),
            None => json!(null),
        };
        serde_json::from_value(json!({
            "id": format!("call_{created}"), "status": "queued", "to": to, "agent_id": agent,
            "created_at": created_at, "metadata": metadata,
        }))
        .unwrap()
    }

    fn new_call() -> NewCall {
        NewCall::new("agent_1", "+447446466847")
    }

    const SENT: u64 = 100_000;

    #[test]
    fn the_call_with_our_key_is_found_whatever_the_server_filtered() {
        let page = vec![
            call("+15550000000", "agent_1", Some(KEY), SENT + 1), // another number: not ours
            call("+447446466847", "agent_1", Some("other"), SENT + 2),
            call("+447446466847", "agent_1", Some(KEY), SENT + 3),
        ];
        let Reconciled::Found(found) = conclude(&page, &new_call(), KEY, at(SENT), 100) else {
            panic!("expected found");
        };
        assert_eq!(found.id, format!("call_{}", SENT + 3));
        // The same key on another number is not this contact's call.
        let page = vec![call("+15550000000", "agent_1", Some(KEY), SENT + 1)];
        assert_eq!(
            conclude(&page, &new_call(), KEY, at(SENT), 100),
            Reconciled::NotFound
        );
    }

    #[test]
    fn a_page_that_is_not_full_proves_not_found() {
        let page = vec![call("+447446466847", "agent_1", Some("other"), SENT + 5)];
        assert_eq!(
            conclude(&page, &new_call(), KEY, at(SENT), 100),
            Reconciled::NotFound
        );
        assert_eq!(
            conclude(&[], &new_call(), KEY, at(SENT), 100),
            Reconciled::NotFound
        );
    }

    #[test]
    fn a_full_page_proves_it_only_back_to_its_oldest_call() {
        let newer: Vec<_> = (0..3)
            .map(|i| call("+15550000000", "agent_1", None, SENT + 10 - i))
            .collect();
        assert_eq!(
            conclude(&newer, &new_call(), KEY, at(SENT), 3),
            Reconciled::Unknown,
            "the create may be just past the page"
        );
        let mut reaching_back = newer.clone();
        reaching_back[2] = call("+15550000000", "agent_1", None, SENT - 3600);
        assert_eq!(
            conclude(&reaching_back, &new_call(), KEY, at(SENT), 3),
            Reconciled::NotFound
        );
        // Within the clock-skew margin is not far enough back.
        reaching_back[2] = call("+15550000000", "agent_1", None, SENT - 60);
        assert_eq!(
            conclude(&reaching_back, &new_call(), KEY, at(SENT), 3),
            Reconciled::Unknown
        );
    }

    #[test]
    fn a_recent_call_of_this_contact_without_metadata_is_unknown() {
        let page = vec![call("+447446466847", "agent_1", None, SENT + 1)];
        assert_eq!(
            conclude(&page, &new_call(), KEY, at(SENT), 100),
            Reconciled::Unknown
        );
        // An old one cannot be this create's.
        let page = vec![call("+447446466847", "agent_1", None, SENT - 3600)];
        assert_eq!(
            conclude(&page, &new_call(), KEY, at(SENT), 100),
            Reconciled::NotFound
        );
    }
}
