//! Parsing one request line of the line protocol (store/SERVE.md) into a [`Request`].
//!
//! Parsing never fails silently: every malformed line yields a message naming the line and what
//! was expected, which the server sends back as a `malformed_request` answer.

use serde_json::{Map, Value};

use crate::store::CasExpected;

/// Most operations one `batch` request may hold.
pub use crate::store::MAX_BATCH_OPS;

/// One operation inside a `batch` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchRequestOp {
    /// Set `key` to `value`.
    Put { key: String, value: String },
    /// Remove `key`.
    Delete { key: String },
}

/// A request of the line protocol, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Hello,
    Put {
        key: String,
        value: String,
    },
    Patch {
        key: String,
        delta: String,
    },
    Delete {
        key: String,
    },
    Get {
        key: String,
    },
    GetIfModified {
        key: String,
        version: u64,
    },
    Cas {
        key: String,
        expected: CasExpected,
        new_value: String,
    },
    Batch {
        ops: Vec<BatchRequestOp>,
    },
    Snapshot,
    Gc,
    Verify,
}

/// A line split into the request's id (null if none could be read) and the parsed request or a
/// message saying what was expected.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLine {
    /// The request's `id`, copied into the answer.
    pub id: Value,
    /// The request, or why the line is not one.
    pub request: Result<Request, String>,
}

/// Parses line `line_number` (1-based) of the input.
pub fn parse_line(line_number: u64, line: &str) -> ParsedLine {
    let object = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return malformed(Value::Null, line_number, "expected a JSON object".into()),
        Err(error) => {
            let message = format!("expected a JSON object: {error}");
            return malformed(Value::Null, line_number, message);
        }
    };
    let id = match object.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        Some(_) => {
            let message = "expected field \"id\" to be a number or a string".into();
            return malformed(Value::Null, line_number, message);
        }
        None => return malformed(Value::Null, line_number, "expected field \"id\"".into()),
    };
    let request =
        parse_request(&object).map_err(|message| format!("line {line_number}: {message}"));
    ParsedLine { id, request }
}

fn malformed(id: Value, line_number: u64, message: String) -> ParsedLine {
    ParsedLine {
        id,
        request: Err(format!("line {line_number}: {message}")),
    }
}

fn parse_request(object: &Map<String, Value>) -> Result<Request, String> {
    let op = match object.get("op") {
        Some(Value::String(op)) => op.as_str(),
        _ => return Err("expected string field \"op\"".into()),
    };
    let fields = Fields { object, op };
    Ok(match op {
        "hello" => Request::Hello,
        "put" => Request::Put {
            key: fields.string("key")?,
            value: fields.string("value")?,
        },
        "patch" => Request::Patch {
            key: fields.string("key")?,
            delta: fields.string("delta")?,
        },
        "delete" => Request::Delete {
            key: fields.string("key")?,
        },
        "get" => Request::Get {
            key: fields.string("key")?,
        },
        "get_if_modified" => Request::GetIfModified {
            key: fields.string("key")?,
            version: fields.u64("version")?,
        },
        "cas" => Request::Cas {
            key: fields.string("key")?,
            expected: fields.cas_expected()?,
            new_value: fields.string("new_value")?,
        },
        "batch" => Request::Batch {
            ops: fields.batch_ops()?,
        },
        "snapshot" => Request::Snapshot,
        "gc" => Request::Gc,
        "verify" => Request::Verify,
        other => {
            return Err(format!(
                "unknown op {other:?}, expected one of hello, put, patch, delete, get, \
                 get_if_modified, cas, batch, snapshot, gc, verify"
            ))
        }
    })
}

struct Fields<'a> {
    object: &'a Map<String, Value>,
    op: &'a str,
}

