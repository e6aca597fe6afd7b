//! The sequential specification of one key of a line-protocol store (store/SERVE.md), for the
//! history checker.
//!
//! It differs from the history crate's `versioned` model where the protocol does: an absent key
//! reads as `[null, null]` (it has no current version, also after a delete), a `delete` of an
//! absent key answers `null` and changes nothing, and a `cas` may expect absence (`null`).
//! Versions strictly increase per key and are never reused, also across deletes.
//!
//! Operations (argument → result on `ok`):
//! - `get` → `[value, version]`, `[null, null]` when absent;
//! - `put` value, `patch` delta (appended) → the new version;
//! - `delete` → the delete's version, or `null` when the key was absent;
//! - `get_if_modified` held-version → `"not-modified"` or `[value, version]` / `[null, null]`;
//! - `cas` `[expected-version or null, value]` → the new version, or `false` on a mismatch;
//! - `batch_put` value / `batch_delete` → the batch's version (one key's part of a batch; a
//!   batch delete of an absent key changes nothing).
//!
//! What it does not check: a batch is split into its keys, so the atomicity of a batch across
//! keys is not checked by this model (the `batch_atomicity` check of [`super::checks`] is).

use history::{append_value, Model, Operation, Value};

/// One key of a line-protocol store.
#[derive(Clone, Debug, Default)]
pub struct StoreModel;

/// A key's value (`Nil` when absent) and the version of its last change.
///
/// Invariant: when `exact` is false, `version` is only a lower bound of the last change's
/// version (a write whose version the client never learnt).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyState {
    value: Value,
    version: i64,
    exact: bool,
}

impl KeyState {
    fn present(&self) -> bool {
        self.value != Value::Nil
    }

    /// The state with its current version seen as `seen`, if that is possible.
    fn observe(&self, seen: i64) -> Option<KeyState> {
        let possible = if self.exact {
            seen == self.version
        } else {
            seen >= self.version
        };
        possible.then(|| KeyState {
            version: seen,
            exact: true,
            ..self.clone()
        })
    }

    /// A change to `value` whose version is `result` (an integer), or unknown.
    fn write(&self, value: Value, result: Option<&Value>) -> Option<KeyState> {
        match result {
            Some(Value::Int(new)) => (*new > self.version).then_some(KeyState {
                value,
                version: *new,
                exact: true,
            }),
            Some(_) => None,
            None => Some(KeyState {
                value,
                version: self.version + 1,
                exact: false,
            }),
        }
    }

    /// A read that answered `result`.
    fn read(&self, result: &Value) -> Option<KeyState> {
        match result.as_list()? {
            [Value::Nil, Value::Nil] => (!self.present()).then(|| self.clone()),
            [value, Value::Int(version)] if *value != Value::Nil => {
                (*value == self.value).then_some(())?;
                self.observe(*version)
            }
            _ => None,
        }
    }

    fn delete(&self, result: Option<&Value>) -> Option<KeyState> {
        match result {
            Some(Value::Nil) => (!self.present()).then(|| self.clone()),
            Some(_) if self.present() => self.write(Value::Nil, result),
            Some(_) => None,
            None if self.present() => self.write(Value::Nil, None),
            None => Some(self.clone()),
        }
    }

    fn cas(&self, expected: &Value, value: &Value, result: Option<&Value>) -> Option<KeyState> {
        let matched = match expected {
            Value::Nil => (!self.present()).then(|| self.clone()),
            Value::Int(version) if self.present() => self.observe(*version),
            _ => None,
        };
        match (result, matched) {
            (Some(Value::Bool(false)), _) => {
                let could_mismatch = match expected {
                    Value::Nil => self.present(),
                    Value::Int(version) => {
                        !self.present() || !self.exact || self.version != *version
                    }
                    _ => false,
                };
                could_mismatch.then(|| self.clone())
            }
            (None, None) => Some(self.clone()),
            (_, Some(state)) => state.write(value.clone(), result),
            (Some(_), None) => None,
        }
    }
}

impl Model for StoreModel {
    type State = KeyState;

    fn init(&self) -> KeyState {
        KeyState {
            value: Value::Nil,
            version: 0,
            exact: true,
        }
    }

    fn step(&self, state: &KeyState, op: &Operation) -> Option<KeyState> {
        let output = op.output.as_ref();
        match op.f.as_str() {
            "get" => output.map_or_else(|| Some(state.clone()), |result| state.read(result)),
            "put" | "batch_put" => state.write(op.input.clone(), output),
            "patch" => state.write(append_value(&state.value, &op.input)?, output),
            "delete" => state.delete(output),
            "batch_delete" if !state.present() => Some(state.clone()),
            "batch_delete" => state.write(Value::Nil, output),
            "get_if_modified" => {
                let held = op.input.as_int()?;
                match output {
                    None => Some(state.clone()),
                    Some(Value::Str(word)) if word == "not-modified" => {
                        state.present().then_some(())?;
                        state.observe(held)
                    }
                    Some(result) => match result.as_list()? {
                        [_, Value::Int(version)] if *version == held => None,
                        _ => state.read(result),
                    },
                }
            }
            "cas" => match op.input.as_list()? {
                [expected, value] => state.cas(expected, value, output),
                _ => None,
            },
            _ => None,
        }
    }

