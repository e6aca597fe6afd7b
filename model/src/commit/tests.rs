//! Checks of the commit and snapshot model: the correct protocol holds (pinned state count),
//! truncating before publishing is caught with a shortest counterexample, the reader property
//! catches a reader that trusts a pin it did not validate, and the GC property a GC that
//! ignores pins.

use super::*;
use crate::checking::{run, CheckOptions};
use crate::{CheckReport, Outcome};

const ACKED: &str = "acknowledged writes survive a crash";
const PREFIX: &str = "recovery gives a prefix of the commit order";
const READER: &str = "readers see only fully published snapshots";
const GC: &str = "GC deletes nothing reachable";

fn check(model: CommitModel) -> CheckReport {
    run(model, "commit".to_string(), CheckOptions::default())
}

fn path(report: &CheckReport, name: &str) -> Vec<crate::Step> {
    match report.outcome(name) {
        Some(Outcome::Counterexample(path)) => path.clone(),
        other => panic!("expected a counterexample to {name}, got {other:?}\n{report}"),
    }
}

#[test]
fn correct_protocol_holds_with_pinned_state_count() {
    let report = check(CommitModel::new(Variant::Correct, 4));
    assert!(report.all_expected(), "{report}");
    assert!(report.complete);
    assert_eq!(report.unique_states, 15_038);
    assert_eq!(report.max_depth, 23);
}

#[test]
fn truncating_before_publishing_loses_acknowledged_writes() {
    let report = check(CommitModel::new(Variant::Buggy, 4));
    // Append, group commit (acknowledged), write the snapshot, delete the segment: a crash
    // now recovers from the old manifest without the acknowledged write.
    let lost = path(&report, ACKED);
    let actions: Vec<_> = lost.iter().filter_map(|s| s.action.as_deref()).collect();
    assert_eq!(
        actions,
        ["Append", "GroupCommit", "WriteSnapshot", "DeleteSegment"]
    );
    assert!(
        lost[4].state.contains("recovery now -> []"),
        "{}",
        lost[4].state
    );
    // With two records, deleting the first leaves a gap recovery refuses.
    let gap = path(&report, PREFIX);
    assert_eq!(gap.len() - 1, 5);
    assert!(gap[5].state.contains("Gap"), "{}", gap[5].state);
    assert_eq!(report.outcome(READER), Some(&Outcome::Holds));
    assert_eq!(report.outcome(GC), Some(&Outcome::Holds));
}

#[test]
fn reader_property_catches_an_unvalidated_pin() {
    let mut model = CommitModel::new(Variant::Correct, 2);
    model.reader_validates_pin = false;
    let report = check(model);
    let race = path(&report, READER);
    let last = race.last().expect("step");
    assert_eq!(last.action.as_deref(), Some("ReaderReadBlob"));
    assert!(race.iter().any(|s| s.action.as_deref() == Some("GcDelete")));
    assert_eq!(report.outcome(ACKED), Some(&Outcome::Holds));
}

#[test]
fn gc_property_catches_a_gc_that_ignores_pins() {
    let mut model = CommitModel::new(Variant::Correct, 2);
    model.gc_respects_pins = false;
    let report = check(model);
    let race = path(&report, GC);
    let last = race.last().expect("step");
    assert_eq!(last.action.as_deref(), Some("GcDelete"));
    assert!(last.state.contains("reader Validated"), "{}", last.state);
}
