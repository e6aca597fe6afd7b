//! The durability checks on a history: acknowledged writes missing after the last recovery,
//! and reads of values nobody wrote.

use std::collections::{BTreeMap, BTreeSet};

use history::{History, Operation, Outcome, Value};

fn is_write(op: &Operation) -> bool {
    matches!(
        op.f.as_str(),
        "put" | "patch" | "delete" | "cas" | "batch_put" | "batch_delete"
    )
}

fn is_delete(op: &Operation) -> bool {
    matches!(op.f.as_str(), "delete" | "batch_delete")
}

/// Acknowledged writes missing from the final reads and never superseded.
pub fn lost_acknowledged_writes(history: &History, final_reads_ns: u64) -> Vec<String> {
    let mut latest_ok: BTreeMap<&Value, (&Operation, i64)> = BTreeMap::new();
    let mut final_read: BTreeMap<&Value, &Operation> = BTreeMap::new();
    for op in &history.operations {
        let Some(key) = &op.key else { continue };
        match (op.outcome, &op.output) {
            (Outcome::Ok, Some(Value::Int(version)))
                if is_write(op) && latest_ok.get(key).is_none_or(|(_, best)| version > best) =>
            {
                latest_ok.insert(key, (op, *version));
            }
            (Outcome::Ok, Some(_)) if op.f == "get" && op.call_ns >= final_reads_ns => {
                final_read.insert(key, op);
            }
            _ => {}
        }
    }
    let mut lost = Vec::new();
    for (key, (write, acknowledged)) in latest_ok {
        let Some(read) = final_read.get(key) else {
            continue;
        };
        let found = match read.output.as_ref().and_then(Value::as_list) {
            Some([_, Value::Int(version)]) => Some(*version),
            _ => None,
        };
        let kept = match found {
            Some(version) => version >= acknowledged,
            None => {
                is_delete(write)
                    || history.operations.iter().any(|op| {
                        op.key.as_ref() == Some(key)
                            && is_delete(op)
                            && match (op.outcome, &op.output) {
                                (Outcome::Info, _) => true,
                                (Outcome::Ok, Some(Value::Int(version))) => *version > acknowledged,
                                _ => false,
                            }
                    })
            }
        };
        if !kept {
            let found = found.map_or("absent".to_owned(), |version| format!("version {version}"));
            lost.push(format!(
                "key {key}: `{}` (line {}) acknowledged version {acknowledged}, the final read found {found}",
                history_line(write),
                write.line
            ));
        }
    }
    lost
}

fn history_line(op: &Operation) -> String {
    format!("{} {}", op.f, op.input)
}

