//! The benchmark's table as text: one row per mutant, the clean store's line and the summary.

use std::fmt::Write as _;
use std::time::Duration;

use super::{BenchmarkReport, CleanResult, MutantResult};

/// The table `faultline mutants` prints at the end.
///
/// Columns: the mutant's number and name; `caught` or `missed`; the time and operations of its
/// soak up to the end of the first failing run (for a missed mutant, `>` the whole soak's); the
/// check that failed; the fault that exposed it; `reproduced k/n`, k reproductions in n replays
/// of the bundle (replays stop at the first reproduction); `clean`, what the clean store did on
/// the same seed and faults (`passes`, or `FAILS` when the failure is not the mutant's doing);
/// the bundle.
pub fn render_table(report: &BenchmarkReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:>2}  {:<30} {:<6} {:>8} {:>9}  {:<20} {:<17} {:<10} {:<6} bundle",
        "#", "mutant", "result", "time", "ops", "check", "fault", "reproduced", "clean"
    );
    for result in &report.mutants {
        let _ = writeln!(text, "{}", row(result));
    }
    let _ = writeln!(text);
    match &report.clean {
        Some(clean) => {
            let _ = writeln!(text, "{}", clean_line(clean));
            for failure in &clean.failures {
                let _ = writeln!(
                    text,
                    "  false alarm: seed {} check {} bundle {}",
                    failure.seed,
                    failure.check,
                    failure.bundle.display()
                );
            }
        }
        None => {
            let _ = writeln!(text, "clean store: not run");
        }
    }
    let _ = writeln!(text, "{}", summary_line(report));
    let _ = writeln!(text, "{}", verdict_line(report));
    text
}

fn row(result: &MutantResult) -> String {
    let name = result.mutant.name();
    let number = result.mutant.number();
    match &result.catch {
        Some(catch) => format!(
            "{number:>2}  {name:<30} {:<6} {:>8} {:>9}  {:<20} {:<17} {:<10} {:<6} {}",
            "caught",
            seconds(catch.time),
            catch.operations,
            catch.check,
            catch.fault,
            format!("{}/{}", catch.replays_reproduced, catch.replays_tried),
            clean_word(catch.clean_fails_too),
            catch.bundle.display()
        ),
        None => format!(
            "{number:>2}  {name:<30} {:<6} {:>8} {:>9}  {:<20} {:<17} {:<10} {:<6} -",
            "missed",
            format!(">{}", seconds(result.elapsed)),
            format!(">{}", result.operations),
            format!("- ({} runs)", result.runs),
            "-",
            "-",
            "-",
        ),
    }
}

fn clean_word(clean_fails_too: Option<bool>) -> &'static str {
    match clean_fails_too {
        Some(true) => "FAILS",
        Some(false) => "passes",
        None => "-",
    }
}

/// The line printed as a mutant's soak ends.
pub(super) fn progress_line(result: &MutantResult) -> String {
    let mutant = format!("{:>2} {}", result.mutant.number(), result.mutant.name());
    match &result.catch {
        Some(catch) => format!(
            "mutant {mutant}: caught by `{}` after {} ({} ops, seed {}, fault {}); reproduced \
             {}/{}; clean store on the same faults: {}; bundle {}",
            catch.check,
            seconds(catch.time),
            catch.operations,
            catch.seed,
            catch.fault,
            catch.replays_reproduced,
            catch.replays_tried,
            clean_word(catch.clean_fails_too),
            catch.bundle.display()
        ),
        None => {
            let faults: Vec<String> = result
                .faults
                .iter()
                .map(|(kind, count)| format!("{} {count}", kind.name()))
                .collect();
            format!(
                "mutant {mutant}: MISSED: {} runs, {} ops in {} without a failure; faults: {}",
                result.runs,
                result.operations,
                seconds(result.elapsed),
                if faults.is_empty() {
                    "none".to_owned()
                } else {
                    faults.join(", ")
                }
            )
        }
    }
}

/// The clean store's line.
pub(super) fn clean_line(clean: &CleanResult) -> String {
    format!(
        "clean store: {} runs, {} ops in {}: {} false alarm{}",
        clean.runs,
        clean.operations,
        seconds(clean.elapsed),
        clean.failures.len(),
        if clean.failures.len() == 1 { "" } else { "s" }
    )
}

fn summary_line(report: &BenchmarkReport) -> String {
    let median = report
        .median_time_to_catch()
        .map_or_else(|| "-".to_owned(), seconds);
    let replays = if report.replays == 0 {
        "no replays".to_owned()
    } else {
        format!(
            "reproduced {} of {} caught (up to {} replays each); the clean store fails {} of \
             them the same way",
            report.reproduced(),
            report.caught(),
            report.replays,
            report.unattributed()
        )
    };
    format!(
        "caught {} of {} | median time to catch {median} | false alarms {} | {replays}",
        report.caught(),
        report.mutants.len(),
        report.false_alarms(),
    )
}

