//! Append-only lists (a log per key).

use crate::{Model, Operation, Value};

/// Append-only lists (`list-append`), one per key (no key: one list).
///
/// Operations: `append` (argument: the element), `read` (result: the whole list).
#[derive(Clone, Debug, Default)]
pub struct ListAppend;

impl Model for ListAppend {
    type State = Vec<Value>;

    fn init(&self) -> Vec<Value> {
        Vec::new()
    }

    fn step(&self, state: &Vec<Value>, op: &Operation) -> Option<Vec<Value>> {
        match (op.f.as_str(), &op.output) {
            ("append", _) => Some(state.iter().chain([&op.input]).cloned().collect()),
            ("read", Some(Value::List(seen))) => (seen == state).then(|| state.clone()),
            ("read", Some(Value::Nil)) => state.is_empty().then(Vec::new),
            ("read", None) => Some(state.clone()),
            _ => None,
        }
    }

    fn partition(&self, op: &Operation) -> Option<Value> {
        op.key.clone()
    }

    fn partition_of<'a>(&self, op: &'a Operation) -> std::borrow::Cow<'a, Option<Value>> {
        std::borrow::Cow::Borrowed(&op.key)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match (op.f.as_str(), &op.output) {
            ("append", _) | ("read", None | Some(Value::List(_) | Value::Nil)) => Ok(()),
            ("read", Some(other)) => Err(format!("a read returns a list, found {other}")),
            _ => Err("the list-append model knows append and read".to_string()),
        }
    }
}
