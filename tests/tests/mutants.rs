//! The quick version of `faultline mutants` that CI runs: the planted bugs of the store
//! (store/src/mutant.rs) that the harness catches reliably, each against a short soak with fixed
//! seeds, then the clean store with the same seeds. It fails if any of the catalogue's mutants
//! is not planted, if a required one escapes, or if the clean store fails (a false alarm). The
//! mutants not yet caught reliably are listed by name, so the gap stays visible. Needs root and /dev/fuse, as tests/soak.rs does.
//!
//! The store under test is `store-under-test`, built with the `mutants` feature (a
//! dev-dependency feature of this package), which activates the mutant named by
//! `FAULTLINE_MUTANT`; the runner refuses a process whose `hello` does not name it.

use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::{Mutex, MutexGuard};

use nemesis::runner::config::parse_faults;
use nemesis::runner::crash_image::replay_crash_image;
use nemesis::runner::keep::replay;
use nemesis::runner::mutants::{render_table, run_benchmark, BenchmarkOptions};
use nemesis::runner::process::live_groups;
use nemesis::runner::report::BundleIndex;
use nemesis::runner::summary::FailureRecord;
use nemesis::runner::{soak, RunConfig, Shard, SoakOptions};
use store::mutant::Mutant;

/// The tests share the process-wide registries of mounts and process groups: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The store with the flags `faultline mutants` gives it by default: a lease short enough that a
/// paused or stalled process outlives it within a run.
fn store_under_test() -> String {
    format!(
        "{} --dir {{dir}} --lease-ms 200 --max-hold-ms 100",
        env!("CARGO_BIN_EXE_store-under-test")
    )
}

/// The mutants CI requires caught within the quick budget: those the quick test caught in every
/// measurement of the current harness (four runs with four or six seeds, and a CI run, with the
/// bench's lease flags). The target is the whole catalogue.
const REQUIRED: [Mutant; 8] = [
    Mutant::AckBeforeFsync,
    Mutant::RenameWithoutDirFsync,
    Mutant::RenameBeforeDataFsync,
    Mutant::RecoveryRefusesTornTail,
    Mutant::ManifestSwapUnchecked,
    Mutant::NoFencing,
    Mutant::VersionRestartsAfterDelete,
    Mutant::FsyncRetryAcks,
];

/// Planted bugs the harness does not yet catch reliably within the quick budget (findings about
/// the harness, measured by `faultline mutants`; each needs a better workload, fault or check,
/// not a weaker mutant). They must still be planted; the quick test does not soak them.
/// blob-in-place and version-from-memory were caught in four measurements of five, and
/// truncate-before-manifest in two of three.
const NOT_YET_RELIABLY_CAUGHT: [Mutant; 8] = [
    Mutant::GroupCommitUncoveredAck,
    Mutant::BlobInPlace,
    Mutant::RecoverySkipsBadRecord,
    Mutant::TruncateBeforeManifest,
    Mutant::VersionFromMemory,
    Mutant::UncommittedBatchVisible,
    Mutant::GcIgnoresPins,
    Mutant::BlobChecksumWithoutId,
];

/// Runs per store (each of BUDGET / SEEDS, 9 s as in `faultline mutants --budget 36s --seeds
/// 4`), and the first seed: the first seeds of `faultline mutants` by default, so CI runs the
/// start of the full benchmark.
const SEEDS: u64 = 6;
const BUDGET: Duration = Duration::from_secs(54);
const FIRST_SEED: u64 = 0;

/// Runs of the pauses-only soak, 9 s each: a pause exposes the unfenced holder only when it
/// falls while that holder writes, which took from the first to the sixth seed in measurements.
const PAUSE_SEEDS: u64 = 12;
const PAUSE_BUDGET: Duration = Duration::from_secs(108);

/// Whether the store's sources make the mistake of `mutant` anywhere (an `is_active` call
/// naming it outside the switch itself); a mutant that is only named changes nothing.
fn planted(mutant: Mutant, sources: &[String]) -> bool {
    let needle = format!("Mutant::{mutant:?}");
    sources.iter().any(|text| text.contains(&needle))
}

/// The text of every Rust file under `dir` but the switch (`mutant.rs`).
fn store_sources(dir: &Path, texts: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            store_sources(&path, texts);
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && path.file_name().is_some_and(|name| name != "mutant.rs")
        {
            texts.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The error and its causes, one per line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    text
}

#[test]
fn the_required_planted_bugs_are_caught_and_the_clean_store_is_not() {
    let _serial = serial();
    let mut listed: Vec<Mutant> = REQUIRED
        .into_iter()
        .chain(NOT_YET_RELIABLY_CAUGHT)
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        Mutant::ALL,
        "every mutant is either required or listed as not yet caught"
    );
    let store_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/src");
    let mut sources = Vec::new();
    store_sources(&store_src, &mut sources);
    let unplanted: Vec<Mutant> = Mutant::ALL
        .into_iter()
        .filter(|&mutant| !planted(mutant, &sources))
        .collect();
    let planted_mutants: Vec<Mutant> = REQUIRED
        .into_iter()
        .filter(|mutant| !unplanted.contains(mutant))
        .collect();

    let out = tempfile::tempdir().unwrap();
    let options = BenchmarkOptions {
        mutants: planted_mutants,
        budget: BUDGET,
        seeds: Some(SEEDS),
        base: RunConfig {
            seed: FIRST_SEED,
            sut: store_under_test(),
            ..RunConfig::default()
        },
        out: out.path().to_path_buf(),
        replays: 0,
    };
    let started = Instant::now();
    let report = run_benchmark(&options, |line| eprintln!("{line}"))
        .unwrap_or_else(|error| panic!("{}", error_chain(&error)));
    let table = render_table(&report);
    println!("{table}\nin {:.1}s", started.elapsed().as_secs_f64());

    let escaped: Vec<&str> = report
        .mutants
        .iter()
        .filter(|result| result.catch.is_none())
        .map(|result| result.mutant.name())
        .collect();
    let unplanted: Vec<&str> = unplanted.iter().map(|mutant| mutant.name()).collect();
    assert!(
        unplanted.is_empty() && escaped.is_empty() && report.false_alarms() == 0,
        "not planted in store/src (the switch is never consulted for them): {unplanted:?}\n\
         escaped the harness: {escaped:?}\nfalse alarms of the clean store: {}\n{table}",
        report.false_alarms()
    );
    assert!(
        live_groups().is_empty(),
        "processes left: {:?}",
        live_groups()
    );
}

