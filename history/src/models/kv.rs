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
/// Invariant: `hash` is [`state_hash`] of `*value`, so states with different hashes differ.
#[derive(Clone, Debug)]
pub struct KvState {
    value: Arc<Value>,
    hash: u64,
}

impl KvState {
    /// The state holding `value`.
    pub fn new(value: Value) -> KvState {
        let hash = state_hash(&value);
        KvState {
            value: Arc::new(value),
            hash,
        }
    }

    /// The state after appending `delta` ([`append_value`]), its hash extended from this
    /// one's when the value is a list (reading only the new items).
    fn appended(&self, delta: &Value) -> Option<KvState> {
        let value = append_value(&self.value, delta)?;
        let hash = match (&*self.value, delta) {
            (Value::List(_), Value::List(more)) => extend_hash(self.hash, more),
            (Value::List(_), element) => extend_hash(self.hash, std::slice::from_ref(element)),
            _ => state_hash(&value),
        };
        Some(KvState {
            value: Arc::new(value),
            hash,
        })
    }

    /// The key's value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Asserts the invariant.
    pub fn check_invariants(&self) {
        assert_eq!(self.hash, state_hash(&self.value), "stale hash");
    }
}

/// What a list's state hash starts from.
const LIST_HASH_SEED: u64 = 0x6c69_7374;

/// The hash of a state holding `value`: a list's folds in its items one by one (so that an
/// append extends it without reading the list again), any other value's is its hash.
fn state_hash(value: &Value) -> u64 {
    match value {
        Value::List(items) => extend_hash(LIST_HASH_SEED, items),
        other => FastHash.hash_one(other),
    }
}

/// A list's state hash `hash` with `items` appended.
fn extend_hash(hash: u64, items: &[Value]) -> u64 {
    items
        .iter()
        .fold(hash, |hash, item| FastHash.hash_one((hash, item)))
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
            "append" => state.appended(&op.input),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appended_state_hashes_as_the_same_value_made_at_once() {
        let list =
            |items: &[i64]| Value::List(items.iter().map(|item| Value::Int(*item)).collect());
        let text = |text: &str| Value::Str(text.to_string());
        let cases = [
            (Value::Nil, list(&[1])),
            (list(&[1]), list(&[2, 3])),
            (list(&[1]), Value::Int(2)),
            (list(&[]), list(&[])),
            (text("ab"), text("c")),
        ];
        for (value, delta) in cases {
            let appended = KvState::new(value.clone()).appended(&delta).unwrap();
            appended.check_invariants();
            let at_once = KvState::new(append_value(&value, &delta).unwrap());
            assert_eq!(appended, at_once);
            assert_eq!(appended.hash, at_once.hash);
        }
        assert!(KvState::new(text("ab")).appended(&list(&[1])).is_none());
    }
}
