//! Exporting a history as Jepsen/Knossos EDN, one event map per line.

use crate::{History, Outcome, Value};
use std::io::Write;

fn edn_value(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Int(int) => int.to_string(),
        Value::Str(text) => format!("{text:?}"),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(edn_value).collect::<Vec<_>>().join(" ")
        ),
    }
}

fn keyword(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_?!*+./".contains(c));
    if plain {
        format!(":{name}")
    } else {
        format!("{name:?}")
    }
}

/// Writes `history` as EDN events (`{:process 0, :type :invoke, :f :write, :value 1, :time 5}`),
/// in time order; a keyed operation's value becomes a `[key value]` tuple. `info` completions
/// are written at the end, nemesis events as `:nemesis` `:info` events.
pub fn write_edn(history: &History, mut output: impl Write) -> std::io::Result<()> {
    let mut lines: Vec<(u64, u8, usize, String)> = Vec::new();
    let end_ns = history
        .operations
        .iter()
        .filter_map(|op| op.return_ns)
        .chain(history.faults.iter().map(|f| f.time_ns))
        .max()
        .unwrap_or(0);
    for op in &history.operations {
        let with_key = |value: &Value| match &op.key {
            Some(key) => format!("[{} {}]", edn_value(key), edn_value(value)),
            None => edn_value(value),
        };
        let event = |kind: &str, value: &Value, time: u64| {
            format!(
                "{{:process {}, :type :{kind}, :f {}, :value {}, :time {time}}}",
                op.process,
                keyword(&op.f),
                with_key(value),
            )
        };
        lines.push((op.call_ns, 0, op.id, event("invoke", &op.input, op.call_ns)));
        let (kind, value, time) = match op.outcome {
            Outcome::Ok => (
                "ok",
                op.output.clone().unwrap_or_default(),
                op.return_ns.unwrap_or(end_ns),
            ),
            Outcome::Fail => ("fail", op.input.clone(), op.return_ns.unwrap_or(end_ns)),
            Outcome::Info => ("info", op.input.clone(), end_ns.max(op.call_ns)),
        };
        lines.push((time, 1, op.id, event(kind, &value, time)));
    }
    for (index, fault) in history.faults.iter().enumerate() {
        let text = format!(
            "{{:process :nemesis, :type :info, :f {}, :value {}, :time {}}}",
            keyword(&fault.f),
            edn_value(&fault.value),
            fault.time_ns
        );
        lines.push((fault.time_ns, 0, usize::MAX - index, text));
    }
    lines.sort();
    for (_, _, _, text) in lines {
        writeln!(output, "{text}")?;
    }
    Ok(())
}
