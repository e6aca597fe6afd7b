//! Transactions over several registers, checked as one object.

use super::kv::append_value;
use crate::{Model, Operation, Value};
use std::collections::BTreeMap;

/// Multi-register transactions (`txn`), Jepsen style. Not partitioned.
///
/// One operation `txn` whose argument is a list of micro-operations `[f, key, value]`:
/// `["r", k, nil]` reads, `["w", k, v]` writes, `["append", k, v]` appends (see
/// [`append_value`]). The `ok` result is the same list with the reads' values filled in.
/// A store's multi-key `batch` is recorded as a `txn` of writes.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    /// The value of a register never written (`nil` unless given).
    pub init: Value,
}

fn micro_ops(value: &Value) -> Result<Vec<(&str, &Value, &Value)>, String> {
    let items = value
        .as_list()
        .ok_or_else(|| format!("expected a list of [f, key, value], found {value}"))?;
    items
        .iter()
        .map(|item| match item.as_list() {
            Some([Value::Str(f), key, value]) if matches!(f.as_str(), "r" | "w" | "append") => {
                Ok((f.as_str(), key, value))
            }
            _ => Err(format!(
                "expected a micro-operation [\"r\"|\"w\"|\"append\", key, value], found {item}"
            )),
        })
        .collect()
}

impl Model for Txn {
    type State = BTreeMap<Value, Value>;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(&self, state: &Self::State, op: &Operation) -> Option<Self::State> {
        let input = micro_ops(&op.input).ok()?;
        let output = match &op.output {
            Some(output) => Some(micro_ops(output).ok()?),
            None => None,
        };
        let mut next = state.clone();
        for (index, (f, key, value)) in input.into_iter().enumerate() {
            let current = next.get(key).unwrap_or(&self.init);
            match f {
                "r" => {
                    if output
                        .as_ref()
                        .is_some_and(|output| output[index].2 != current)
                    {
                        return None;
                    }
                }
                "w" => {
                    next.insert(key.clone(), value.clone());
                }
                _ => {
                    let appended = append_value(current, value)?;
                    next.insert(key.clone(), appended);
                }
            }
        }
        Some(next)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        if op.f != "txn" {
            return Err("the txn model knows only txn".to_string());
        }
        let input = micro_ops(&op.input)?;
        let Some(output) = &op.output else {
            return Ok(());
        };
        let output = micro_ops(output)?;
        let aligned = input.len() == output.len()
            && input
                .iter()
                .zip(&output)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
        if aligned {
            Ok(())
        } else {
            Err("the result must list the same micro-operations as the argument".to_string())
        }
    }
}