impl Fields<'_> {
    fn string(&self, name: &str) -> Result<String, String> {
        match self.object.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(format!("op {:?}: expected string field {name:?}", self.op)),
        }
    }

    fn u64(&self, name: &str) -> Result<u64, String> {
        match self.object.get(name).and_then(Value::as_u64) {
            Some(number) => Ok(number),
            None => Err(format!(
                "op {:?}: expected unsigned integer field {name:?}",
                self.op
            )),
        }
    }

    fn cas_expected(&self) -> Result<CasExpected, String> {
        let by_version = self.object.get("expected_version");
        let by_value = self.object.get("expected_value");
        match (by_version, by_value) {
            (Some(Value::Null), None) | (None, Some(Value::Null)) => Ok(CasExpected::Absent),
            (Some(version), None) => match version.as_u64() {
                Some(version) => Ok(CasExpected::Version(version)),
                None => Err(
                    "op \"cas\": expected \"expected_version\" to be an unsigned \
                             integer or null"
                        .into(),
                ),
            },
            (None, Some(Value::String(value))) => Ok(CasExpected::Value(value.as_bytes().to_vec())),
            (None, Some(_)) => {
                Err("op \"cas\": expected \"expected_value\" to be a string or null".into())
            }
            _ => Err(
                "op \"cas\": expected exactly one of \"expected_version\" and \
                      \"expected_value\""
                    .into(),
            ),
        }
    }

    fn batch_ops(&self) -> Result<Vec<BatchRequestOp>, String> {
        let Some(Value::Array(items)) = self.object.get("ops") else {
            return Err("op \"batch\": expected array field \"ops\"".into());
        };
        if items.is_empty() || items.len() > MAX_BATCH_OPS {
            return Err(format!("op \"batch\": expected 1..={MAX_BATCH_OPS} ops"));
        }
        let mut ops = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let Value::Object(object) = item else {
                return Err(format!("op \"batch\": ops[{index}]: expected an object"));
            };
            let op = match object.get("op") {
                Some(Value::String(op)) => op.as_str(),
                _ => {
                    return Err(format!(
                        "op \"batch\": ops[{index}]: expected string field \"op\""
                    ))
                }
            };
            let fields = Fields { object, op };
            ops.push(match op {
                "put" => BatchRequestOp::Put {
                    key: fields.string("key")?,
                    value: fields.string("value")?,
                },
                "delete" => BatchRequestOp::Delete {
                    key: fields.string("key")?,
                },
                other => {
                    return Err(format!(
                        "op \"batch\": ops[{index}]: unknown op {other:?}, expected put or delete"
                    ))
                }
            });
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_line_parses_or_says_what_was_expected(line in "\\PC{0,80}") {
            if let Err(message) = parse_line(3, &line).request {
                prop_assert!(message.starts_with("line 3: "), "{}", message);
            }
        }

        #[test]
        fn any_object_with_an_id_keeps_its_id(
            op in "[a-z_]{0,16}",
            key in proptest::option::of("[a-z]{0,4}"),
        ) {
            let mut object = serde_json::json!({"id": 5, "op": op});
            if let Some(key) = key {
                object["key"] = Value::from(key);
            }
            prop_assert_eq!(parse_line(1, &object.to_string()).id, Value::from(5));
        }
    }

    #[test]
    fn parses_every_op() {
        let put = parse_line(1, r#"{"id":1,"op":"put","key":"a","value":"x"}"#);
        assert_eq!(put.id, Value::from(1));
        assert_eq!(
            put.request,
            Ok(Request::Put {
                key: "a".into(),
                value: "x".into()
            })
        );
        let cas = parse_line(
            2,
            r#"{"id":"c","op":"cas","key":"a","expected_version":null,"new_value":"y"}"#,
        );
        let expected = Request::Cas {
            key: "a".into(),
            expected: CasExpected::Absent,
            new_value: "y".into(),
        };
        assert_eq!(cas.request, Ok(expected));
        let batch = parse_line(
            3,
            r#"{"id":3,"op":"batch","ops":[{"op":"delete","key":"k"}]}"#,
        );
        let ops = vec![BatchRequestOp::Delete { key: "k".into() }];
        assert_eq!(batch.request, Ok(Request::Batch { ops }));
        for op in ["hello", "snapshot", "gc", "verify"] {
            let line = format!(r#"{{"id":4,"op":"{op}"}}"#);
            assert!(parse_line(4, &line).request.is_ok(), "{op}");
        }
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        let cases = [
            ("not json", Value::Null, "line 7: expected a JSON object"),
            ("[1]", Value::Null, "line 7: expected a JSON object"),
            (
                r#"{"op":"get"}"#,
                Value::Null,
                "line 7: expected field \"id\"",
            ),
            (
                r#"{"id":1}"#,
                Value::from(1),
                "line 7: expected string field \"op\"",
            ),
            (
                r#"{"id":1,"op":"get"}"#,
                Value::from(1),
                "line 7: op \"get\": expected string field \"key\"",
            ),
            (
                r#"{"id":1,"op":"fly"}"#,
                Value::from(1),
                "line 7: unknown op \"fly\"",
            ),
            (
                r#"{"id":1,"op":"batch","ops":[]}"#,
                Value::from(1),
                "line 7: op \"batch\": expected 1..=",
            ),
            (
                r#"{"id":1,"op":"cas","key":"a","expected_version":1,"expected_value":"x","new_value":"y"}"#,
                Value::from(1),
                "line 7: op \"cas\": expected exactly one of",
            ),
        ];
        for (line, id, prefix) in cases {
            let parsed = parse_line(7, line);
            assert_eq!(parsed.id, id, "{line}");
            let message = parsed.request.expect_err(line);
            assert!(message.starts_with(prefix), "{line}: {message}");
        }
    }
}
