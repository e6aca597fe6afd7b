//! Checks of the frontier model: the correct protocol holds (pinned state count), the
//! equality wait without abort is caught as a liveness failure, and the safety property
//! catches a reader that reads when the frontier merely reaches its time and an aborted
//! producer that commits without a compare-and-set.

use super::*;
use crate::checking::{run, CheckOptions};
use crate::report::expect_counterexample as actions;
use crate::{CheckReport, Outcome};

const COMPLETE: &str = "a reader never sees an incomplete time";
const INVISIBLE: &str = "staged batches stay invisible";
const LIVE: &str = "a crashed producer cannot stall the reader forever";

fn check(model: FrontierModel) -> CheckReport {
    run(model, "frontier".to_string(), CheckOptions::default())
}

#[test]
fn correct_protocol_holds_with_pinned_state_count() {
    let report = check(FrontierModel::new(Variant::Correct, 2));
    assert!(report.all_expected(), "{report}");
    assert!(report.complete);
    assert_eq!(report.unique_states, 12_478);
    assert_eq!(report.max_depth, 18);
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

#[test]
fn safety_property_catches_an_aborted_producer_that_commits_anyway() {
    // A producer pauses past its lease with a staged batch, the controller aborts it and the
    // reader reads; without the compare-and-set the producer resumes and commits under it.
    let mut model = FrontierModel::new(Variant::Correct, 2);
    model.commit_checks_frontier = false;
    let report = check(model);
    let zombie = actions(&report, COMPLETE);
    let paused = zombie
        .iter()
        .find_map(|a| a.strip_prefix("Pause("))
        .expect("a pause")
        .trim_end_matches(')');
    let index = |step: String| zombie.iter().position(|a| *a == step);
    let steps = [
        format!("Pause({paused})"),
        format!("Abort({paused})"),
        format!("Resume({paused})"),
        "Read".to_string(),
    ]
    .map(index);
    assert!(steps.iter().all(Option::is_some), "{zombie:?}");
    assert!(steps.windows(2).all(|pair| pair[0] < pair[1]), "{zombie:?}");
    assert_eq!(zombie.last(), Some(&format!("Commit({paused})")));
}

/// The frontier model with stateright's own `eventually` in place of faultline's liveness
/// property, to cross-check the two on a model where every run ends.
struct WithEventually(FrontierModel);

impl Model for WithEventually {
    type State = FrontierState;
    type Action = FrontierAction;

    fn init_states(&self) -> Vec<FrontierState> {
        self.0.init_states()
    }

    fn actions(&self, state: &FrontierState, actions: &mut Vec<FrontierAction>) {
        self.0.actions(state, actions);
    }

    fn next_state(&self, state: &FrontierState, action: FrontierAction) -> Option<FrontierState> {
        self.0.next_state(state, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually(
            "the reader reads",
            |_: &WithEventually, state: &FrontierState| state.reader != Reader::Waiting,
        )]
    }
}

#[test]
fn stateright_eventually_agrees_with_the_liveness_property() {
    use stateright::Checker;
    for (variant, max_crashes, stalls) in [
        (Variant::Correct, 1, false),
        (Variant::Buggy, 1, true),
        (Variant::Buggy, 0, true),
    ] {
        let mut model = FrontierModel::new(variant, 2);
        model.max_crashes = max_crashes;
        let ours = check(model.clone());
        assert_eq!(
            matches!(ours.outcome(LIVE), Some(Outcome::Counterexample(_))),
            stalls
        );
        let checker = WithEventually(model).checker().spawn_bfs().join();
        assert_eq!(
            checker.discovery("the reader reads").is_some(),
            stalls,
            "{variant} with {max_crashes} crashes"
        );
    }
}
