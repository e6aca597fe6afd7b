//! The detection-power benchmark: a soak against the store with each planted bug
//! ([`store::mutant::Mutant`]) active, stopped at its first failing run, then the clean store
//! with the same seeds and budget, then replays of every caught bundle. What `faultline
//! mutants` prints ([`render_table`]) and what CI's quick version asserts.
//!
//! Data flow: [`BenchmarkOptions`] → for each mutant a [`soak`] with `RunConfig::mutant` set
//! (the runner passes it as `FAULTLINE_MUTANT` and refuses a system under test whose `hello`
//! does not name it, so a clean build is never counted as a miss) → [`MutantResult`] (with a
//! [`Catch`] when a run failed, replayed up to [`BenchmarkOptions::replays`] times) → the clean
//! soak's [`CleanResult`] → [`BenchmarkReport`].

mod result;
mod table;

use std::path::{Path, PathBuf};
use std::time::Duration;

use store::mutant::Mutant;

use super::config::RunConfig;
use super::error::RunError;
use super::interrupt::stop_requested;
use super::keep::{replay, replay_with};
use super::report::BundleIndex;
use super::schedule::FaultKind;
use super::soak::{soak, Shard, SoakOptions};
use super::summary::SoakSummary;

pub use result::{BenchmarkReport, Catch, CleanResult, MutantResult};
pub use table::render_table;

/// The shortest run `--seeds` may ask for.
pub const SEED_RUN_MS_MIN: u64 = 300;

/// The most replays of a caught bundle.
pub const REPLAYS_MAX: u32 = 10;

/// What the benchmark measures and how.
#[derive(Debug, Clone)]
pub struct BenchmarkOptions {
    /// The mutants to measure, in this order.
    pub mutants: Vec<Mutant>,
    /// Wall-clock time each mutant's soak may take (and the clean store's soak takes).
    pub budget: Duration,
    /// `Some(K)`: each soak is exactly K runs, seeds `base.seed .. base.seed + K`, the clients
    /// of each running `budget / K` (checks come on top). `None`: runs of `base.run_ms` back
    /// to back, seeds from `base.seed` on, until `budget` is spent.
    pub seeds: Option<u64>,
    /// Every run's configuration; `seed` is the first seed, `mutant` is set per soak.
    pub base: RunConfig,
    /// Where bundles go: `<out>/NN-<mutant>/`, the clean store's in `<out>/clean/`.
    pub out: PathBuf,
    /// Replays of each caught bundle, stopping at the first that reproduces (0: none); with
    /// any, the bundle is also replayed once against the clean store.
    pub replays: u32,
}

impl BenchmarkOptions {
    /// The soak of one store: `mutant`, or the clean store when `None`.
    fn soak_options(&self, mutant: Option<Mutant>) -> SoakOptions {
        let (duration, run_ms, max_runs) = match self.seeds {
            Some(seeds) => {
                let run_ms = (self.budget.as_millis() as u64 / seeds.max(1)).max(SEED_RUN_MS_MIN);
                // The bound is the number of runs; the duration only guards against a hang.
                (self.budget.saturating_mul(10), run_ms, seeds)
            }
            None => (self.budget, self.base.run_ms, 0),
        };
        SoakOptions {
            duration,
            base: RunConfig {
                run_ms,
                mutant: mutant.map(|mutant| mutant.name().to_owned()),
                ..self.base.clone()
            },
            out: self.out.join(bundle_dir(mutant)),
            shard: Shard::ALL,
            max_failures: usize::from(mutant.is_some()),
            max_runs,
        }
    }
}

/// The directory of one store's bundles under the benchmark's `out`.
fn bundle_dir(mutant: Option<Mutant>) -> String {
    match mutant {
        Some(mutant) => format!("{:02}-{}", mutant.number(), mutant.name()),
        None => "clean".to_owned(),
    }
}

