//! The invariants, checked over the whole history of one crashed campaign and its rerun:
//! what the journal held at the crash decides what each contact's one outcome must be, and
//! the simulator's own count says nobody was dialled twice.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use redial_campaign::journal::Record;
use redial_campaign::{Contact, ContactOutcome, OutcomeStatus};
use redial_sim::SimHandle;

/// The last thing the journal recorded of a contact when the process died.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Last {
    /// A create may have been sent.
    Started,
    /// The create was answered with this call.
    Placed(String),
    /// The contact's outcome.
    Finished(ContactOutcome),
}

impl Last {
    /// A short name for the case table.
    pub(crate) fn name(last: Option<&Last>) -> &'static str {
        match last {
            None => "none",
            Some(Last::Started) => "started",
            Some(Last::Placed(_)) => "placed",
            Some(Last::Finished(_)) => "finished",
        }
    }
}

/// Each contact's last record in a journal file, by number (a torn last line is skipped, as
/// the journal itself does).
pub(crate) fn file_journal(path: &Path) -> HashMap<String, Last> {
    let text = std::fs::read_to_string(path).expect("the journal exists");
    let mut last = HashMap::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<Record>(line) else {
            continue;
        };
        match record {
            Record::Started { phone, contact, .. } => {
                last.insert(contact.unwrap_or(phone), Last::Started);
            }
            Record::Placed {
                contact, call_id, ..
            } => {
                last.insert(contact, Last::Placed(call_id));
            }
            Record::Finished { result, contact } => {
                last.insert(
                    contact.unwrap_or_else(|| result.phone.clone()),
                    Last::Finished(result),
                );
            }
            Record::Header { .. } => {}
        }
    }
    last
}

/// The outcomes of a results file (a torn last line is skipped: a reader sees it as such).
pub(crate) fn outcomes(path: &Path) -> Vec<ContactOutcome> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Outcomes by number, asserting that each number has one outcome — or several identical
/// ones (`repeats_allowed`: a fleet's crashed process and its successor may both write a
/// contact the journal finished, the same outcome each time).
pub(crate) fn by_number(
    outcomes: &[ContactOutcome],
    repeats_allowed: bool,
) -> BTreeMap<String, ContactOutcome> {
    let mut map: BTreeMap<String, ContactOutcome> = BTreeMap::new();
    for o in outcomes {
        match map.get(&o.phone) {
            None => {
                map.insert(o.phone.clone(), o.clone());
            }
            Some(first) => {
                assert!(repeats_allowed, "{} written twice: {outcomes:#?}", o.phone);
                assert_eq!(first, o, "{} written twice, differently", o.phone);
            }
        }
    }
    map
}

/// How a rerun settles a contact whose create may have gone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settles {
    /// Resent under the same key (honoured) or reconciled with `GET /v1/calls`: completed.
    Yes,
    /// Neither: reported `ambiguous`, never redialled.
    No,
}

/// Asserts, for every contact, that `results` holds its one outcome as the journal's state
/// at the crash (`last`) requires, and that the simulator placed at most one call to it.
pub(crate) fn check(
    contacts: &[Contact],
    last: &HashMap<String, Last>,
    results: &BTreeMap<String, ContactOutcome>,
    settles: Settles,
    sim: &SimHandle,
) {
    assert_eq!(
        results.len(),
        contacts.len(),
        "every contact has an outcome, nothing else does: {results:#?}"
    );
    for c in contacts {
        let phone = &c.phone;
        let r = results
            .get(phone)
            .unwrap_or_else(|| panic!("{phone} has no outcome"));
        let placed = sim.calls_placed_to(phone);
        let state = last.get(&c.key);
        let why = format!("{phone} (journal: {}): {r:?}", Last::name(state));
        assert!(placed <= 1, "{why}: dialled {placed} times");
        match state {
            None => {
                assert_eq!(r.status, OutcomeStatus::Completed, "{why}");
                assert_eq!(placed, 1, "{why}");
            }
            Some(Last::Started) if settles == Settles::Yes => {
                assert_eq!(r.status, OutcomeStatus::Completed, "{why}");
                assert_eq!(placed, 1, "{why}");
            }
            Some(Last::Started) => {
                assert_eq!(r.status, OutcomeStatus::Ambiguous, "{why}");
                assert_eq!(r.call_id, None, "{why}");
            }
            Some(Last::Placed(call_id)) => {
                assert_eq!(r.status, OutcomeStatus::Completed, "{why}");
                assert_eq!(r.call_id.as_ref(), Some(call_id), "{why}: the same call");
                assert_eq!(placed, 1, "{why}");
            }
            Some(Last::Finished(done)) => {
                assert_eq!(r, done, "{why}: re-emitted as recorded");
                // An `ambiguous` contact has no call id; its call may or may not exist.
                if done.call_id.is_some() {
                    assert_eq!(placed, 1, "{why}");
                }
            }
        }
        assert_eq!(r.line, c.line, "{why}");
    }
    let stats = sim.stats();
    assert_eq!(stats.duplicate_dials, 0, "{stats:?}");
    assert!(stats.duplicate_numbers.is_empty(), "{stats:?}");
}
