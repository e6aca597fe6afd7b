//! Versioned objects: each write gives a strictly greater version; conditional reads and
//! compare-and-set go by version.

use super::kv::append_value;
use crate::{Access, Model, Operation, Value};
use std::borrow::Cow;

/// Versioned objects (`versioned`), one per key, as the store serves them.
///
/// Operations (results in brackets):
/// - `get` → `[value, version]`; an absent key is `[nil, 0]`.
/// - `put` value, `patch` delta (appended, see [`append_value`]), `delete` → the new version
///   (an integer), or `nil` when the client did not learn it.
/// - `get_if_modified` held-version → `"not-modified"` when the held version is the current one,
///   else `[value, version]`.
/// - `cas` `[expected-version, value]` → the new version; `false` records a version mismatch;
///   a `fail` cas did nothing.
///
/// Versions strictly increase but may skip: a write whose new version is unknown leaves the
/// model knowing only a lower bound, which the next observed version settles.
#[derive(Clone, Debug, Default)]
pub struct VersionedObject;

/// The object's value and version. Invariant: `exact` or `version` is only a lower bound.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionedState {
    value: Value,
    version: i64,
    exact: bool,
}

impl VersionedState {
    /// The current value (`nil` when absent).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The current version, or a lower bound of it when not [`Self::is_exact`].
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Whether the version is known exactly (every write's new version was observed).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Whether the current version can be `seen`; if so the state with it settled.
    fn observe(&self, seen: i64) -> Option<VersionedState> {
        let possible = if self.exact {
            seen == self.version
        } else {
            seen >= self.version
        };
        possible.then(|| VersionedState {
            version: seen,
            exact: true,
            ..self.clone()
        })
    }

    /// A write of `value` whose new version is `result` (an integer) or unknown.
    fn write(&self, value: Value, result: Option<&Value>) -> Option<VersionedState> {
        match result.and_then(Value::as_int) {
            Some(new) => (new > self.version).then_some(VersionedState {
                value,
                version: new,
                exact: true,
            }),
            None => Some(VersionedState {
                value,
                version: self.version + 1,
                exact: false,
            }),
        }
    }

    fn read(&self, result: &Value) -> Option<VersionedState> {
        let (value, version) = value_and_version(result).ok()?;
        if *value != self.value {
            return None;
        }
        self.observe(version)
    }
}

fn value_and_version(result: &Value) -> Result<(&Value, i64), String> {
    match result.as_list() {
        Some([value, Value::Int(version)]) => Ok((value, *version)),
        _ => Err(format!("expected [value, version], found {result}")),
    }
}

impl Model for VersionedObject {
    type State = VersionedState;

    fn init(&self) -> VersionedState {
        VersionedState {
            value: Value::Nil,
            version: 0,
            exact: true,
        }
    }

    fn step(&self, state: &VersionedState, op: &Operation) -> Option<VersionedState> {
        let output = op.output.as_ref();
        match op.f.as_str() {
            "get" => output.map_or_else(|| Some(state.clone()), |result| state.read(result)),
            "put" => state.write(op.input.clone(), output),
            "patch" => state.write(append_value(&state.value, &op.input)?, output),
            "delete" => state.write(Value::Nil, output),
            "get_if_modified" => {
                let held = op.input.as_int()?;
                match output {
                    None => Some(state.clone()),
                    Some(Value::Str(word)) if word == "not-modified" => state.observe(held),
                    Some(result) => {
                        let (_, version) = value_and_version(result).ok()?;
                        if version == held {
                            None
                        } else {
                            state.read(result)
                        }
                    }
                }
            }
            "cas" => {
                let [Value::Int(expected), value] = op.input.as_list()? else {
                    return None;
                };
                match output {
                    Some(Value::Bool(false)) => {
                        (!state.exact || state.version != *expected).then(|| state.clone())
                    }
                    None if state.observe(*expected).is_none() => Some(state.clone()),
                    _ => state.observe(*expected)?.write(value.clone(), output),
                }
            }
            _ => None,
        }
    }

    /// With every write's new version known, a state is exact and named by `[value,
    /// version]`: a `get` observes it, a `put` or `delete` that returned its version replaces
    /// it (failing when that version is not above the current one). A patch (its value
    /// depends on the state), a write whose version is unknown, a cas and a "not-modified"
    /// are opaque: a partition with one of them is searched without reductions.
    fn access<'a>(&self, op: &'a Operation) -> Access<'a> {
        let versioned = |value: &Value, version: i64| {
            Cow::Owned(Value::List(vec![value.clone(), Value::Int(version)]))
        };
        match (op.f.as_str(), op.output.as_ref()) {
            ("get" | "get_if_modified", None) => Access::Neutral,
            ("get", Some(result)) => match value_and_version(result) {
                Ok((value, version)) => Access::Observe(versioned(value, version)),
                Err(_) => Access::Opaque,
            },
            ("get_if_modified", Some(result)) => {
                match (value_and_version(result), op.input.as_int()) {
                    (Ok((value, version)), Some(held)) if version != held => {
                        Access::Observe(versioned(value, version))
                    }
                    _ => Access::Opaque,
                }
            }
            ("put", Some(Value::Int(version))) => Access::Replace {
                expected: None,
                new: versioned(&op.input, *version),
            },
            ("delete", Some(Value::Int(version))) => Access::Replace {
                expected: None,
                new: versioned(&Value::Nil, *version),
            },
            _ => Access::Opaque,
        }
    }

    fn partition(&self, op: &Operation) -> Option<Value> {
        op.key.clone()
    }

    fn partition_of<'a>(&self, op: &'a Operation) -> std::borrow::Cow<'a, Option<Value>> {
        std::borrow::Cow::Borrowed(&op.key)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        let output = op.output.as_ref();
        match op.f.as_str() {
            "get" => output.map_or(Ok(()), |result| value_and_version(result).map(drop)),
            "put" | "patch" | "delete" => match output {
                None | Some(Value::Int(_) | Value::Nil) => Ok(()),
                Some(other) => Err(format!(
                    "expected the new version (an integer) or nil, found {other}"
                )),
            },
            "get_if_modified" if op.input.as_int().is_none() => {
                Err("expected the held version (an integer)".to_string())
            }
            "get_if_modified" => match output {
                None | Some(Value::Str(_)) => Ok(()),
                Some(result) => value_and_version(result).map(drop),
            },
            "cas" => match op.input.as_list() {
                Some([Value::Int(_), _]) => Ok(()),
                _ => Err(format!(
                    "expected [expected-version, value], found {}",
                    op.input
                )),
            },
            _ => Err(
                "the versioned model knows get, put, patch, delete, get_if_modified and cas"
                    .to_string(),
            ),
        }
    }
}