    fn partition(&self, op: &Operation) -> Option<Value> {
        op.key.clone()
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        const KNOWN: [&str; 8] = [
            "get",
            "put",
            "patch",
            "delete",
            "get_if_modified",
            "cas",
            "batch_put",
            "batch_delete",
        ];
        if !KNOWN.contains(&op.f.as_str()) {
            return Err(format!("the store model knows {}", KNOWN.join(", ")));
        }
        if op.key.is_none() {
            return Err("expected a key".to_owned());
        }
        match op.f.as_str() {
            "cas" if !matches!(op.input.as_list(), Some([Value::Nil | Value::Int(_), _])) => Err(
                format!("expected [expected-version, value], found {}", op.input),
            ),
            "get_if_modified" if op.input.as_int().is_none() => {
                Err("expected the held version (an integer)".to_owned())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{check, CheckOptions, Event, EventType, Verdict};

    fn event(process: u64, kind: EventType, f: &str, value: Value) -> (usize, Event) {
        let mut event = Event::client(process, kind, f, value);
        event.key = Some(Value::from("k"));
        (0, event)
    }

    fn verdict(events: Vec<(usize, Event)>) -> Verdict {
        let events = events
            .into_iter()
            .enumerate()
            .map(|(line, (_, event))| (line + 1, event));
        let history = history::pair_events(events).unwrap();
        check(&StoreModel, &history, &CheckOptions::default())
            .unwrap()
            .verdict
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    #[test]
    fn delete_then_absent_read_then_put_is_linearizable() {
        use EventType::*;
        let history = vec![
            event(0, Invoke, "put", "a".into()),
            event(0, Ok, "put", 3.into()),
            event(0, Invoke, "delete", Value::Nil),
            event(0, Ok, "delete", 5.into()),
            event(0, Invoke, "get", Value::Nil),
            event(0, Ok, "get", list(vec![Value::Nil, Value::Nil])),
            event(0, Invoke, "cas", list(vec![Value::Nil, "b".into()])),
            event(0, Ok, "cas", 8.into()),
            event(0, Invoke, "get", Value::Nil),
            event(0, Ok, "get", list(vec!["b".into(), 8.into()])),
        ];
        assert_eq!(verdict(history), Verdict::Ok);
    }

    #[test]
    fn a_lost_write_and_a_reused_version_are_violations() {
        use EventType::*;
        let lost = vec![
            event(0, Invoke, "put", "a".into()),
            event(0, Ok, "put", 3.into()),
            event(1, Invoke, "get", Value::Nil),
            event(1, Ok, "get", list(vec![Value::Nil, Value::Nil])),
        ];
        assert!(matches!(verdict(lost), Verdict::Violation(_)));
        let reused = vec![
            event(0, Invoke, "put", "a".into()),
            event(0, Ok, "put", 3.into()),
            event(0, Invoke, "put", "b".into()),
            event(0, Ok, "put", 3.into()),
        ];
        assert!(matches!(verdict(reused), Verdict::Violation(_)));
    }

    #[test]
    fn an_info_write_may_or_may_not_have_happened() {
        use EventType::*;
        let seen = vec![
            event(0, Invoke, "patch", "+x".into()),
            event(0, Info, "patch", Value::Nil),
            event(1, Invoke, "get", Value::Nil),
            event(1, Ok, "get", list(vec!["+x".into(), 4.into()])),
        ];
        assert_eq!(verdict(seen), Verdict::Ok);
        let not_seen = vec![
            event(0, Invoke, "put", "x".into()),
            event(0, Info, "put", Value::Nil),
            event(1, Invoke, "get", Value::Nil),
            event(1, Ok, "get", list(vec![Value::Nil, Value::Nil])),
        ];
        assert_eq!(verdict(not_seen), Verdict::Ok);
    }

    #[test]
    fn cas_mismatch_and_conditional_reads() {
        use EventType::*;
        let history = vec![
            event(0, Invoke, "put", "a".into()),
            event(0, Ok, "put", 2.into()),
            event(0, Invoke, "cas", list(vec![1.into(), "b".into()])),
            event(0, Ok, "cas", Value::Bool(false)),
            event(0, Invoke, "get_if_modified", 2.into()),
            event(0, Ok, "get_if_modified", "not-modified".into()),
        ];
        assert_eq!(verdict(history), Verdict::Ok);
        let wrong = vec![
            event(0, Invoke, "put", "a".into()),
            event(0, Ok, "put", 2.into()),
            event(0, Invoke, "cas", list(vec![2.into(), "b".into()])),
            event(0, Ok, "cas", Value::Bool(false)),
        ];
        assert!(matches!(verdict(wrong), Verdict::Violation(_)));
    }
}
