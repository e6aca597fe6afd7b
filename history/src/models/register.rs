//! Registers: read / write, and compare-and-set for the CAS register.

use crate::{Access, Model, Operation, Outcome, Value};
use std::borrow::Cow;

/// A single register (`register`), or one with compare-and-set (`cas-register`).
///
/// Operations: `read` (result: the value), `write` (argument: the value), and for the CAS
/// register `cas` with argument `[expected, new]`. A `cas` that completes `ok` applied, unless
/// its result is `false`, which records an observed mismatch; a `fail` cas did nothing.
#[derive(Clone, Debug, Default)]
pub struct Register {
    /// The value before any write (`nil` unless given).
    pub init: Value,
    /// Whether `cas` is allowed.
    pub cas: bool,
}

/// Checks a `[expected, new]` pair.
pub(crate) fn cas_pair(input: &Value) -> Result<(&Value, &Value), String> {
    match input.as_list() {
        Some([expected, new]) => Ok((expected, new)),
        _ => Err(format!(
            "expected the argument [expected, new], found {input}"
        )),
    }
}

/// One register step shared by the register, CAS register and key-value map.
pub(crate) fn register_step(state: &Value, op: &Operation) -> Option<Value> {
    match op.f.as_str() {
        "read" | "get" => match &op.output {
            Some(seen) if seen != state => None,
            _ => Some(state.clone()),
        },
        "write" | "put" => Some(op.input.clone()),
        "cas" => {
            let (expected, new) = cas_pair(&op.input).ok()?;
            match &op.output {
                Some(Value::Bool(false)) => (state != expected).then(|| state.clone()),
                Some(_) => (state == expected).then(|| new.clone()),
                None if state == expected => Some(new.clone()),
                None => Some(state.clone()),
            }
        }
        _ => None,
    }
}

/// The [`Access`] of a register operation (shared with the key-value map); it mirrors
/// [`register_step`] case by case.
pub(crate) fn register_access(op: &Operation) -> Access<'_> {
    match (op.f.as_str(), &op.output) {
        ("read" | "get", Some(seen)) => Access::Observe(Cow::Borrowed(seen)),
        ("read" | "get", None) => Access::Neutral,
        ("write" | "put", _) => Access::Replace {
            expected: None,
            new: Cow::Borrowed(&op.input),
        },
        // A recorded mismatch observes "not `expected`"; an `ok` cas without a result could
        // have been a mismatch.
        ("cas", Some(Value::Bool(false))) => Access::Opaque,
        ("cas", None) if op.outcome != Outcome::Info => Access::Opaque,
        ("cas", _) => match cas_pair(&op.input) {
            Ok((expected, new)) => Access::Replace {
                expected: Some(Cow::Borrowed(expected)),
                new: Cow::Borrowed(new),
            },
            Err(_) => Access::Opaque,
        },
        _ => Access::Opaque,
    }
}

impl Model for Register {
    type State = Value;

    fn init(&self) -> Value {
        self.init.clone()
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        register_step(state, op)
    }

    fn access<'a>(&self, op: &'a Operation) -> Access<'a> {
        register_access(op)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match op.f.as_str() {
            "read" | "write" => Ok(()),
            "cas" if self.cas => cas_pair(&op.input).map(drop),
            _ if self.cas => Err("the CAS register knows read, write and cas".to_string()),
            _ => Err(
                "the register knows read and write (use the cas-register model for cas)"
                    .to_string(),
            ),
        }
    }
}
