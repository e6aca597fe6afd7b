//! End-to-end soaks with real processes and real FUSE mounts (CI runs them as root with
//! /dev/fuse): the reference store passes a soak with kills and power cuts; a store that
//! acknowledges before fsync is caught by a power cut and its bundle replays; a malformed
//! bundle gives a clear error; nothing is left behind.
//!
//! The tests share the process-wide registries of mounts and process groups, so they take a
//! lock and run one at a time.

use std::sync::Mutex;
use std::time::Duration;

use nemesis::runner::bundle::BundleError;
use nemesis::runner::checks::CheckStatus;
use nemesis::runner::cleanup::registered_mounts;
use nemesis::runner::keep::{check_bundle, replay};
use nemesis::runner::process::live_groups;
use nemesis::runner::report::BundleIndex;
use nemesis::runner::schedule::FaultKind;
use nemesis::runner::{soak, RunConfig, Shard, SoakOptions};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn reference_store() -> String {
    format!("{} --dir {{dir}}", env!("CARGO_BIN_EXE_store-under-test"))
}

fn naive_store() -> String {
    format!("{} --dir {{dir}}", env!("CARGO_BIN_EXE_naive-store"))
}

/// No mount, process group or temporary run directory of faultline is left.
fn assert_nothing_left() {
    assert!(
        live_groups().is_empty(),
        "processes left: {:?}",
        live_groups()
    );
    assert!(
        registered_mounts().is_empty(),
        "mounts left: {:?}",
        registered_mounts()
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let ours = "faultline-run-";
    let pid = format!("-{}-", std::process::id());
    let left: Vec<&str> = mountinfo
        .lines()
        .filter(|line| line.contains(ours) && line.contains(&pid))
        .collect();
    assert!(left.is_empty(), "mounts left: {left:?}");
    let temp = std::env::temp_dir();
    let prefix = format!("-{}-", std::process::id());
    let dirs: Vec<_> = std::fs::read_dir(&temp)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("faultline-run-") && name.contains(&prefix))
        .collect();
    assert!(dirs.is_empty(), "run directories left: {dirs:?}");
}

fn config(sut: String, processes: usize, faults: Vec<FaultKind>, run_ms: u64) -> RunConfig {
    RunConfig {
        sut,
        processes,
        clients: 4,
        run_ms,
        faults,
        ..RunConfig::default()
    }
}

#[test]
fn the_reference_store_passes_a_short_soak_with_kills_and_power_cuts() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let faults = vec![FaultKind::KillOne, FaultKind::KillAll, FaultKind::PowerCut];
    let options = SoakOptions {
        duration: Duration::from_secs(8),
        base: RunConfig {
            seed: 100,
            ..config(reference_store(), 2, faults, 2_000)
        },
        out: out.path().to_path_buf(),
        shard: Shard::ALL,
        max_failures: 0,
        max_runs: 0,
    };
    let summary = soak(&options, |_, _| {}).unwrap();
    println!("{summary}");
    assert!(summary.failures.is_empty(), "{summary}");
    assert!(summary.runs >= 3, "{summary}");
    assert!(
        summary.crashes >= 5,
        "too few crashes to mean anything: {summary}"
    );
    assert!(
        summary.faults.contains_key(&FaultKind::PowerCut),
        "{summary}"
    );
    assert!(summary.operations > 500, "{summary}");
    assert_nothing_left();
}

