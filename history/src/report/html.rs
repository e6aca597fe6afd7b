//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network).
//!
//! Each client process is a row; each operation a bar from its call to its return (an `info`
//! bar runs, faded, to the end of the axis). Core operations of a violation are red, the
//! longest partial linearization is numbered on the bars, faults are dashed lines on the
//! axis. Hovering a bar shows its description.

use super::{text, ReportInput};
use crate::model::describe_operation;
use crate::{Operation, Outcome, Verdict};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

/// At most this many operations are drawn (those around the violation, or the first ones).
const DRAWN_OPERATIONS_MAX: usize = 1_500;
const WIDTH_PX: f64 = 1_100.0;
const LABEL_PX: f64 = 90.0;
const ROW_PX: f64 = 26.0;
const AXIS_PX: f64 = 40.0;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:20px}.verdict-ok{color:#17803d}.verdict-violation{color:#c0262d}.verdict-unknown{color:#a86400}\
pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}\
svg text{font-size:11px;font-family:ui-monospace,monospace}\
.ok{fill:#cfe8d6;stroke:#5a9e6f}.fail{fill:#e4e4e4;stroke:#9a9a9a}\
.info{fill:#fbe7c0;stroke:#c58b19;stroke-dasharray:4 2;fill-opacity:.6}\
.core{fill:#f7c5c7;stroke:#c0262d;stroke-width:2.5}.fault{stroke:#7a3fb0;stroke-dasharray:5 3}\
.legend span{display:inline-block;padding:2px 8px;margin-right:8px;border:1px solid #999}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Operations to draw: the violating partition (around its core if too many), or the first.
fn drawn<'a>(input: &'a ReportInput) -> Vec<&'a Operation> {
    let ops = input.partition_ops();
    if ops.len() <= DRAWN_OPERATIONS_MAX {
        return ops;
    }
    let center = match &input.result.verdict {
        Verdict::Violation(violation) => violation
            .core
            .first()
            .and_then(|id| ops.iter().position(|op| op.id == *id))
            .unwrap_or(0),
        _ => 0,
    };
    let start = center
        .saturating_sub(DRAWN_OPERATIONS_MAX / 2)
        .min(ops.len() - DRAWN_OPERATIONS_MAX);
    ops[start..start + DRAWN_OPERATIONS_MAX].to_vec()
}

/// The whole page.
pub fn html(input: &ReportInput) -> String {
    let ops = drawn(input);
    let (core, order): (HashSet<usize>, HashMap<usize, usize>) = match &input.result.verdict {
        Verdict::Violation(violation) => (
            violation.core.iter().copied().collect(),
            violation
                .partial_linearization
                .iter()
                .enumerate()
                .map(|(index, id)| (*id, index + 1))
                .collect(),
        ),
        _ => Default::default(),
    };
    let start_ns = ops.iter().map(|op| op.call_ns).min().unwrap_or(0);
    let last_return = ops
        .iter()
        .map(|op| op.return_ns.unwrap_or(op.call_ns))
        .max()
        .unwrap_or(0);
    let faults_after_start = input
        .history
        .faults
        .iter()
        .map(|fault| fault.time_ns)
        .filter(|time| *time >= start_ns);
    let finite_end = last_return.max(faults_after_start.max().unwrap_or(0));
    let faults: Vec<_> = input
        .history
        .faults
        .iter()
        .filter(|fault| fault.time_ns >= start_ns && fault.time_ns <= finite_end)
        .collect();
    let span = (finite_end - start_ns).max(1) as f64 * 1.05;
    let end_ns = start_ns + span as u64;
    let x = |time: u64| {
        LABEL_PX + (time.saturating_sub(start_ns)) as f64 / span * (WIDTH_PX - LABEL_PX - 10.0)
    };
    let mut rows: BTreeMap<u64, usize> = BTreeMap::new();
    for op in &ops {
        rows.entry(op.process).or_default();
    }
    for (index, row) in rows.values_mut().enumerate() {
        *row = index;
    }
    let height = AXIS_PX + rows.len() as f64 * ROW_PX + 20.0;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH_PX}\" height=\"{height}\" role=\"img\">");
    for (process, row) in &rows {
        let y = AXIS_PX + *row as f64 * ROW_PX;
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\">process {process}</text>",
            y + 16.0
        );
    }
    for tick in 0..=5 {
        let time = start_ns + (finite_end - start_ns) * tick / 5;
        let _ = write!(svg, "<line x1=\"{0:.1}\" y1=\"22\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"18\">{time}</text>", x(time), height - 10.0);
    }
    for fault in &faults {
        let at = x(fault.time_ns);
        let label = escape(&format!("{} {}", fault.f, fault.value));
        let _ = write!(svg, "<line class=\"fault\" x1=\"{at:.1}\" y1=\"24\" x2=\"{at:.1}\" y2=\"{:.1}\"><title>fault at {}: {label}</title></line><text x=\"{:.1}\" y=\"34\" fill=\"#7a3fb0\">⚡ {label}</text>", height - 10.0, fault.time_ns, at + 2.0);
    }
    for op in &ops {
        let y = AXIS_PX + rows[&op.process] as f64 * ROW_PX + 3.0;
        let left = x(op.call_ns);
        let right = x(op.return_ns.unwrap_or(end_ns)).max(left + 3.0);
        let class = if core.contains(&op.id) {
            "core"
        } else {
            match op.outcome {
                Outcome::Ok => "ok",
                Outcome::Fail => "fail",
                Outcome::Info => "info",
            }
        };
        let title = escape(&format!(
            "#{} process {}: {} [{}] line {}",
            op.id,
            op.process,
            describe_operation(op),
            class,
            op.line
        ));
        let label = match order.get(&op.id) {
            Some(position) => format!("{position}. {}", describe_operation(op)),
            None => describe_operation(op),
        };
        let _ = write!(
            svg,
            "<g><title>{title}</title><rect class=\"{class}\" x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\" clip-path=\"none\">{}</text></g>",
            right - left,
            ROW_PX - 6.0,
            left + 3.0,
            y + 13.0,
            escape(&label)
        );
    }
    svg.push_str("</svg>");
    let (verdict_class, verdict_word) = match input.result.verdict {
        Verdict::Ok => ("verdict-ok", "linearizable"),
        Verdict::Violation(_) => ("verdict-violation", "NOT linearizable"),
        Verdict::Unknown(_) => ("verdict-unknown", "unknown"),
    };
    let shown = if ops.len() < input.history.operations.len() {
        format!(
            "<p>Showing {} of {} operations (the violating partition, around its core).</p>",
            ops.len(),
            input.history.operations.len()
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultline check: {source}</title><style>{STYLE}</style></head><body>\n\
<h1>faultline check: {source} — <span class=\"{verdict_class}\">{verdict_word}</span></h1>\n\
<p class=\"legend\"><span class=\"ok\" style=\"background:#cfe8d6\">ok</span><span style=\"background:#fbe7c0\">info (open to the end)</span><span style=\"background:#e4e4e4\">fail</span><span style=\"background:#f7c5c7;border-color:#c0262d\">cannot be linearized</span>numbers: longest partial linearization; dashed purple: faults</p>\n\
{shown}<div style=\"overflow-x:auto\">{svg}</div>\n<pre>{summary}</pre>\n</body></html>\n",
        source = escape(input.source),
        summary = escape(&text(input)),
    )
}
