//! The plain-text summary, for terminals and CI logs.

use super::ReportInput;
use crate::model::describe_operation;
use crate::{Limit, Operation, Outcome, Verdict};
use std::fmt::Write;

/// Only the end of a long partial linearization is printed: it is where the search got stuck.
const PARTIAL_SHOWN_MAX: usize = 20;

fn interval(op: &Operation) -> String {
    match op.return_ns {
        Some(return_ns) => format!("[{} .. {}]", op.call_ns, return_ns),
        None => format!("[{} .. end)", op.call_ns),
    }
}

fn outcome(op: &Operation) -> &'static str {
    match op.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

fn line_for(op: &Operation) -> String {
    format!(
        "#{:<4} process {:<3} {:<30} {:<4} {} line {}",
        op.id,
        op.process,
        describe_operation(op),
        outcome(op),
        interval(op),
        op.line
    )
}

/// The summary: counts, the verdict and, for a violation, the core and the longest partial
/// linearization. No timings, so that it is reproducible.
pub fn text(input: &ReportInput) -> String {
    let ops = &input.history.operations;
    let count = |wanted: Outcome| ops.iter().filter(|op| op.outcome == wanted).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "faultline check: {} (model {})",
        input.source, input.model
    );
    let _ = writeln!(
        out,
        "operations: {} (ok {}, fail {}, info {}) in {} partition(s); faults: {}",
        ops.len(),
        count(Outcome::Ok),
        count(Outcome::Fail),
        count(Outcome::Info),
        input.result.partitions,
        input.history.faults.len()
    );
    match &input.result.verdict {
        Verdict::Ok => {
            let _ = writeln!(out, "verdict: OK (linearizable)");
        }
        Verdict::Unknown(limit) => {
            let why = match limit {
                Limit::Deadline => "the deadline passed",
                Limit::Memory => "the memory budget ran out",
            };
            let _ = writeln!(
                out,
                "verdict: UNKNOWN ({why} before an answer; this is not a pass)"
            );
        }
        Verdict::Violation(violation) => {
            let _ = writeln!(out, "verdict: VIOLATION (not linearizable)");
            if let Some(key) = &violation.partition {
                let _ = writeln!(out, "partition: key {key}");
            }
            let minimal = if violation.core_minimal {
                ""
            } else {
                " (shrinking stopped at its bound; may not be minimal)"
            };
            let _ = writeln!(
                out,
                "these {} operation(s) cannot be linearized, even if every other one may or may not have happened{minimal}:",
                violation.core.len()
            );
            for id in &violation.core {
                let _ = writeln!(out, "  {}", line_for(&ops[*id]));
            }
            let partition_size = input
                .partition_ops()
                .iter()
                .filter(|op| op.outcome != Outcome::Fail)
                .count();
            if violation.partial_linearization.is_empty() {
                let _ = writeln!(
                    out,
                    "decided before searching ({partition_size} operation(s) in the partition): no partial linearization"
                );
            } else {
                let _ = writeln!(
                    out,
                    "longest partial linearization found ({} of {partition_size} operation(s)):",
                    violation.partial_linearization.len()
                );
            }
            let skipped = violation
                .partial_linearization
                .len()
                .saturating_sub(PARTIAL_SHOWN_MAX);
            if skipped > 0 {
                let _ = writeln!(out, "  ... {skipped} earlier operation(s) not shown");
            }
            for (order, id) in violation
                .partial_linearization
                .iter()
                .enumerate()
                .skip(skipped)
            {
                let _ = writeln!(out, "  {:>3}. {}", order + 1, line_for(&ops[*id]));
            }
        }
    }
    out
}
