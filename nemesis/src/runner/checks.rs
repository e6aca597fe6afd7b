//! The checks at the end of a run, each with its own name so the verdict says which failed:
//!
//! - `recovery`: every restarted process answered within the bound, and the final reads were
//!   answered;
//! - `integrity`: no `corrupt` answer in a run whose every fault the store promises to
//!   survive ([`detection::integrity`]; not held after a pause);
//! - `verify`: the store's own `verify` found no problems;
//! - `acknowledged_writes`: every write acknowledged `ok` is present after the last recovery
//!   or superseded (a lost one is a `lost_acknowledged_write`);
//! - `phantom_read`: no read returned a value that no client ever wrote;
//! - `batch_atomicity`: no batch is visible on some of its keys and not on others
//!   ([`atomicity`]: a `torn_batch`);
//! - `linearizability`: the history against [`StoreModel`], per key (batches split into their
//!   keys; their atomicity across keys is the previous check's).
//!
//! When a fault the system under test only promises to *detect* was injected, data may be
//! lost: `verify`, `acknowledged_writes`, `batch_atomicity` and `linearizability` are then not
//! held against it (status `not_held`), but `phantom_read` still is. Faults placed where
//! detection is always possible excuse loss only once the store showed it detected something
//! ([`detection`]; the `detection` record says what it showed).

mod atomicity;
mod detection;
mod restart_reads;

use std::path::Path;
use std::time::Duration;

use history::{check, CheckOptions, CheckResult, History, Operation, Value, Verdict};
use serde::{Deserialize, Serialize};

use super::durability::{lost_acknowledged_writes, phantom_reads};
use super::error::RunError;
use super::model::StoreModel;
use super::schedule::FaultKind;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It held.
    Passed,
    /// It did not: a finding.
    Failed,
    /// A bound ran out before an answer (never counted as passed).
    Unknown,
    /// The system under test makes no promise this check could hold it to in this run.
    NotHeld,
}

/// One named check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRecord {
    /// `recovery`, `integrity`, `detection`, `verify`, `acknowledged_writes`, `phantom_read`,
    /// `batch_atomicity` or `linearizability`.
    pub name: String,
    /// How it ended.
    pub status: CheckStatus,
    /// What it found, for people.
    pub detail: String,
}

/// What the checks need besides the history.
#[derive(Debug, Clone, Default)]
pub struct CheckInputs {
    /// A restart or the final reads that were not answered.
    pub recovery_failure: Option<String>,
    /// The store's `verify` problems; `None` when verify was not answered.
    pub verify_problems: Option<Vec<String>>,
    /// A detect-only fault was injected.
    pub detect_only: bool,
    /// The final reads started at this time (ns on the run's clock).
    pub final_reads_ns: u64,
    /// Bound on the linearizability check.
    pub check_timeout: Duration,
}

/// What the checks found, with what the reports need.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Every check and its result, in the order the verdict looks at them.
    pub records: Vec<CheckRecord>,
    /// The history as checked (batches split per key).
    pub history: History,
    /// The linearizability checker's result.
    pub linearizability: CheckResult,
}

