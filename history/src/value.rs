//! `Value`: the data an operation carries (inputs, outputs, keys, model states).

use std::fmt;

/// A value in a history: what an operation wrote, read or compared.
///
/// The same small data model serves JSON lines (`null`, booleans, integers, strings, arrays)
/// and EDN (`nil`, keywords become strings without the colon, vectors and lists become
/// `List`). Floats and maps are not values: a history carrying one is malformed input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// No value: a register never written, an absent key, an invoke's unknown result.
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A string (EDN keywords and symbols are read as strings).
    Str(String),
    /// An ordered list (JSON array, EDN vector, list or set).
    List(Vec<Value>),
}

impl Value {
    /// The elements if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The integer if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// The string if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// Parses a value written as JSON (`null`, `3`, `"x"`, `[1, 2]`); `Err` says why not.
    pub fn parse_json(text: &str) -> Result<Value, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|error| error.to_string())?;
        Value::from_json(&json).map_err(|found| format!("expected a value, found {found}"))
    }

    /// Converts parsed JSON; `Err` names what was found instead of a value.
    pub(crate) fn from_json(json: &serde_json::Value) -> Result<Value, String> {
        Ok(match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(flag) => Value::Bool(*flag),
            serde_json::Value::Number(number) => match number.as_i64() {
                Some(int) => Value::Int(int),
                None => return Err(format!("the number {number}")),
            },
            serde_json::Value::String(text) => Value::Str(text.clone()),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(_) => return Err("an object".to_string()),
        })
    }

    /// Converts to JSON for writing.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Int(int) => serde_json::Value::from(*int),
            Value::Str(text) => serde_json::Value::String(text.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
        }
    }
}

impl From<i64> for Value {
    fn from(int: i64) -> Value {
        Value::Int(int)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Str(text.to_string())
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::List(items)
    }
}

/// Displays JSON-like: `nil`, `true`, `3`, `"x"`, `[1, 2]`.
impl fmt::Display for Value {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => formatter.write_str("nil"),
            Value::Bool(flag) => write!(formatter, "{flag}"),
            Value::Int(int) => write!(formatter, "{int}"),
            Value::Str(text) => write!(formatter, "{text:?}"),
            Value::List(items) => {
                formatter.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(", ")?;
                    }
                    write!(formatter, "{item}")?;
                }
                formatter.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_rejections() {
        let json: serde_json::Value =
            serde_json::from_str(r#"[null, true, -3, "a", [1]]"#).unwrap();
        let value = Value::from_json(&json).unwrap();
        assert_eq!(value.to_json(), json);
        assert_eq!(value.to_string(), r#"[nil, true, -3, "a", [1]]"#);
        assert!(Value::from_json(&serde_json::json!(1.5)).is_err());
        assert!(Value::from_json(&serde_json::json!({"a": 1})).is_err());
    }
}
