//! Checks of the frontier model: the correct protocol holds (pinned state count), the
//! equality wait without abort is caught as a liveness failure, and the safety property
//! catches a reader that reads when the frontier merely reaches its time.

use super::*;
use crate::checking::{run, CheckOptions};
use crate::{CheckReport, Outcome};

const COMPLETE: &str = "a reader never sees an incomplete time";
const INVISIBLE: &str = "staged batches stay invisible";
const LIVE: &str = "a crashed producer cannot stall the reader forever";

fn check(model: FrontierModel) -> CheckReport {
    run(model, "frontier".to_string(), CheckOptions::default())
}

fn actions(report: &CheckReport, name: &str) -> Vec<String> {
    match report.outcome(name) {
        Some(Outcome::Counterexample(path)) => {
            path.iter().filter_map(|s| s.action.clone()).collect()
        }
        other => panic!("expected a counterexample to {name}, got {other:?}\n{report}"),
    }
}

#[test]
fn correct_protocol_holds_with_pinned_state_count() {
    let report = check(FrontierModel::new(Variant::Correct, 2));
    assert!(report.all_expected(), "{report}");
    assert!(report.complete);
    assert_eq!(report.unique_states, 1_979);
    assert_eq!(report.max_depth, 14);
}

#[test]
fn equality_wait_without_abort_stalls_the_reader() {
    let report = check(FrontierModel::new(Variant::Buggy, 2));
    // One producer finishes, the other crashes: nobody aborts it and the frontier stays at 0.
    let stall = actions(&report, LIVE);
    assert_eq!(stall.len(), 5, "{stall:?}");
    assert_eq!(stall.last().map(String::as_str), Some("Crash(1)"));
    assert_eq!(report.outcome(COMPLETE), Some(&Outcome::Holds));
    assert_eq!(report.outcome(INVISIBLE), Some(&Outcome::Holds));
}

#[test]
fn equality_wait_stalls_even_without_a_crash() {
    // No producer crashes: the last producer commits [1, 3), so the frontier jumps from 1 to
    // 3 and never equals 2.
    let mut model = FrontierModel::new(Variant::Buggy, 2);
    model.max_crashes = 0;
    let report = check(model);
    let stall = actions(&report, LIVE);
    assert!(!stall.iter().any(|a| a.starts_with("Crash")), "{stall:?}");
    assert_eq!(
        stall.last().map(String::as_str),
        Some("Commit(1)"),
        "{stall:?}"
    );
    let mut model = FrontierModel::new(Variant::Correct, 2);
    model.max_crashes = 0;
    let report = check(model);
    assert_eq!(report.outcome(LIVE), Some(&Outcome::Holds));
    assert_eq!(report.outcome(COMPLETE), Some(&Outcome::Holds));
}

#[test]
fn safety_property_catches_a_reader_that_reads_too_early() {
    let mut model = FrontierModel::new(Variant::Correct, 2);
    model.reader_waits_past_time = false;
    let report = check(model);
    let early = actions(&report, COMPLETE);
    assert!(early.contains(&"Read".to_string()), "{early:?}");
}