/// Reads the history at `path` back and runs every check.
pub fn run_checks(path: &Path, inputs: &CheckInputs) -> Result<Checked, RunError> {
    let history_error = |detail: String| RunError::History {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(RunError::io(path))?;
    let recorded = history::read_jsonl(std::io::BufReader::new(file))
        .map_err(|error| history_error(error.to_string()))?;
    let history = per_key_history(&recorded);
    let raw = std::fs::File::open(path).map_err(RunError::io(path))?;
    // The lazy filesystem's fault log sits beside the history (in a run and in a bundle).
    let damage_reads = path
        .parent()
        .map(|dir| dir.join("fault-log.jsonl"))
        .and_then(|log| std::fs::File::open(log).ok())
        .map(|log| detection::damage_reads(std::io::BufReader::new(log)))
        .unwrap_or_default();
    let excuse = detection::excuse(
        std::io::BufReader::new(raw),
        &recorded,
        inputs,
        &damage_reads,
    );
    let held = |status: CheckStatus| {
        if excuse.excused && status == CheckStatus::Failed {
            CheckStatus::NotHeld
        } else {
            status
        }
    };
    let mut records = Vec::new();
    let (status, detail) = match &inputs.recovery_failure {
        Some(failure) => (CheckStatus::Failed, failure.clone()),
        None => (
            CheckStatus::Passed,
            "every restart recovered in time".into(),
        ),
    };
    records.push(record("recovery", status, detail));
    let raw = std::fs::File::open(path).map_err(RunError::io(path))?;
    let paused = (recorded.faults.iter()).any(|fault| fault.f == FaultKind::Pause.name());
    let (status, detail) = detection::integrity(std::io::BufReader::new(raw), inputs, paused);
    records.push(record("integrity", status, detail));
    if let Some((status, detail)) = &excuse.detection {
        records.push(record("detection", *status, detail.clone()));
    }
    let (status, detail) = match &inputs.verify_problems {
        Some(problems) if problems.is_empty() => (CheckStatus::Passed, "no problems".into()),
        Some(problems) => (held(CheckStatus::Failed), problems.join("; ")),
        None => (CheckStatus::Unknown, "verify was not answered".into()),
    };
    records.push(record("verify", status, detail));
    let lost = lost_acknowledged_writes(&history, inputs.final_reads_ns);
    let status = if lost.is_empty() {
        CheckStatus::Passed
    } else {
        held(CheckStatus::Failed)
    };
    let detail = if lost.is_empty() {
        "every acknowledged write is present or superseded".into()
    } else {
        let shown: Vec<&str> = lost.iter().take(5).map(String::as_str).collect();
        format!(
            "lost_acknowledged_write ({} keys): {}",
            lost.len(),
            shown.join("; ")
        )
    };
    records.push(record("acknowledged_writes", status, detail));
    let phantoms = phantom_reads(&history);
    let status = if phantoms.is_empty() {
        CheckStatus::Passed
    } else {
        CheckStatus::Failed
    };
    let detail = if phantoms.is_empty() {
        "every value read was written".into()
    } else {
        phantoms.join("; ")
    };
    records.push(record("phantom_read", status, detail));
    let torn = atomicity::torn_batches(&recorded);
    let (status, detail) = if torn.is_empty() {
        (
            CheckStatus::Passed,
            "every batch seen is seen whole".to_owned(),
        )
    } else {
        (held(CheckStatus::Failed), torn.join("; "))
    };
    records.push(record("batch_atomicity", status, detail));
    let options = CheckOptions {
        timeout: Some(inputs.check_timeout),
        memory_budget_bytes: 1 << 29,
        shrink_checks_max: 200,
        ..CheckOptions::default()
    };
    let result =
        check(&StoreModel, &history, &options).map_err(|error| history_error(error.to_string()))?;
    let (status, detail) = match &result.verdict {
        Verdict::Ok => (
            CheckStatus::Passed,
            format!(
                "{} operations in {} keys",
                result.operations_checked, result.partitions
            ),
        ),
        Verdict::Violation(violation) => (
            held(CheckStatus::Failed),
            describe_violation(&history, violation),
        ),
        Verdict::Unknown(limit) => (
            CheckStatus::Unknown,
            format!("the checker ran out: {limit:?}"),
        ),
    };
    records.push(record("linearizability", status, detail));
    Ok(Checked {
        records,
        history,
        linearizability: result,
    })
}

fn record(name: &str, status: CheckStatus, detail: String) -> CheckRecord {
    CheckRecord {
        name: name.to_owned(),
        status,
        detail,
    }
}

/// The first check that failed, else the first that is unknown.
pub fn verdict(records: &[CheckRecord]) -> Option<&CheckRecord> {
    records
        .iter()
        .find(|record| record.status == CheckStatus::Failed)
        .or_else(|| {
            records
                .iter()
                .find(|record| record.status == CheckStatus::Unknown)
        })
}

/// The recorded history with each batch split into one operation per key (`batch_put`,
/// `batch_delete`, with the batch's times and result) and snapshots and GCs left out.
pub fn per_key_history(recorded: &History) -> History {
    let mut operations = Vec::with_capacity(recorded.operations.len());
    for op in &recorded.operations {
        match op.f.as_str() {
            "snapshot" | "gc" => {}
            "batch" => {
                for write in op.input.as_list().unwrap_or_default() {
                    let Some([Value::Str(kind), key, value]) = write.as_list() else {
                        continue;
                    };
                    operations.push(Operation {
                        id: operations.len(),
                        f: format!("batch_{kind}"),
                        key: Some(key.clone()),
                        input: value.clone(),
                        ..op.clone()
                    });
                }
            }
            _ => operations.push(Operation {
                id: operations.len(),
                ..op.clone()
            }),
        }
    }
    History {
        operations,
        faults: recorded.faults.clone(),
    }
}

fn describe_violation(history: &History, violation: &history::Violation) -> String {
    let key = violation
        .partition
        .as_ref()
        .map_or("?".to_owned(), Value::to_string);
    let core: Vec<String> = violation
        .core
        .iter()
        .filter_map(|&id| history.operations.get(id))
        .take(12)
        .map(|op| {
            let output = op.output.as_ref().map_or("?".to_owned(), Value::to_string);
            format!(
                "line {}: process {} {} {} -> {output}",
                op.line, op.process, op.f, op.input
            )
        })
        .collect();
    let more = violation.core.len().saturating_sub(core.len());
    let more = if more > 0 {
        format!(" | ... {more} more")
    } else {
        String::new()
    };
    format!(
        "key {key} cannot be linearized; core of {} operations: {}{more}",
        violation.core.len(),
        core.join(" | ")
    )
}
