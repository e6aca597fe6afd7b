//! What a bundle says about its run: the index (`bundle.json`) and its renderings as text and
//! as a self-contained HTML page.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bundle::{read_bundle_json, BundleError, BUNDLE_INDEX};
use super::checks::{CheckRecord, CheckStatus};
use super::config::{FaultRecord, RunConfig};

/// The version of the bundle format this faultline writes and reads.
pub const BUNDLE_FORMAT: u32 = 1;

/// The index of a bundle: everything needed to understand the run and to replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleIndex {
    /// The bundle format's version ([`BUNDLE_FORMAT`]); see BUNDLE.md.
    pub bundle_format: u32,
    /// The faultline version that wrote it.
    pub faultline_version: String,
    /// The run's seed (also in `config`).
    pub seed: u64,
    /// The name of the check that failed (or was unknown).
    pub failing_check: String,
    /// The exact configuration of the run.
    pub config: RunConfig,
    /// What the system under test promised, as `fault=promise` pairs.
    pub promises: String,
    /// Every check and its result.
    pub checks: Vec<CheckRecord>,
    /// The faults as they happened, with times.
    pub faults: Vec<FaultRecord>,
    /// Operations the clients completed.
    pub operations: u64,
    /// Crashes followed by a recovery.
    pub crashes: u64,
    /// When the final reads started (ns on the run's clock), for re-checking the history.
    #[serde(default)]
    pub final_reads_ns: u64,
    /// A fault the system under test only promises to detect was injected.
    #[serde(default)]
    pub detect_only: bool,
    /// The files of the bundle and what each holds.
    pub files: Vec<(String, String)>,
}

impl BundleIndex {
    /// Reads `bundle.json` of the bundle at `path`, refusing formats newer than this faultline.
    pub fn read(path: &Path) -> Result<Self, BundleError> {
        let index: BundleIndex = read_bundle_json(path, BUNDLE_INDEX)?;
        if index.bundle_format != BUNDLE_FORMAT {
            return Err(BundleError::UnsupportedFormat {
                path: path.join(BUNDLE_INDEX),
                found: index.bundle_format,
                expected: BUNDLE_FORMAT,
            });
        }
        Ok(index)
    }
}

/// The report as plain text.
pub fn render_text(index: &BundleIndex) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "faultline {} run, seed {}",
        index.faultline_version, index.seed
    );
    let _ = writeln!(text, "verdict: check `{}` failed", index.failing_check);
    let _ = writeln!(text, "system under test: {}", index.config.sut);
    if let Some(mutant) = &index.config.mutant {
        let _ = writeln!(text, "planted bug (mutant): {mutant}");
    }
    for (name, value) in &index.config.sut_env {
        let _ = writeln!(text, "environment: {name}={value}");
    }
    let _ = writeln!(text, "promises: {}", index.promises);
    let _ = writeln!(
        text,
        "{} processes, {} clients, {} keys, {} ms; {} operations, {} crashes",
        index.config.processes,
        index.config.clients,
        index.config.keys,
        index.config.run_ms,
        index.operations,
        index.crashes
    );
    let _ = writeln!(text, "\nchecks:");
    for check in &index.checks {
        let _ = writeln!(
            text,
            "  {:<20} {:<9} {}",
            check.name,
            status_name(check.status),
            check.detail
        );
    }
    let _ = writeln!(text, "\nfaults as they happened:");
    for fault in &index.faults {
        let _ = writeln!(
            text,
            "  {:>7} ms  {:<18} {}{}",
            fault.at_ms,
            fault.kind.name(),
            fault
                .target
                .map_or(String::new(), |slot| format!("slot {slot}: ")),
            fault.detail
        );
    }
    let _ = writeln!(text, "\nfiles:");
    for (name, what) in &index.files {
        let _ = writeln!(text, "  {name:<24} {what}");
    }
    text
}