fn verdict_line(report: &BenchmarkReport) -> String {
    if report.passed() {
        return "verdict: PASS".to_owned();
    }
    let mut reasons = Vec::new();
    if report.interrupted {
        reasons.push("interrupted".to_owned());
    }
    let escaped: Vec<String> = report
        .mutants
        .iter()
        .filter(|m| m.catch.is_none())
        .map(|m| format!("{} {}", m.mutant.number(), m.mutant.name()))
        .collect();
    if !escaped.is_empty() {
        reasons.push(format!("escaped: {}", escaped.join(", ")));
    }
    if report.false_alarms() > 0 {
        reasons.push(format!("false alarms: {}", report.false_alarms()));
    }
    if report.replays > 0 {
        let unreproduced: Vec<String> = report
            .mutants
            .iter()
            .filter(|m| m.catch.as_ref().is_some_and(|c| c.replays_reproduced == 0))
            .map(|m| format!("{} {}", m.mutant.number(), m.mutant.name()))
            .collect();
        if !unreproduced.is_empty() {
            reasons.push(format!("not reproduced: {}", unreproduced.join(", ")));
        }
    }
    let unattributed: Vec<String> = report
        .mutants
        .iter()
        .filter(|m| {
            m.catch
                .as_ref()
                .is_some_and(|c| c.clean_fails_too == Some(true))
        })
        .map(|m| format!("{} {}", m.mutant.number(), m.mutant.name()))
        .collect();
    if !unattributed.is_empty() {
        reasons.push(format!(
            "the clean store fails the same way: {}",
            unattributed.join(", ")
        ));
    }
    if report.clean.is_none() && !report.interrupted {
        reasons.push("the clean store was not run".to_owned());
    }
    format!("verdict: FAIL ({})", reasons.join("; "))
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use store::mutant::Mutant;

    use super::super::{exposing_fault, Catch};
    use super::*;
    use crate::runner::config::{FaultRecord, RunConfig};
    use crate::runner::report::{BundleIndex, BUNDLE_FORMAT};
    use crate::runner::schedule::FaultKind;
    use crate::runner::summary::FailureRecord;

    fn caught(mutant: Mutant, ms: u64, check: &str, fault: &str, reproduced: u32) -> MutantResult {
        let bundle = format!(
            "out/{:02}-{}/seed-3-{check}",
            mutant.number(),
            mutant.name()
        );
        MutantResult {
            mutant,
            runs: 2,
            operations: ms * 3,
            elapsed: Duration::from_millis(ms),
            faults: BTreeMap::new(),
            catch: Some(Catch {
                seed: 3,
                time: Duration::from_millis(ms),
                operations: ms * 3,
                check: check.into(),
                fault: fault.into(),
                bundle: PathBuf::from(bundle),
                replays_tried: if reproduced == 1 { 1 } else { 3 },
                replays_reproduced: reproduced,
                clean_fails_too: Some(mutant == Mutant::NoFencing),
            }),
        }
    }

    fn fixed_report() -> BenchmarkReport {
        BenchmarkReport {
            mutants: vec![
                caught(
                    Mutant::AckBeforeFsync,
                    4_210,
                    "acknowledged_writes",
                    "power_cut",
                    1,
                ),
                MutantResult {
                    mutant: Mutant::GroupCommitUncoveredAck,
                    runs: 20,
                    operations: 51_234,
                    elapsed: Duration::from_millis(60_020),
                    faults: BTreeMap::from([(FaultKind::PowerCut, 12), (FaultKind::KillOne, 30)]),
                    catch: None,
                },
                caught(Mutant::NoFencing, 12_500, "linearizability", "pause", 0),
            ],
            clean: Some(CleanResult {
                runs: 20,
                operations: 50_000,
                elapsed: Duration::from_millis(60_100),
                failures: vec![FailureRecord {
                    seed: 9,
                    check: "verify".into(),
                    bundle: PathBuf::from("out/clean/seed-9-verify"),
                }],
            }),
            replays: 3,
            interrupted: false,
        }
    }

    #[test]
    fn the_table_of_a_fixed_report() {
        insta::assert_snapshot!(render_table(&fixed_report()));
    }

    #[test]
    fn a_missed_mutant_says_what_it_withstood() {
        let report = fixed_report();
        let line = progress_line(&report.mutants[1]);
        assert!(
            line.contains("MISSED: 20 runs") && line.contains("kill_one 30, power_cut 12"),
            "{line}"
        );
    }

    #[test]
    fn a_passing_report_says_so() {
        let report = BenchmarkReport {
            mutants: vec![caught(Mutant::BlobInPlace, 900, "verify", "power_cut", 1)],
            clean: Some(CleanResult::default()),
            replays: 3,
            interrupted: false,
        };
        let table = render_table(&report);
        assert!(
            table.contains("caught 1 of 1 | median time to catch 0.9s"),
            "{table}"
        );
        assert!(table.ends_with("verdict: PASS\n"), "{table}");
    }

    #[test]
    fn the_exposing_fault_is_the_last_one_applied() {
        let fault = |kind, detail: &str| FaultRecord {
            at_ms: 1,
            kind,
            target: None,
            crash_seed: None,
            detail: detail.into(),
        };
        let mut index = BundleIndex {
            bundle_format: BUNDLE_FORMAT,
            faultline_version: "0".into(),
            seed: 1,
            failing_check: "verify".into(),
            config: RunConfig::default(),
            promises: String::new(),
            checks: Vec::new(),
            faults: Vec::new(),
            operations: 0,
            crashes: 0,
            final_reads_ns: 0,
            detect_only: false,
            files: Vec::new(),
        };
        assert_eq!(exposing_fault(&index), "none");
        index.faults = vec![
            fault(FaultKind::PowerCut, "crash state 1"),
            fault(FaultKind::Pause, "paused slot 0"),
            fault(FaultKind::KillOne, "skipped: does not apply now"),
            fault(FaultKind::Resume, "resumed every paused process"),
            fault(FaultKind::Heal, "resumed every process"),
        ];
        assert_eq!(exposing_fault(&index), "pause");
    }
}
