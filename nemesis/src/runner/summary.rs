//! What a soak did: runs, operations, faults by kind, crashes and the failures with their bundle
//! paths, printed as a table at the end and as one line at each interval.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::schedule::FaultKind;

/// A failure found by a run: which check failed and where its bundle is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The run's seed.
    pub seed: u64,
    /// The check that failed (`linearizability`, `acknowledged_writes`, `verify`, `recovery`).
    pub check: String,
    /// The bundle that keeps it.
    pub bundle: PathBuf,
}

/// Counters of a soak. Invariant: `crashes <= faults` (every crash is caused by a fault).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SoakSummary {
    /// Runs completed.
    pub runs: u64,
    /// Operations completed by clients.
    pub operations: u64,
    /// Faults applied, by kind.
    pub faults: BTreeMap<FaultKind, u64>,
    /// Crash–recover–check cycles: a crash of the system under test followed by a recovery
    /// and a check of what it recovered.
    pub crashes: u64,
    /// Failing runs and their bundles.
    pub failures: Vec<FailureRecord>,
    /// Wall-clock time of the soak so far.
    pub elapsed: Duration,
}

impl SoakSummary {
    /// All faults injected, of every kind.
    pub fn fault_count(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Crash–recover–check cycles per minute.
    pub fn cycles_per_minute(&self) -> f64 {
        per(self.crashes, self.elapsed) * 60.0
    }

    /// Operations per second.
    pub fn operations_per_second(&self) -> f64 {
        per(self.operations, self.elapsed)
    }

    /// Adds what one run did.
    pub fn add_run(&mut self, operations: u64, faults: &BTreeMap<FaultKind, u64>, crashes: u64) {
        self.runs += 1;
        self.operations += operations;
        for (kind, count) in faults {
            *self.faults.entry(*kind).or_default() += count;
        }
        self.crashes += crashes;
    }

    /// The one-line progress summary printed at each interval.
    pub fn line(&self) -> String {
        format!(
            "runs {} | ops {} ({:.0}/s) | faults {} | crashes {} ({:.0}/min) | failures {}",
            self.runs,
            self.operations,
            self.operations_per_second(),
            self.fault_count(),
            self.crashes,
            self.cycles_per_minute(),
            self.failures.len()
        )
    }
}

fn per(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The end-of-soak table.
impl fmt::Display for SoakSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "{:<34} {:>12}", "runs", self.runs)?;
        writeln!(formatter, "{:<34} {:>12}", "operations", self.operations)?;
        writeln!(
            formatter,
            "{:<34} {:>12.1}",
            "operations per second",
            self.operations_per_second()
        )?;
        writeln!(formatter, "{:<34} {:>12}", "faults", self.fault_count())?;
        for (kind, count) in &self.faults {
            writeln!(formatter, "  {:<32} {:>12}", kind.name(), count)?;
        }
        writeln!(
            formatter,
            "{:<34} {:>12}",
            "crash-recover-check cycles", self.crashes
        )?;
        writeln!(
            formatter,
            "{:<34} {:>12.1}",
            "cycles per minute",
            self.cycles_per_minute()
        )?;
        writeln!(
            formatter,
            "{:<34} {:>12.1}",
            "elapsed seconds",
            self.elapsed.as_secs_f64()
        )?;
        writeln!(formatter, "{:<34} {:>12}", "failures", self.failures.len())?;
        for failure in &self.failures {
            writeln!(
                formatter,
                "  seed {:<10} {:<22} {}",
                failure.seed,
                failure.check,
                failure.bundle.display()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_table() {
        let mut summary = SoakSummary::default();
        let faults = BTreeMap::from([(FaultKind::KillOne, 3), (FaultKind::PowerCut, 2)]);
        summary.add_run(600, &faults, 5);
        summary.add_run(600, &faults, 5);
        summary.elapsed = Duration::from_secs(60);
        summary.failures.push(FailureRecord {
            seed: 42,
            check: "linearizability".into(),
            bundle: PathBuf::from("out/failures/seed-42"),
        });
        assert_eq!(summary.fault_count(), 10);
        assert_eq!(summary.cycles_per_minute(), 10.0);
        assert_eq!(summary.operations_per_second(), 20.0);
        let table = summary.to_string();
        assert!(table.contains("kill_one"), "{table}");
        assert!(table.contains("out/failures/seed-42"), "{table}");
        assert!(summary.line().contains("failures 1"));
    }
}