/// Reads of values no client wrote to that key. A value is a written value followed by
/// appended deltas (`c1-4+c2-7`), or deltas alone (a patch of an absent key).
pub fn phantom_reads(history: &History) -> Vec<String> {
    let mut bases: BTreeMap<&Value, BTreeSet<&str>> = BTreeMap::new();
    let mut deltas: BTreeMap<&Value, BTreeSet<&str>> = BTreeMap::new();
    for op in &history.operations {
        let Some(key) = &op.key else { continue };
        let written = match (op.f.as_str(), &op.input) {
            ("put" | "batch_put", Value::Str(value)) => Some(value.as_str()),
            ("cas", Value::List(items)) => items.get(1).and_then(Value::as_str),
            _ => None,
        };
        if let Some(value) = written {
            bases.entry(key).or_default().insert(value);
        }
        if let ("patch", Value::Str(delta)) = (op.f.as_str(), &op.input) {
            deltas
                .entry(key)
                .or_default()
                .insert(delta.trim_start_matches('+'));
        }
    }
    let empty = BTreeSet::new();
    let mut phantoms = Vec::new();
    for op in &history.operations {
        let (Some(key), Outcome::Ok) = (&op.key, op.outcome) else {
            continue;
        };
        let Some([Value::Str(value), _]) = op.output.as_ref().and_then(Value::as_list) else {
            continue;
        };
        let mut parts = value.split('+');
        let base = parts.next().unwrap_or_default();
        let base_ok = base.is_empty() || bases.get(key).unwrap_or(&empty).contains(base);
        let deltas_ok = parts.all(|part| deltas.get(key).unwrap_or(&empty).contains(part));
        if !(base_ok && deltas_ok) {
            phantoms.push(format!(
                "phantom_read: key {key} read {value:?} (line {}), never written",
                op.line
            ));
        }
    }
    phantoms.truncate(20);
    phantoms
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{pair_events, Event, EventType};

    /// A history of (process, type, f, key, value) events, one per line.
    fn history(events: &[(u64, EventType, &str, &str, Value)]) -> History {
        let events = events
            .iter()
            .enumerate()
            .map(|(line, (process, kind, f, key, value))| {
                let mut event = Event::client(*process, *kind, f, value.clone());
                event.key = Some(Value::from(*key));
                event.time_ns = Some(line as u64 * 10);
                (line + 1, event)
            });
        pair_events(events).unwrap()
    }

    fn read(value: Option<&str>, version: Option<i64>) -> Value {
        Value::List(vec![
            value.map_or(Value::Nil, Value::from),
            version.map_or(Value::Nil, Value::Int),
        ])
    }

    use EventType::{Info, Invoke, Ok};

    #[test]
    fn a_write_missing_from_the_final_read_is_lost() {
        let lost = history(&[
            (0, Invoke, "put", "k", "a".into()),
            (0, Ok, "put", "k", 7.into()),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(Some("b"), Some(3))),
        ]);
        let found = lost_acknowledged_writes(&lost, 20);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("acknowledged version 7"), "{found:?}");
        let absent = history(&[
            (0, Invoke, "put", "k", "a".into()),
            (0, Ok, "put", "k", 7.into()),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(None, None)),
        ]);
        assert_eq!(lost_acknowledged_writes(&absent, 20).len(), 1);
    }

    #[test]
    fn a_superseded_or_possibly_deleted_write_is_not_lost() {
        let superseded = history(&[
            (0, Invoke, "put", "k", "a".into()),
            (0, Ok, "put", "k", 7.into()),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(Some("b"), Some(9))),
        ]);
        assert!(lost_acknowledged_writes(&superseded, 20).is_empty());
        let maybe_deleted = history(&[
            (0, Invoke, "put", "k", "a".into()),
            (0, Ok, "put", "k", 7.into()),
            (2, Invoke, "delete", "k", Value::Nil),
            (2, Info, "delete", "k", Value::Nil),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(None, None)),
        ]);
        assert!(lost_acknowledged_writes(&maybe_deleted, 40).is_empty());
    }

    #[test]
    fn only_values_made_of_written_parts_may_be_read() {
        let clean = history(&[
            (0, Invoke, "put", "k", "c0-1".into()),
            (0, Ok, "put", "k", 1.into()),
            (0, Invoke, "patch", "k", "+c0-2".into()),
            (0, Ok, "patch", "k", 2.into()),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(Some("c0-1+c0-2"), Some(2))),
        ]);
        assert!(phantom_reads(&clean).is_empty());
        let phantom = history(&[
            (0, Invoke, "put", "k", "c0-1".into()),
            (0, Ok, "put", "k", 1.into()),
            (1, Invoke, "get", "k", Value::Nil),
            (1, Ok, "get", "k", read(Some("c0-1+c9-9"), Some(2))),
        ]);
        assert_eq!(phantom_reads(&phantom).len(), 1);
    }

    #[test]
    fn another_keys_large_value_read_as_valid_is_a_phantom() {
        // A misplaced value blob read as valid: `k1` answers the fresh value written to `k2`
        // (both recorded by name), a value some client wrote, but never to `k1`.
        use crate::runner::workload::fresh_large_value_name;
        let (mine, theirs) = (fresh_large_value_name(0, 5), fresh_large_value_name(1, 7));
        let misplaced = history(&[
            (0, Invoke, "put", "k1", mine.as_str().into()),
            (0, Ok, "put", "k1", 1.into()),
            (1, Invoke, "put", "k2", theirs.as_str().into()),
            (1, Ok, "put", "k2", 1.into()),
            (2, Invoke, "get", "k1", Value::Nil),
            (2, Ok, "get", "k1", read(Some(&theirs), Some(1))),
        ]);
        let found = phantom_reads(&misplaced);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("key \"k1\""), "{found:?}");
    }
}
