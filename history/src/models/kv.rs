//! A key-value map: each key an independent register with append.

use super::register::{cas_pair, register_access, register_step};
use crate::search::FastHash;
use crate::{Access, Model, Operation, Value};
use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

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

/// The value of one key of a [`KvMap`], shared: the search copies a state at every step it
/// takes, and a copy of this is a pointer (a read, which leaves the value as it is, allocates
/// nothing); its hash is computed once, when the value is made.
///
/// Invariant: `hash` is the hash of `*value`, so states with different hashes differ.
#[derive(Clone, Debug)]
pub struct KvState {
    value: Arc<Value>,
    hash: u64,
}

impl KvState {
    /// The state holding `value`.
    pub fn new(value: Value) -> KvState {
        let hash = FastHash.hash_one(&value);
        KvState {
            value: Arc::new(value),
            hash,
        }
    }

    /// The key's value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Asserts the invariant.
    pub fn check_invariants(&self) {
        assert_eq!(self.hash, FastHash.hash_one(&*self.value), "stale hash");
    }
}

impl PartialEq for KvState {
    fn eq(&self, other: &KvState) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.value, &other.value) || self.value == other.value)
    }
}

impl Eq for KvState {}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Model for KvMap {
    type State = KvState;

    fn init(&self) -> KvState {
        KvState::new(self.init.clone())
    }

    fn step(&self, state: &KvState, op: &Operation) -> Option<KvState> {
        match op.f.as_str() {
            // The common case without a new value: the same state, shared.
            "read" | "get" => match &op.output {
                Some(seen) if seen != state.value() => None,
                _ => Some(state.clone()),
            },
            "append" => append_value(state.value(), &op.input).map(KvState::new),
            "delete" => Some(KvState::new(Value::Nil)),
            _ => {
                let next = register_step(state.value(), op)?;
                // A mismatched compare-and-set leaves the value: keep sharing it.
                Some(if next == *state.value() {
                    state.clone()
                } else {
                    KvState::new(next)
                })
            }
        }
    }

    fn access<'a>(&self, op: &'a Operation) -> Access<'a> {
        match op.f.as_str() {
            "append" => Access::Append(Cow::Borrowed(&op.input)),
            "delete" => Access::Replace {
                expected: None,
                new: Cow::Owned(Value::Nil),
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
