//! Running one parsed [`Request`] against a [`Store`] and shaping its JSON answer
//! (store/SERVE.md): `ok` with the result, `fail` when the operation definitely did not happen,
//! `info` when it may have.

use serde_json::{json, Map, Value};

use super::request::{BatchRequestOp, Request};
use crate::state::{Entry, IfModified};
use crate::store::{CasOutcome, Outcome, Store, StoreError};

/// The line protocol's version, answered by `hello`.
pub const PROTOCOL_VERSION: u64 = 1;

/// What the reference store promises per fault kind (the same list as PROTOCOL.md).
pub const PROMISES: [(&str, &str); 7] = [
    ("kill", "survive"),
    ("pause", "survive"),
    ("power_cut", "survive"),
    ("fsync_error", "survive"),
    ("disk_full", "survive"),
    ("bit_flip", "detect"),
    ("misplaced_write", "detect"),
];

/// Builds the answer to a line that is not a valid request.
pub fn malformed_answer(id: Value, message: String) -> Value {
    fail(id, "malformed_request", message, Map::new())
}

/// Runs `request` and returns its answer, tagged with `id`.
pub fn answer(store: &Store, id: Value, request: Request) -> Value {
    match run(store, request) {
        Ok(Answer::Ok(fields)) => with_type(id, "ok", fields),
        Ok(Answer::Mismatch { message, current }) => {
            fail(id, "mismatch", message, entry_fields(current.as_ref()))
        }
        Err(error) => error_answer(id, &error),
    }
}

/// The answer of a server whose store could not be opened (`open_error`): `hello` as usual plus
/// `open_error`, anything else `fail` (nothing was or will be done) with the error's code.
pub fn refuse(id: Value, request: Request, open_error: &StoreError) -> Value {
    let message = format!("the store cannot be opened: {open_error}");
    match request {
        Request::Hello => {
            let mut fields = hello();
            let error = json!({ "error": open_error.code(), "message": message });
            fields.insert("open_error".into(), error);
            with_type(id, "ok", fields)
        }
        _ => fail(id, open_error.code(), message, Map::new()),
    }
}

enum Answer {
    Ok(Map<String, Value>),
    Mismatch {
        message: String,
        current: Option<Entry>,
    },
}

fn run(store: &Store, request: Request) -> Result<Answer, StoreError> {
    let fields = match request {
        Request::Hello => hello(),
        Request::Put { key, value } => version_field(store.put(&key, value.as_bytes())?),
        Request::Patch { key, delta } => version_field(store.patch(&key, delta.as_bytes())?),
        Request::Delete { key } => {
            let deleted_at = store.delete(&key)?;
            object(json!({ "existed": deleted_at.is_some(), "version": deleted_at }))
        }
        Request::Get { key } => entry_fields(store.get(&key)?.as_ref()),
        Request::GetIfModified { key, version } => match store.get_if_modified(&key, version)? {
            IfModified::NotModified => object(json!({ "modified": false })),
            IfModified::Modified(current) => {
                let mut fields = entry_fields(current.as_ref());
                fields.insert("modified".into(), Value::Bool(true));
                fields
            }
        },
        Request::Cas {
            key,
            expected,
            new_value,
        } => match store.cas(&key, &expected, new_value.as_bytes())? {
            CasOutcome::Written(version) => version_field(version),
            CasOutcome::Mismatch(current) => {
                let message = match &current {
                    Some(entry) => format!("key {key:?} is at version {}", entry.version),
                    None => format!("key {key:?} is absent"),
                };
                return Ok(Answer::Mismatch { message, current });
            }
        },
        Request::Batch { ops } => {
            let mut batch = store.batch();
            for op in ops {
                match op {
                    BatchRequestOp::Put { key, value } => batch.put(&key, value.as_bytes())?,
                    BatchRequestOp::Delete { key } => batch.delete(&key)?,
                }
            }
            version_field(batch.commit()?)
        }
        Request::Snapshot => {
            let report = store.snapshot()?;
            object(json!({
                "covered_lsn": report.covered_lsn,
                "snapshot": report.snapshot_blob,
                "segments_deleted": report.segments_deleted,
            }))
        }
        Request::Gc => {
            let report = store.gc()?;
            object(json!({
                "blobs_deleted": report.blobs_deleted,
                "value_blobs_deleted": report.value_blobs_deleted,
                "blobs_kept": report.blobs_kept,
                "temporaries_deleted": report.temporaries_deleted,
                "kept_all_because": report.kept_all_because,
            }))
        }
        Request::Verify => object(json!({ "problems": store.verify()? })),
    };
    Ok(Answer::Ok(fields))
}

fn hello() -> Map<String, Value> {
    let promises: Map<String, Value> = PROMISES
        .iter()
        .map(|(fault, promise)| (fault.to_string(), Value::from(*promise)))
        .collect();
    let mut fields = object(
        json!({ "protocol": PROTOCOL_VERSION, "store": "faultline-reference", "promises": promises }),
    );
    // A planted bug is named, so a runner can check it runs the mutant it asked for.
    if let Some(mutant) = crate::mutant::active() {
        fields.insert("mutant".into(), Value::from(mutant.name()));
    }
    fields
}

fn version_field(version: u64) -> Map<String, Value> {
    object(json!({ "version": version }))
}

/// `value` (or `value_hex` for bytes that are not UTF-8) and `version`, null when absent.
fn entry_fields(entry: Option<&Entry>) -> Map<String, Value> {
    let mut fields = Map::new();
    match entry {
        None => {
            fields.insert("value".into(), Value::Null);
            fields.insert("version".into(), Value::Null);
        }
        Some(entry) => {
            match std::str::from_utf8(&entry.value) {
                Ok(text) => fields.insert("value".into(), Value::from(text)),
                Err(_) => fields.insert("value_hex".into(), Value::from(hex(&entry.value))),
            };
            fields.insert("version".into(), Value::from(entry.version));
        }
    }
    fields
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn error_answer(id: Value, error: &StoreError) -> Value {
    let kind = match error.outcome() {
        Outcome::Determinate => "fail",
        Outcome::Indeterminate => "info",
    };
    let mut fields = Map::new();
    fields.insert("error".into(), Value::from(error.code()));
    fields.insert("message".into(), Value::from(error.to_string()));
    with_type(id, kind, fields)
}

fn fail(id: Value, code: &str, message: String, mut fields: Map<String, Value>) -> Value {
    fields.insert("error".into(), Value::from(code));
    fields.insert("message".into(), Value::from(message));
    with_type(id, "fail", fields)
}

fn with_type(id: Value, kind: &str, fields: Map<String, Value>) -> Value {
    let mut answer = Map::new();
    answer.insert("id".into(), id);
    answer.insert("type".into(), Value::from(kind));
    answer.extend(fields);
    Value::Object(answer)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
