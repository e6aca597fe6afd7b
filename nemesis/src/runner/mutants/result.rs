//! What the benchmark found: per mutant, the clean store's soak, and the verdict.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use store::mutant::Mutant;

use super::super::schedule::FaultKind;
use super::super::summary::FailureRecord;

/// How a mutant was caught.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catch {
    /// The failing run's seed.
    pub seed: u64,
    /// From the start of the mutant's soak to the end of the failing run's checks.
    pub time: Duration,
    /// Operations the soak's clients completed, the failing run's included.
    pub operations: u64,
    /// The check that failed.
    pub check: String,
    /// The fault that exposed it ([`super::exposing_fault`]), or `none`.
    pub fault: String,
    /// The failing run's bundle.
    pub bundle: PathBuf,
    /// Replays tried (they stop at the first that reproduces).
    pub replays_tried: u32,
    /// Replays in which the same check failed again (0 or 1).
    pub replays_reproduced: u32,
    /// The bundle replayed against the clean store (same seed, configuration and faults, no
    /// mutant): `Some(true)` if the same check failed there too, so the failure is not the
    /// mutant's doing; `None` when not replayed.
    pub clean_fails_too: Option<bool>,
}

/// What the soak of one mutant found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutantResult {
    /// The planted bug.
    pub mutant: Mutant,
    /// Runs of its soak.
    pub runs: u64,
    /// Operations of its soak.
    pub operations: u64,
    /// Wall-clock time of its soak.
    pub elapsed: Duration,
    /// Faults its soak applied, by kind (what a missed mutant withstood).
    pub faults: BTreeMap<FaultKind, u64>,
    /// How it was caught; `None`: it escaped.
    pub catch: Option<Catch>,
}

/// What the soak of the clean store found: every failure is a false alarm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanResult {
    /// Runs of the soak.
    pub runs: u64,
    /// Operations of the soak.
    pub operations: u64,
    /// Wall-clock time of the soak.
    pub elapsed: Duration,
    /// Failing runs and their bundles.
    pub failures: Vec<FailureRecord>,
}

/// The benchmark's result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BenchmarkReport {
    /// One result per mutant measured, in order.
    pub mutants: Vec<MutantResult>,
    /// The clean store's soak; `None` if the benchmark was interrupted before it.
    pub clean: Option<CleanResult>,
    /// Replays asked for per caught bundle.
    pub replays: u32,
    /// Ctrl-C stopped the benchmark: what is here is what was done.
    pub interrupted: bool,
}

impl BenchmarkReport {
    /// Mutants caught.
    pub fn caught(&self) -> usize {
        self.mutants.iter().filter(|m| m.catch.is_some()).count()
    }

    /// The median of the times to catch over the caught mutants.
    pub fn median_time_to_catch(&self) -> Option<Duration> {
        let mut times: Vec<Duration> = self
            .mutants
            .iter()
            .filter_map(|m| m.catch.as_ref().map(|catch| catch.time))
            .collect();
        times.sort_unstable();
        let middle = times.len() / 2;
        match times.len() {
            0 => None,
            n if n % 2 == 1 => Some(times[middle]),
            _ => Some((times[middle - 1] + times[middle]) / 2),
        }
    }

    /// Failing runs of the clean store.
    pub fn false_alarms(&self) -> usize {
        self.clean.as_ref().map_or(0, |clean| clean.failures.len())
    }

    /// Caught mutants whose failure the clean store showed too when replayed.
    pub fn unattributed(&self) -> usize {
        self.mutants
            .iter()
            .filter_map(|m| m.catch.as_ref())
            .filter(|catch| catch.clean_fails_too == Some(true))
            .count()
    }

    /// Caught mutants whose failure reproduced in a replay.
    pub fn reproduced(&self) -> usize {
        self.mutants
            .iter()
            .filter_map(|m| m.catch.as_ref())
            .filter(|catch| catch.replays_reproduced > 0)
            .count()
    }

    /// The benchmark's verdict: every mutant caught, the clean store soaked without a failure,
    /// and (when replays were asked for) every caught failure reproduced at least once and
    /// was not shown by the clean store too.
    pub fn passed(&self) -> bool {
        !self.interrupted
            && self.caught() == self.mutants.len()
            && self.clean.is_some()
            && self.false_alarms() == 0
            && (self.replays == 0 || self.reproduced() == self.caught())
            && self.unattributed() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(mutant: Mutant, time_ms: Option<u64>) -> MutantResult {
        MutantResult {
            mutant,
            runs: 1,
            operations: 10,
            elapsed: Duration::from_secs(1),
            faults: BTreeMap::new(),
            catch: time_ms.map(|ms| Catch {
                seed: 1,
                time: Duration::from_millis(ms),
                operations: 10,
                check: "linearizability".into(),
                fault: "none".into(),
                bundle: PathBuf::from("b"),
                replays_tried: 1,
                replays_reproduced: 1,
                clean_fails_too: Some(false),
            }),
        }
    }

    #[test]
    fn the_median_is_over_caught_mutants_only() {
        let mut report = BenchmarkReport {
            mutants: vec![
                result(Mutant::NoFencing, Some(3_000)),
                result(Mutant::BlobInPlace, None),
                result(Mutant::AckBeforeFsync, Some(1_000)),
            ],
            clean: Some(CleanResult::default()),
            replays: 3,
            interrupted: false,
        };
        assert_eq!(report.median_time_to_catch(), Some(Duration::from_secs(2)));
        assert_eq!(report.caught(), 2);
        assert!(!report.passed(), "a mutant escaped");
        report.mutants.remove(1);
        assert!(report.passed());
        report.mutants[0].catch.as_mut().unwrap().replays_reproduced = 0;
        assert!(!report.passed(), "a caught failure that never reproduced");
        report.replays = 0;
        assert!(report.passed(), "no replays asked for");
        report.mutants[1].catch.as_mut().unwrap().clean_fails_too = Some(true);
        assert!(!report.passed(), "the clean store fails the same way");
        report.mutants[1].catch.as_mut().unwrap().clean_fails_too = None;
        report.clean.as_mut().unwrap().failures.push(FailureRecord {
            seed: 1,
            check: "verify".into(),
            bundle: PathBuf::from("c"),
        });
        assert!(!report.passed(), "a false alarm");
        assert_eq!(BenchmarkReport::default().median_time_to_catch(), None);
    }
}
