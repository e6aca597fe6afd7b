//! Reports of a check: a plain-text summary and a self-contained HTML page.

mod html;
mod text;

use crate::{CheckResult, History, Operation, Verdict};

pub use html::html;
pub use text::text;

/// What a report shows.
pub struct ReportInput<'a> {
    /// Where the history came from (a file name).
    pub source: &'a str,
    /// The model's name.
    pub model: &'a str,
    /// The checked history.
    pub history: &'a History,
    /// The check's result.
    pub result: &'a CheckResult,
}

impl ReportInput<'_> {
    /// The operations of the violating partition, or all of them.
    fn partition_ops(&self) -> Vec<&Operation> {
        match &self.result.verdict {
            Verdict::Violation(violation) if violation.partition.is_some() => self
                .history
                .operations
                .iter()
                .filter(|op| op.key == violation.partition)
                .collect(),
            _ => self.history.operations.iter().collect(),
        }
    }
}