/// Why the benchmark could not be carried out (a setup error, never a verdict on a mutant).
#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    /// A run of a soak could not be carried out (e.g. the system under test did not confirm
    /// the mutant asked for).
    #[error("{store}: run with seed {seed} could not be carried out")]
    Run {
        /// `mutant NN NAME` or `the clean store`.
        store: String,
        /// The run's seed.
        seed: u64,
        /// The cause.
        #[source]
        source: RunError,
    },
    /// A caught bundle could not be replayed.
    #[error("mutant {mutant}: replaying {}", bundle.display())]
    Replay {
        /// The mutant.
        mutant: Mutant,
        /// The bundle.
        bundle: PathBuf,
        /// The cause.
        #[source]
        source: RunError,
    },
    /// The options cannot be run.
    #[error("invalid benchmark options: {0}")]
    Options(String),
}

/// Runs the benchmark; `progress` gets a line of text as each soak and replay ends.
pub fn run_benchmark(
    options: &BenchmarkOptions,
    mut progress: impl FnMut(&str),
) -> Result<BenchmarkReport, BenchmarkError> {
    if options.seeds == Some(0) {
        return Err(BenchmarkError::Options("seeds must be at least 1".into()));
    }
    if options.replays > REPLAYS_MAX {
        return Err(BenchmarkError::Options(format!(
            "replays {}: at most {REPLAYS_MAX}",
            options.replays
        )));
    }
    let mut report = BenchmarkReport {
        replays: options.replays,
        ..BenchmarkReport::default()
    };
    for &mutant in &options.mutants {
        if stop_requested() {
            report.interrupted = true;
            return Ok(report);
        }
        progress(&format!(
            "mutant {:>2} {}: soaking...",
            mutant.number(),
            mutant.name()
        ));
        let result = measure(options, mutant)?;
        progress(&table::progress_line(&result));
        report.mutants.push(result);
    }
    if stop_requested() {
        report.interrupted = true;
        return Ok(report);
    }
    progress("the clean store: soaking...");
    let summary = run_soak(options, None)?;
    let clean = CleanResult {
        runs: summary.runs,
        operations: summary.operations,
        elapsed: summary.elapsed,
        failures: summary.failures,
    };
    progress(&table::clean_line(&clean));
    report.clean = Some(clean);
    report.interrupted = stop_requested();
    Ok(report)
}

/// The soak of one mutant, and the replays of its bundle if it was caught.
fn measure(options: &BenchmarkOptions, mutant: Mutant) -> Result<MutantResult, BenchmarkError> {
    let mut first_failure = None;
    let soak_options = options.soak_options(Some(mutant));
    let summary = soak(&soak_options, |summary, outcome| {
        if let (None, Some(check), Some(bundle)) =
            (&first_failure, &outcome.failing_check, &outcome.bundle)
        {
            first_failure = Some(Catch {
                seed: outcome.seed,
                time: summary.elapsed,
                operations: summary.operations,
                check: check.clone(),
                fault: String::new(),
                bundle: bundle.clone(),
                replays_tried: 0,
                replays_reproduced: 0,
                clean_fails_too: None,
            });
        }
    })
    .map_err(|aborted| setup_error(Some(mutant), *aborted))?;
    let catch = match first_failure {
        Some(mut catch) => {
            catch.fault = BundleIndex::read(&catch.bundle)
                .map(|index| exposing_fault(&index))
                .map_err(|error| BenchmarkError::Replay {
                    mutant,
                    bundle: catch.bundle.clone(),
                    source: error.into(),
                })?;
            replay_catch(options, mutant, &soak_options.out, &mut catch)?;
            Some(catch)
        }
        None => None,
    };
    Ok(MutantResult {
        mutant,
        runs: summary.runs,
        operations: summary.operations,
        elapsed: summary.elapsed,
        faults: summary.faults,
        catch,
    })
}