/// The canary: a store that acknowledges before fsync must be caught by a power cut, and the
/// bundle must replay (the same check fails again in at least one of three tries).
#[test]
fn a_store_acknowledging_before_fsync_is_caught_by_a_power_cut_and_replays() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let faults = vec![FaultKind::KillOne, FaultKind::PowerCut];
    let options = SoakOptions {
        duration: Duration::from_secs(30),
        base: RunConfig {
            seed: 7,
            ..config(naive_store(), 1, faults, 2_000)
        },
        out: out.path().to_path_buf(),
        shard: Shard::ALL,
        max_failures: 1,
        max_runs: 0,
    };
    let mut caught = None;
    let summary = soak(&options, |summary, _| {
        if caught.is_none() {
            caught = summary.failures.first().cloned();
        }
    })
    .unwrap();
    let failure = caught.unwrap_or_else(|| panic!("the naive store was not caught: {summary}"));
    assert!(
        ["acknowledged_writes", "linearizability"].contains(&failure.check.as_str()),
        "{failure:?}"
    );
    let index = BundleIndex::read(&failure.bundle).unwrap();
    assert_eq!(index.failing_check, failure.check);
    assert!(index
        .faults
        .iter()
        .any(|fault| fault.kind == FaultKind::PowerCut));
    for file in [
        "history.jsonl",
        "report.txt",
        "report.html",
        "trace.jsonl",
        "image-after",
        "linearizability.html",
    ] {
        assert!(failure.bundle.join(file).exists(), "bundle lacks {file}");
    }
    // Re-checking the recorded history without running anything finds the same failure.
    let rechecked = check_bundle(&failure.bundle).unwrap();
    assert!(
        rechecked
            .records
            .iter()
            .any(|check| check.name == failure.check && check.status == CheckStatus::Failed),
        "{:?}",
        rechecked.records
    );
    let replays = out.path().join("replays");
    let reproduced = (0..3).any(|_| {
        let replayed = replay(&failure.bundle, &replays, None).unwrap();
        replayed.reproduced()
    });
    assert!(
        reproduced,
        "the failure of {} did not reproduce in three replays",
        failure.bundle.display()
    );
    assert_nothing_left();
}

#[test]
fn a_malformed_or_missing_bundle_is_a_clear_error_naming_the_file() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-bundle");
    let error = BundleIndex::read(&missing).unwrap_err();
    assert!(matches!(error, BundleError::NotABundle { .. }), "{error}");
    assert!(error.to_string().contains("no-such-bundle"), "{error}");

    let bundle = dir.path().join("broken");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(bundle.join("bundle.json"), "{\n  \"seed\": 7,\n  oops\n}\n").unwrap();
    let error = BundleIndex::read(&bundle).unwrap_err().to_string();
    assert!(error.contains("bundle.json: line 3"), "{error}");

    std::fs::write(bundle.join("bundle.json"), "{\"seed\": 7}").unwrap();
    let error = BundleIndex::read(&bundle).unwrap_err().to_string();
    assert!(
        error.contains("bundle.json") && error.contains("missing field"),
        "{error}"
    );
    let error = replay(&bundle, &dir.path().join("out"), None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("bundle.json"), "{error}");
    assert_nothing_left();
}

/// The canaries of the `recovery` and `verify` checks: a store that does not come back after a
/// kill, and one whose own verify reports damage, each fail the check named after it (the
/// second also answers the workload's mid-run `verify` with problems, which `integrity`, looked
/// at first, reports as well).
#[test]
fn recovery_and_verify_checks_catch_their_planted_bugs() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    for (bug, check) in [("refuse-restart", "recovery"), ("verify-problem", "verify")] {
        let config = RunConfig {
            seed: 3,
            recovery_timeout_ms: 2_000,
            ..config(
                format!("{} --bug {bug}", naive_store()),
                1,
                vec![FaultKind::KillOne],
                1_000,
            )
        };
        let outcome = nemesis::runner::run(&config, out.path()).unwrap();
        let failed = outcome
            .checks
            .iter()
            .any(|record| record.name == check && record.status == CheckStatus::Failed);
        assert!(
            failed && outcome.failing_check.is_some(),
            "{bug}: {:?}",
            outcome.checks
        );
        assert!(outcome
            .bundle
            .as_ref()
            .is_some_and(|bundle| bundle.exists()));
    }
    assert_nothing_left();
}
