//! A soak: runs back to back with seeds derived from one base seed, until the duration is over,
//! a bound on runs or failures is reached, or Ctrl-C; every failure is kept as a bundle and
//! listed in the [`SoakSummary`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::config::RunConfig;
use super::error::RunError;
use super::interrupt::stop_requested;
use super::run::{run, RunOutcome};
use super::summary::{FailureRecord, SoakSummary};

/// The shortest run a soak starts when little time is left.
const RUN_MS_MIN: u64 = 300;

/// Which part of a campaign's seeds this soak takes: every `count`-th seed from `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// Shards in the campaign.
    pub count: u64,
}

impl Shard {
    /// The whole campaign.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `I < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let expected = || format!("shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(expected)?;
        let index: u64 = index.trim().parse().map_err(|_| expected())?;
        let count: u64 = count.trim().parse().map_err(|_| expected())?;
        if count == 0 || index >= count {
            return Err(expected());
        }
        Ok(Shard { index, count })
    }

    /// The seed of this shard's `run`-th run.
    pub fn seed(self, base: u64, run: u64) -> u64 {
        base.wrapping_add(run.wrapping_mul(self.count))
            .wrapping_add(self.index)
    }
}

/// What a soak does.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long to keep starting runs.
    pub duration: Duration,
    /// The configuration of every run; its seed is the base seed.
    pub base: RunConfig,
    /// Where failure bundles go.
    pub out: PathBuf,
    /// Which seeds to take.
    pub shard: Shard,
    /// Stop once this many runs failed; 0 never stops early.
    pub max_failures: usize,
    /// Stop after this many runs; 0 bounds the runs by the duration only.
    pub max_runs: u64,
}

/// A soak stopped by a run that could not be carried out; what was done until then is kept.
#[derive(Debug, thiserror::Error)]
#[error("run with seed {seed} could not be carried out")]
pub struct SoakAborted {
    /// The seed of the run that could not be carried out.
    pub seed: u64,
    /// What the soak did before (failures found are in it, their bundles on disk).
    pub summary: SoakSummary,
    /// Why the run could not be carried out.
    #[source]
    pub source: RunError,
}

/// Runs the soak; `after_run` sees the summary so far and each run's outcome.
pub fn soak(
    options: &SoakOptions,
    mut after_run: impl FnMut(&SoakSummary, &RunOutcome),
) -> Result<SoakSummary, Box<SoakAborted>> {
    let started = Instant::now();
    let mut summary = SoakSummary::default();
    for number in 0..u64::MAX {
        let left = options.duration.saturating_sub(started.elapsed());
        let runs_done = options.max_runs > 0 && number >= options.max_runs;
        if left.is_zero() || runs_done || stop_requested() {
            break;
        }
        let config = RunConfig {
            seed: options.shard.seed(options.base.seed, number),
            run_ms: options
                .base
                .run_ms
                .min(left.as_millis() as u64)
                .max(RUN_MS_MIN),
            ..options.base.clone()
        };
        let outcome = match run(&config, &options.out) {
            Ok(outcome) => outcome,
            Err(source) => {
                summary.elapsed = started.elapsed();
                return Err(Box::new(SoakAborted {
                    seed: config.seed,
                    summary,
                    source,
                }));
            }
        };
        summary.add_run(outcome.operations, &outcome.faults, outcome.crashes);
        if let (Some(check), Some(bundle)) = (&outcome.failing_check, &outcome.bundle) {
            summary.failures.push(FailureRecord {
                seed: outcome.seed,
                check: check.clone(),
                bundle: bundle.clone(),
            });
        }
        summary.elapsed = started.elapsed();
        after_run(&summary, &outcome);
        if options.max_failures > 0 && summary.failures.len() >= options.max_failures {
            break;
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::schedule::FaultKind;

    #[test]
    fn a_soak_stops_after_its_bound_on_runs() {
        let out = tempfile::tempdir().unwrap();
        let options = SoakOptions {
            duration: Duration::from_secs(60),
            base: RunConfig {
                seed: 5,
                sut: "cat".into(),
                promises: Some("kill=survive".into()),
                processes: 1,
                clients: 1,
                keys: 1,
                run_ms: 300,
                faults: vec![FaultKind::Pause],
                recovery_timeout_ms: 200,
                op_timeout_ms: 100,
                ..RunConfig::default()
            },
            out: out.path().to_path_buf(),
            shard: Shard::ALL,
            max_failures: 0,
            max_runs: 2,
        };
        let mut seeds = Vec::new();
        let summary = soak(&options, |_, outcome| seeds.push(outcome.seed)).unwrap();
        assert_eq!(summary.runs, 2);
        assert_eq!(seeds, vec![5, 6]);
    }

    #[test]
    fn shards_split_the_seeds_without_overlap() {
        let a = Shard::parse("0/2").unwrap();
        let b = Shard::parse("1/2").unwrap();
        let seeds_a: Vec<u64> = (0..3).map(|run| a.seed(10, run)).collect();
        let seeds_b: Vec<u64> = (0..3).map(|run| b.seed(10, run)).collect();
        assert_eq!(seeds_a, vec![10, 12, 14]);
        assert_eq!(seeds_b, vec![11, 13, 15]);
        assert!(Shard::parse("2/2").is_err());
        assert!(Shard::parse("1").is_err());
        assert!(Shard::parse("0/0").is_err());
    }
}
