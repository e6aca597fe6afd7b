//! A key-value map: each key an independent register with append.

use super::register::{cas_pair, register_access, register_step};
use crate::{Access, Model, Operation, Value};

/// A key-value map (`kv`), checked key by key.
///
/// Every operation carries a `key`. Operations: `get`/`read` (result: the value, `nil` when
/// absent), `put`/`write` (argument: the value), `append` (argument: a delta appended to the
/// value, see [`append_value`]), `delete`, and `cas` with argument `[expected, new]`.
#[derive(Clone, Debug, Default)]
pub struct KvMap {
    /// The value of a key never written (`nil` unless given).
    pub init: Value,
}

/// Appends `delta` to `current`: strings concatenate, lists extend (a non-list delta is
/// pushed), `nil` becomes the delta. Other combinations are impossible (`None`).
pub fn append_value(current: &Value, delta: &Value) -> Option<Value> {
    match (current, delta) {
        (Value::Nil, delta) => Some(delta.clone()),
        (Value::Str(text), Value::Str(more)) => Some(Value::Str(format!("{text}{more}"))),
        (Value::List(items), Value::List(more)) => {
            Some(Value::List(items.iter().chain(more).cloned().collect()))
        }
        (Value::List(items), element) => Some(Value::List(
            items.iter().chain([element]).cloned().collect(),
        )),
        _ => None,
    }
}

impl Model for KvMap {
    type State = Value;

    fn init(&self) -> Value {
        self.init.clone()
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        match op.f.as_str() {
            "append" => append_value(state, &op.input),
            "delete" => Some(Value::Nil),
            _ => register_step(state, op),
        }
    }

    fn access(&self, op: &Operation) -> Access {
        match op.f.as_str() {
            "append" => Access::Opaque,
            "delete" => Access::Replace {
                expected: None,
                new: Value::Nil,
            },
            _ => register_access(op),
        }
    }

    fn partition(&self, op: &Operation) -> Option<Value> {
        op.key.clone()
    }

    fn partition_of<'a>(&self, op: &'a Operation) -> std::borrow::Cow<'a, Option<Value>> {
        std::borrow::Cow::Borrowed(&op.key)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        if op.key.is_none() {
            return Err("the kv model needs a key on every operation".to_string());
        }
        match op.f.as_str() {
            "get" | "read" | "put" | "write" | "append" | "delete" => Ok(()),
            "cas" => cas_pair(&op.input).map(drop),
            _ => {
                Err("the kv model knows get, read, put, write, append, delete and cas".to_string())
            }
        }
    }
}
