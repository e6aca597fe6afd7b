//! The cross-key atomicity of batches: a batch is visible on all of its keys or on none.
//!
//! The per-key linearizability check cannot see a torn batch: a batch whose outcome is unknown
//! (`info`, e.g. cut short by a power cut) may take effect on one key and not on another, as
//! far as each key alone can tell. This check uses what the line protocol promises about
//! versions: every key a batch changes gets the batch's version (the log position of its
//! commit), and a key's version only grows. Every written value is unique, so a read that
//! returns exactly the value a batch put on a key, with version `V`, proves the batch took
//! effect at version `V` (a *witness*; an acknowledged batch is its own witness). From the
//! moment the witness completed, every read of any key of that batch must see version `V` or
//! later: a read invoked after the witness that finds an older version of another key shows a
//! batch visible on one key and not on another (`torn_batch`). A read finding the key absent
//! is fine only if the batch deleted it or a delete that may come after the batch exists.
//!
//! What it does not check: batches never witnessed by an exact read (their values were
//! appended to, or repeated by other writes), and reads concurrent with the witness.

use std::collections::BTreeMap;

use history::{History, Operation, Outcome, Value};

/// One write of a batch: the key and the value put (`None` for a delete).
type BatchWrite<'a> = (&'a Value, Option<&'a Value>);

/// Batches seen on some keys and not on others; one description per torn batch.
pub fn torn_batches(history: &History) -> Vec<String> {
    let counts = written_value_counts(history);
    let reads_by_key = reads_by_key(history);
    let mut torn = Vec::new();
    for batch in &history.operations {
        if batch.f != "batch" || batch.outcome == Outcome::Fail {
            continue;
        }
        let writes = batch_writes(&batch.input);
        let Some((version, since_ns, witness)) = witness(batch, &writes, &counts, &reads_by_key)
        else {
            continue;
        };
        for (key, value) in &writes {
            let reads = reads_by_key.get(key).map_or(&[][..], Vec::as_slice);
            let stale = reads.iter().find(|read| {
                read.call_ns > since_ns && !read_allows(history, read, key, *value, version)
            });
            if let Some(read) = stale {
                torn.push(format!(
                    "torn_batch: batch {} (line {}) took effect at version {version} ({witness}), \
                     but a later read of key {key} (line {}) found {}",
                    batch.input,
                    batch.line,
                    read.line,
                    read.output
                        .as_ref()
                        .map_or("?".to_owned(), Value::to_string)
                ));
                break;
            }
        }
    }
    torn.truncate(20);
    torn
}

/// The `(key, value)` writes of a recorded batch (`[["put", k, v], ["delete", k, null]]`).
fn batch_writes(input: &Value) -> Vec<BatchWrite<'_>> {
    input
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|write| match write.as_list()? {
            [Value::Str(kind), key, value] if kind == "put" => Some((key, Some(value))),
            [Value::Str(kind), key, _] if kind == "delete" => Some((key, None)),
            _ => None,
        })
        .collect()
}

/// How many writes put each value on each key (a witness needs a value written once).
fn written_value_counts(history: &History) -> BTreeMap<(&Value, &Value), usize> {
    let mut counts = BTreeMap::new();
    for op in &history.operations {
        let written: Vec<(&Value, &Value)> = match (op.f.as_str(), &op.key) {
            ("put", Some(key)) => vec![(key, &op.input)],
            ("cas", Some(key)) => op
                .input
                .as_list()
                .and_then(|items| items.get(1))
                .map(|value| vec![(key, value)])
                .unwrap_or_default(),
            ("batch", _) => batch_writes(&op.input)
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?)))
                .collect(),
            _ => Vec::new(),
        };
        for pair in written {
            *counts.entry(pair).or_default() += 1;
        }
    }
    counts
}

