//! Registers: read / write, and compare-and-set for the CAS register.

use crate::{Model, Operation, Value};

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

impl Model for Register {
    type State = Value;

    fn init(&self) -> Value {
        self.init.clone()
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        register_step(state, op)
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