/// The report as one HTML page with no outside resources.
pub fn render_html(index: &BundleIndex) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>faultline run</title>\n<style>\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}\
         .failed{background:#fdd}.passed{background:#dfd}.unknown{background:#ffd}\
         .timeline{position:relative;height:24px;background:#eee;margin:1em 0}\
         .fault{position:absolute;top:0;width:2px;height:24px;background:#c00}</style></head><body>\n",
    );
    let _ = writeln!(
        html,
        "<h1>faultline run, seed {}</h1><p>verdict: check <b>{}</b> failed</p>",
        index.seed,
        escape(&index.failing_check)
    );
    let mutant = index
        .config
        .mutant
        .as_ref()
        .map_or(String::new(), |mutant| {
            format!("<br>planted bug (mutant): <b>{}</b>", escape(mutant))
        });
    let _ = writeln!(
        html,
        "<p>system under test: <code>{}</code>{mutant}<br>promises: {}<br>{} operations, {} crashes</p>",
        escape(&index.config.sut),
        escape(&index.promises),
        index.operations,
        index.crashes
    );
    if index
        .files
        .iter()
        .any(|(name, _)| name == "linearizability.html")
    {
        html.push_str(
            "<p>The history, drawn with the linearizability checker's findings: \
             <a href=\"linearizability.html\">linearizability.html</a></p>\n",
        );
    }
    html.push_str("<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>detail</th></tr>\n");
    for check in &index.checks {
        let status = status_name(check.status);
        let _ = writeln!(
            html,
            "<tr class=\"{status}\"><td>{}</td><td>{status}</td><td>{}</td></tr>",
            escape(&check.name),
            escape(&check.detail)
        );
    }
    html.push_str("</table><h2>Faults</h2><div class=\"timeline\">");
    let span = index.config.run_ms.max(1) as f64;
    for fault in &index.faults {
        let left = (fault.at_ms as f64 / span * 100.0).min(100.0);
        let _ = write!(
            html,
            "<div class=\"fault\" style=\"left:{left:.2}%\" title=\"{} ms {}\"></div>",
            fault.at_ms,
            fault.kind.name()
        );
    }
    html.push_str("</div><table><tr><th>ms</th><th>fault</th><th>detail</th></tr>\n");
    for fault in &index.faults {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            fault.at_ms,
            fault.kind.name(),
            escape(&fault.detail)
        );
    }
    html.push_str("</table></body></html>\n");
    html
}

fn status_name(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Passed => "passed",
        CheckStatus::Failed => "failed",
        CheckStatus::Unknown => "unknown",
        CheckStatus::NotHeld => "not_held",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::schedule::FaultKind;

    #[test]
    fn both_renderings_name_the_failing_check_and_escape_html() {
        let index = BundleIndex {
            bundle_format: BUNDLE_FORMAT,
            faultline_version: "0.1.0".into(),
            seed: 7,
            failing_check: "acknowledged_writes".into(),
            config: RunConfig {
                mutant: Some("no-fencing".into()),
                ..RunConfig::default()
            },
            promises: "kill=survive".into(),
            checks: vec![CheckRecord {
                name: "acknowledged_writes".into(),
                status: CheckStatus::Failed,
                detail: "key \"k1\" <lost>".into(),
            }],
            faults: vec![FaultRecord {
                at_ms: 120,
                kind: FaultKind::PowerCut,
                target: None,
                crash_seed: Some(3),
                detail: "cut".into(),
            }],
            operations: 10,
            crashes: 1,
            final_reads_ns: 0,
            detect_only: false,
            files: vec![("history.jsonl".into(), "the history".into())],
        };
        let text = render_text(&index);
        assert!(
            text.contains("check `acknowledged_writes` failed"),
            "{text}"
        );
        assert!(text.contains("power_cut"), "{text}");
        assert!(text.contains("planted bug (mutant): no-fencing"), "{text}");
        let html = render_html(&index);
        assert!(html.contains("&lt;lost&gt;"), "{html}");
        assert!(!html.contains("<lost>"));
    }
}