/// The `ok` reads (`get`, `get_if_modified`) of each key, in invocation order.
fn reads_by_key(history: &History) -> BTreeMap<&Value, Vec<&Operation>> {
    let mut reads: BTreeMap<&Value, Vec<&Operation>> = BTreeMap::new();
    for op in &history.operations {
        if let (Some(key), Outcome::Ok, "get" | "get_if_modified") =
            (&op.key, op.outcome, op.f.as_str())
        {
            reads.entry(key).or_default().push(op);
        }
    }
    reads
}

/// The batch's version, the time from which it is visible, and what proves it: its own
/// acknowledgement, or the earliest read that returned exactly a value only it wrote.
fn witness(
    batch: &Operation,
    writes: &[BatchWrite<'_>],
    counts: &BTreeMap<(&Value, &Value), usize>,
    reads_by_key: &BTreeMap<&Value, Vec<&Operation>>,
) -> Option<(i64, u64, String)> {
    if let (Outcome::Ok, Some(Value::Int(version)), Some(returned)) =
        (batch.outcome, &batch.output, batch.return_ns)
    {
        return Some((*version, returned, "acknowledged".to_owned()));
    }
    let mut best: Option<(i64, u64, String)> = None;
    for (key, value) in writes {
        let Some(value) = value else { continue };
        if counts.get(&(*key, *value)).copied().unwrap_or(0) != 1 {
            continue;
        }
        for read in reads_by_key.get(key).map_or(&[][..], Vec::as_slice) {
            let (Some([seen, Value::Int(version)]), Some(returned)) = (
                read.output.as_ref().and_then(Value::as_list),
                read.return_ns,
            ) else {
                continue;
            };
            if seen == *value && best.as_ref().is_none_or(|(_, at, _)| returned < *at) {
                let why = format!("read of key {key} at line {} saw it", read.line);
                best = Some((*version, returned, why));
            }
        }
    }
    best
}

/// Whether `read` of `key`, invoked after the batch was witnessed at `version`, is consistent
/// with the batch having written `value` (`None`: deleted) on that key.
fn read_allows(
    history: &History,
    read: &Operation,
    key: &Value,
    value: Option<&Value>,
    version: i64,
) -> bool {
    let output = read.output.as_ref();
    match output.and_then(Value::as_list) {
        Some([Value::Nil, Value::Nil]) => {
            value.is_none() || deleted_after(history, key, version, read)
        }
        Some([seen, Value::Int(found)]) => {
            *found > version || (*found == version && value == Some(seen))
        }
        // `not-modified`: the key is still at the version the reader held.
        _ => match (output, read.input.as_int()) {
            (Some(Value::Str(word)), Some(held)) if word == "not-modified" => held >= version,
            _ => true,
        },
    }
}

/// Whether a delete of `key` invoked before `read` returned may have come after `version`.
fn deleted_after(history: &History, key: &Value, version: i64, read: &Operation) -> bool {
    let read_end = read.return_ns.unwrap_or(u64::MAX);
    history.operations.iter().any(|op| {
        if op.outcome == Outcome::Fail || op.call_ns > read_end {
            return false;
        }
        let deletes_key = match op.f.as_str() {
            "delete" => op.key.as_ref() == Some(key),
            "batch" => batch_writes(&op.input)
                .iter()
                .any(|(k, value)| *k == key && value.is_none()),
            _ => false,
        };
        deletes_key
            && match (op.outcome, &op.output) {
                (Outcome::Ok, Some(Value::Int(deleted))) => *deleted > version,
                (Outcome::Ok, _) => false,
                _ => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{pair_events, Event, EventType};

    /// Events `(process, type, f, key, value)`, one per line, 10 ns apart.
    fn history(events: &[(u64, EventType, &str, Option<&str>, Value)]) -> History {
        let events = events
            .iter()
            .enumerate()
            .map(|(line, (process, kind, f, key, value))| {
                let mut event = Event::client(*process, *kind, f, value.clone());
                event.key = key.map(Value::from);
                event.time_ns = Some(line as u64 * 10);
                (line + 1, event)
            });
        pair_events(events).unwrap()
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn put(key: &str, value: &str) -> Value {
        list(vec!["put".into(), key.into(), value.into()])
    }

    fn read(value: &str, version: i64) -> Value {
        list(vec![value.into(), version.into()])
    }

    use EventType::{Info, Invoke, Ok};

    /// Two keys at versions 1 and 2, then a batch over both cut short (`info`), then reads of
    /// both keys: `a_sees` and `b_sees` are the reads' answers.
    fn after_cut_batch(a_sees: Value, b_sees: Value) -> History {
        history(&[
            (0, Invoke, "put", Some("a"), "a0".into()),
            (0, Ok, "put", Some("a"), 1.into()),
            (0, Invoke, "put", Some("b"), "b0".into()),
            (0, Ok, "put", Some("b"), 2.into()),
            (
                1,
                Invoke,
                "batch",
                None,
                list(vec![put("a", "a1"), put("b", "b1")]),
            ),
            (1, Info, "batch", None, Value::Nil),
            (2, Invoke, "get", Some("a"), Value::Nil),
            (2, Ok, "get", Some("a"), a_sees),
            (2, Invoke, "get", Some("b"), Value::Nil),
            (2, Ok, "get", Some("b"), b_sees),
        ])
    }

    #[test]
    fn a_batch_visible_on_one_key_only_is_torn() {
        let torn = torn_batches(&after_cut_batch(read("a1", 7), read("b0", 2)));
        assert_eq!(torn.len(), 1, "{torn:?}");
        assert!(
            torn[0].contains("version 7") && torn[0].contains("key \"b\""),
            "{torn:?}"
        );
    }

    #[test]
    fn a_whole_or_absent_batch_passes() {
        assert!(torn_batches(&after_cut_batch(read("a1", 7), read("b1", 7))).is_empty());
        assert!(torn_batches(&after_cut_batch(read("a0", 1), read("b0", 2))).is_empty());
        // Overwritten since: a later version of `b` is fine.
        assert!(torn_batches(&after_cut_batch(read("a1", 7), read("b9", 9))).is_empty());
    }

    #[test]
    fn an_absent_key_needs_a_delete_that_may_follow_the_batch() {
        let absent = list(vec![Value::Nil, Value::Nil]);
        assert_eq!(
            torn_batches(&after_cut_batch(read("a1", 7), absent.clone())).len(),
            1
        );
        let mut deleted = after_cut_batch(read("a1", 7), absent);
        let mut delete = deleted.operations[0].clone();
        delete.f = "delete".into();
        delete.key = Some("b".into());
        delete.input = Value::Nil;
        delete.outcome = Outcome::Info;
        delete.output = None;
        delete.return_ns = None;
        deleted.operations.push(delete);
        assert!(torn_batches(&deleted).is_empty());
    }

    #[test]
    fn a_read_before_the_witness_or_a_repeated_value_proves_nothing() {
        let early = history(&[
            (
                1,
                Invoke,
                "batch",
                None,
                list(vec![put("a", "a1"), put("b", "b1")]),
            ),
            (1, Info, "batch", None, Value::Nil),
            (2, Invoke, "get", Some("b"), Value::Nil),
            (3, Invoke, "get", Some("a"), Value::Nil),
            (3, Ok, "get", Some("a"), read("a1", 7)),
            (2, Ok, "get", Some("b"), list(vec![Value::Nil, Value::Nil])),
        ]);
        assert!(torn_batches(&early).is_empty());
        let repeated = history(&[
            (0, Invoke, "put", Some("a"), "a1".into()),
            (0, Info, "put", Some("a"), Value::Nil),
            (
                1,
                Invoke,
                "batch",
                None,
                list(vec![put("a", "a1"), put("b", "b1")]),
            ),
            (1, Info, "batch", None, Value::Nil),
            (3, Invoke, "get", Some("a"), Value::Nil),
            (3, Ok, "get", Some("a"), read("a1", 7)),
            (2, Invoke, "get", Some("b"), Value::Nil),
            (2, Ok, "get", Some("b"), list(vec![Value::Nil, Value::Nil])),
        ]);
        assert!(torn_batches(&repeated).is_empty());
    }
}