/// Pauses alone (SIGSTOP past the lease, while another process takes the lock over) catch a
/// stalled holder that keeps writing without fencing, and the clean store, paused the same way
/// under the same seeds, fences its stalled holder and passes: the pause detector is seen to fire
/// on a planted bug and to stay quiet on the correct store.
#[test]
fn pauses_alone_catch_a_stalled_holder_that_is_not_fenced() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let options = BenchmarkOptions {
        mutants: vec![Mutant::NoFencing],
        budget: PAUSE_BUDGET,
        seeds: Some(PAUSE_SEEDS),
        base: RunConfig {
            seed: FIRST_SEED,
            sut: store_under_test(),
            faults: parse_faults("pause,resume,heal").unwrap(),
            ..RunConfig::default()
        },
        out: out.path().to_path_buf(),
        replays: 0,
    };
    let report = run_benchmark(&options, |line| eprintln!("{line}"))
        .unwrap_or_else(|error| panic!("{}", error_chain(&error)));
    let table = render_table(&report);
    println!("{table}");
    let catch = report.mutants[0]
        .catch
        .as_ref()
        .unwrap_or_else(|| panic!("no-fencing escaped pauses:\n{table}"));
    // The unfenced writes show as lost or reordered updates (`linearizability`), a batch seen
    // in part (`batch_atomicity`) or a log the next owner cannot recover (`recovery`),
    // depending on where the stall fell; whichever check fires, a pause exposed it.
    assert_eq!(catch.fault, "pause", "{table}");
    assert_eq!(report.false_alarms(), 0, "{table}");
    assert!(
        live_groups().is_empty(),
        "processes left: {:?}",
        live_groups()
    );
}

/// Soaks the store with `mutant` (from the first seed, at most 40 s) until its first failure,
/// kept under `out`.
fn first_failure(mutant: Mutant, out: &Path) -> FailureRecord {
    let options = SoakOptions {
        duration: Duration::from_secs(40),
        base: RunConfig {
            seed: FIRST_SEED,
            sut: store_under_test(),
            mutant: Some(mutant.name().to_owned()),
            ..RunConfig::default()
        },
        out: out.to_path_buf(),
        shard: Shard::ALL,
        max_failures: 1,
        max_runs: 0,
    };
    let summary = soak(&options, |_, _| {}).unwrap();
    summary
        .failures
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("{mutant} escaped a 40 s soak:\n{summary}"))
}

/// A mutant's bundle keeps the mutant, and replay runs it again with that mutant (the runner
/// refuses a process whose `hello` does not confirm it, so a replay against the clean store
/// would be an error, not a silent pass).
#[test]
fn a_caught_mutant_replays_with_its_mutant() {
    let _serial = serial();
    let mutant = Mutant::AckBeforeFsync;
    let out = tempfile::tempdir().unwrap();
    let failure = first_failure(mutant, out.path());
    let index = BundleIndex::read(&failure.bundle).unwrap();
    assert_eq!(index.config.mutant.as_deref(), Some(mutant.name()));
    let replays = out.path().join("replays");
    let reproduced = (0..3).any(|_| {
        replay(&failure.bundle, &replays, None)
            .unwrap_or_else(|error| panic!("{}", error_chain(&error)))
            .reproduced()
    });
    assert!(
        reproduced,
        "{} did not reproduce in three replays",
        failure.bundle.display()
    );
    assert!(
        live_groups().is_empty(),
        "processes left: {:?}",
        live_groups()
    );
}

/// A recovery failure keeps the crash image the restarted processes found, and starting the
/// store on a copy of it fails again with the mutant, whatever the threads did: while the clean
/// store recovers from the very same bytes (it cuts the torn tail the mutant refuses).
#[test]
fn a_recovery_failure_replays_on_its_crash_image_and_the_clean_store_recovers_from_it() {
    let _serial = serial();
    let mutant = Mutant::RecoveryRefusesTornTail;
    let out = tempfile::tempdir().unwrap();
    let failure = first_failure(mutant, out.path());
    let index = BundleIndex::read(&failure.bundle).unwrap();
    assert_eq!(
        index.failing_check,
        "recovery",
        "{}",
        failure.bundle.display()
    );
    let with_mutant = replay_crash_image(&failure.bundle, &index.config)
        .unwrap()
        .expect("a recovery failure keeps its crash image");
    let clean_config = RunConfig {
        mutant: None,
        ..index.config.clone()
    };
    let clean = replay_crash_image(&failure.bundle, &clean_config)
        .unwrap()
        .expect("a recovery failure keeps its crash image");
    assert!(
        with_mutant.reproduced(),
        "{mutant} recovered from its own crash image:\n{}",
        with_mutant.describe()
    );
    assert!(
        !clean.reproduced(),
        "the clean store did not recover from {}:\n{}",
        clean.image.display(),
        clean.describe()
    );
    assert!(
        live_groups().is_empty(),
        "processes left: {:?}",
        live_groups()
    );
}