fn run_soak(
    options: &BenchmarkOptions,
    mutant: Option<Mutant>,
) -> Result<SoakSummary, BenchmarkError> {
    soak(&options.soak_options(mutant), |_, _| {}).map_err(|aborted| setup_error(mutant, *aborted))
}

fn setup_error(mutant: Option<Mutant>, aborted: super::soak::SoakAborted) -> BenchmarkError {
    BenchmarkError::Run {
        store: match mutant {
            Some(mutant) => format!("mutant {} {}", mutant.number(), mutant.name()),
            None => "the clean store".to_owned(),
        },
        seed: aborted.seed,
        source: aborted.source,
    }
}

/// Replays the caught bundle until the same check fails again or the tries run out.
fn replay_catch(
    options: &BenchmarkOptions,
    mutant: Mutant,
    out: &Path,
    catch: &mut Catch,
) -> Result<(), BenchmarkError> {
    let replays_out = out.join("replays");
    for _ in 0..options.replays {
        if stop_requested() {
            break;
        }
        catch.replays_tried += 1;
        let replayed =
            replay(&catch.bundle, &replays_out, None).map_err(|source| BenchmarkError::Replay {
                mutant,
                bundle: catch.bundle.clone(),
                source,
            })?;
        if replayed.reproduced() {
            catch.replays_reproduced += 1;
            break;
        }
    }
    if options.replays > 0 && !stop_requested() {
        catch.clean_fails_too =
            Some(
                clean_fails_too(&catch.bundle, out).map_err(|source| BenchmarkError::Replay {
                    mutant,
                    bundle: catch.bundle.clone(),
                    source,
                })?,
            );
    }
    Ok(())
}

/// Runs the bundle's seed, configuration and faults against the clean store: whether the
/// check that failed fails there too.
fn clean_fails_too(bundle: &Path, out: &Path) -> Result<bool, RunError> {
    let replayed = replay_with(bundle, &out.join("clean-replays"), |config| {
        config.mutant = None;
    })?;
    // The replayed run only: a crash image the mutant wrote may hold damage that the clean
    // store rightly refuses (acknowledged records missing, a torn file under a final name).
    Ok(replayed.run_reproduced())
}

/// The fault credited with exposing a bundle's failure: the last fault the run applied
/// (heal and resume, which only undo faults, and skipped faults not counted); `none` when the
/// run applied no fault, so the failure showed in normal operation.
pub fn exposing_fault(index: &BundleIndex) -> String {
    index
        .faults
        .iter()
        .rev()
        .find(|fault| {
            !matches!(fault.kind, FaultKind::Heal | FaultKind::Resume)
                && !fault.detail.starts_with("skipped")
        })
        .map_or_else(|| "none".to_owned(), |fault| fault.kind.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_split_the_budget_into_that_many_runs() {
        let options = BenchmarkOptions {
            mutants: vec![Mutant::NoFencing],
            budget: Duration::from_secs(12),
            seeds: Some(4),
            base: RunConfig::default(),
            out: PathBuf::from("out"),
            replays: 3,
        };
        let soak = options.soak_options(Some(Mutant::NoFencing));
        assert_eq!(soak.max_runs, 4);
        assert_eq!(soak.base.run_ms, 3_000);
        assert_eq!(soak.max_failures, 1);
        assert_eq!(soak.base.mutant.as_deref(), Some("no-fencing"));
        assert_eq!(soak.out, PathBuf::from("out/10-no-fencing"));
        let clean = options.soak_options(None);
        assert_eq!((clean.max_runs, clean.max_failures), (4, 0));
        assert_eq!(clean.base.mutant, None);
        assert_eq!(clean.out, PathBuf::from("out/clean"));
        let by_time = BenchmarkOptions {
            seeds: None,
            ..options
        };
        let soak = by_time.soak_options(Some(Mutant::NoFencing));
        assert_eq!((soak.duration, soak.max_runs), (Duration::from_secs(12), 0));
    }
}
