//! Checks of the versioned-keys model: the correct store holds (pinned state count), the
//! version-from-memory bug is caught both by the version property and by the linearizability
//! tester, and the "not modified" property catches a store answering from a stale copy.

use super::*;
use crate::checking::{run, CheckOptions};
use crate::report::expect_counterexample as actions;
use crate::{CheckReport, Outcome};

const VERSIONS: &str = "versions strictly increase and are never reused";
const NOT_MODIFIED: &str = "not modified is answered only for the current version";
const LINEARIZABLE: &str = "client histories are linearizable";

fn check(model: VersionedModel) -> CheckReport {
    run(model, "versioned".to_string(), CheckOptions::default())
}

#[test]
fn correct_store_holds_with_pinned_state_count() {
    let report = check(VersionedModel::new(Variant::Correct, 2));
    assert!(report.all_expected(), "{report}");
    assert!(report.complete);
    assert_eq!(report.unique_states, 1_134);
    assert_eq!(report.max_depth, 17);
}

#[test]
fn version_from_evicted_memory_is_reused() {
    let report = check(VersionedModel::new(Variant::Buggy, 2));
    // Put is answered version 1, memory evicts the key, the delete gets version 1 again.
    let reuse = actions(&report, VERSIONS);
    assert_eq!(reuse.len(), 8, "{reuse:?}");
    assert_eq!(reuse[5..], ["Evict", "Serve(1)", "Sync"]);
    // The tester sees it once the reused version is answered.
    let answered = actions(&report, LINEARIZABLE);
    assert_eq!(answered.len(), 9, "{answered:?}");
    assert!(matches!(
        report.outcome(LINEARIZABLE),
        Some(Outcome::Counterexample(_))
    ));
    assert_eq!(report.outcome(NOT_MODIFIED), Some(&Outcome::Holds));
}

#[test]
fn not_modified_property_catches_a_stale_memory_copy() {
    let mut model = VersionedModel::new(Variant::Correct, 2);
    model.delete_updates_memory = false;
    let report = check(model);
    let stale = actions(&report, NOT_MODIFIED);
    assert!(stale.contains(&"Send(1)".to_string()), "{stale:?}");
}
