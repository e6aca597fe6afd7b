//! Recording a run: every invocation and completion goes to `history.jsonl` (the history crate's
//! format) the moment it happens, with the faults inline as nemesis events. The file is flushed
//! and fsynced at least every second and at every fault ([`Recorder::sync`]).
//!
//! How store operations become history events ([`invocation`], [`completion`]) is the contract
//! between the runner and [`super::model::StoreModel`]. Large values are recorded by name
//! ([`name_large_values`]), in arguments and in results alike.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use history::{Event, EventType, HistoryWriter, Process, Value};
use serde_json::{Map, Value as Json};

use super::connection::Outcome;
use super::error::RunError;
use super::workload::{name_large_values, BatchWrite, StoreOp};

/// The longest time an event may sit in memory before it is fsynced.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Appends events to a history file. Invariant: times never decrease (taken under the lock).
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    started: Instant,
    inner: Mutex<Inner>,
    /// Set once a `verify` completion with [`VERIFY_PROBLEMS_CODE`] was recorded.
    damage_reported: AtomicBool,
}

#[derive(Debug)]
struct Inner {
    file: BufWriter<File>,
    last_sync: Instant,
    events: u64,
    /// The first write error; the run reports it at the end.
    error: Option<String>,
}

impl Recorder {
    /// Creates the history file at `path`.
    pub fn create(path: &Path) -> Result<Self, RunError> {
        let file = File::create(path).map_err(RunError::io(path))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            started: Instant::now(),
            inner: Mutex::new(Inner {
                file: BufWriter::new(file),
                last_sync: Instant::now(),
                events: 0,
                error: None,
            }),
            damage_reported: AtomicBool::new(false),
        })
    }

    /// Whether a `verify` recorded so far found the store's data damaged
    /// ([`verify_completion`]).
    pub fn damage_reported(&self) -> bool {
        self.damage_reported.load(Ordering::SeqCst)
    }

    /// Milliseconds since the recorder was created (the run's clock).
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Appends one event, stamped with the run's clock.
    pub fn record(
        &self,
        process: Process,
        kind: EventType,
        f: &str,
        key: Option<Value>,
        value: Value,
    ) {
        if f == "verify" && kind == EventType::Fail && value == Value::from(VERIFY_PROBLEMS_CODE) {
            self.damage_reported.store(true, Ordering::SeqCst);
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let event = Event {
            process,
            kind,
            f: f.to_owned(),
            key,
            value,
            time_ns: Some(self.started.elapsed().as_nanos() as u64),
        };
        let written = HistoryWriter::new(&mut inner.file).write(&event);
        inner.events += 1;
        if let Err(error) = written {
            inner.error.get_or_insert(error.to_string());
        }
        if inner.last_sync.elapsed() >= SYNC_INTERVAL {
            sync_inner(&mut inner);
        }
    }

    /// Records a fault as a nemesis event and makes the history durable.
    pub fn fault(&self, name: &str, detail: &str) {
        self.record(
            Process::Nemesis,
            EventType::Info,
            name,
            None,
            Value::from(detail),
        );
        self.sync();
    }

    /// Flushes and fsyncs if the last sync is [`SYNC_INTERVAL`] old (called by the run's main
    /// loop, so events are durable within a second even when no new event arrives).
    pub fn sync_if_due(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner.last_sync.elapsed() >= SYNC_INTERVAL {
                sync_inner(&mut inner);
            }
        }
    }

    /// Flushes and fsyncs what was recorded so far.
    pub fn sync(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            sync_inner(&mut inner);
        }
    }

    /// Syncs and returns how many events were written, or the first write error.
    pub fn finish(&self) -> Result<u64, RunError> {
        let mut inner = self.inner.lock().map_err(|_| RunError::History {
            path: self.path.clone(),
            detail: "the recorder's lock was poisoned".into(),
        })?;
        sync_inner(&mut inner);
        match inner.error.take() {
            Some(detail) => Err(RunError::History {
                path: self.path.clone(),
                detail,
            }),
            None => Ok(inner.events),
        }
    }
}

fn sync_inner(inner: &mut Inner) {
    let synced = inner
        .file
        .flush()
        .and_then(|()| inner.file.get_ref().sync_data());
    if let Err(error) = synced {
        inner.error.get_or_insert(error.to_string());
    }
    inner.last_sync = Instant::now();
}

/// The history event of invoking `op`: its `f`, key and argument.
pub fn invocation(op: &StoreOp) -> (&'static str, Option<Value>, Value) {
    let key = |key: &String| Some(Value::from(key.as_str()));
    match op {
        StoreOp::Put { key: k, value } => ("put", key(k), named(value)),
        StoreOp::Get { key: k } => ("get", key(k), Value::Nil),
        StoreOp::Patch { key: k, delta } => ("patch", key(k), Value::from(delta.as_str())),
        StoreOp::Delete { key: k } => ("delete", key(k), Value::Nil),
        StoreOp::Cas {
            key: k,
            expected_version,
            new_value,
        } => {
            let expected = expected_version.map_or(Value::Nil, version_value);
            ("cas", key(k), Value::List(vec![expected, named(new_value)]))
        }
        StoreOp::GetIfModified { key: k, version } => {
            ("get_if_modified", key(k), version_value(*version))
        }
        StoreOp::Batch { ops } => ("batch", None, batch_value(ops)),
        StoreOp::Snapshot => ("snapshot", None, Value::Nil),
        StoreOp::Gc => ("gc", None, Value::Nil),
        StoreOp::Verify => ("verify", None, Value::Nil),
    }
}

/// The completion event of `op` that ended with `outcome`: its type and result. A `cas`
/// mismatch is an `ok` with result `false` (the model checks it), any other `fail` did nothing
/// and carries the answer's error code (`corrupt`, `unavailable`, ...), which the checker
/// ignores and the detection check counts. A `verify` is [`verify_completion`].
pub fn completion(op: &StoreOp, outcome: &Outcome) -> (EventType, Value) {
    if matches!(op, StoreOp::Verify) {
        return verify_completion(outcome);
    }
    match outcome {
        Outcome::Ok(answer) => (EventType::Ok, ok_result(op, answer)),
        Outcome::Fail(answer)
            if matches!(op, StoreOp::Cas { .. })
                && answer.get("error").and_then(Json::as_str) == Some("mismatch") =>
        {
            (EventType::Ok, Value::Bool(false))
        }
        Outcome::Fail(answer) => {
            let code = answer.get("error").and_then(Json::as_str);
            (EventType::Fail, code.map_or(Value::Nil, Value::from))
        }
        Outcome::Unsent(_) => (EventType::Fail, Value::Nil),
        Outcome::Info(_) => (EventType::Info, Value::Nil),
    }
}

/// The code a `verify` completes with when the store reported problems: the one a read of
/// damaged data answers, so the checks weigh it as they weigh a `corrupt` answer.
pub const VERIFY_PROBLEMS_CODE: &str = "corrupt";

/// The completion of a `verify`. It changes nothing, so it always completes as `fail` (the
/// linearizability check leaves failed operations out, and has no model of `verify`): with
/// [`VERIFY_PROBLEMS_CODE`] when the store answered a non-empty `problems` list (it found its
/// own data damaged), with the store's error code when it could not verify, and with no code
/// when it found no problem or the answer never came.
pub fn verify_completion(outcome: &Outcome) -> (EventType, Value) {
    let code = match outcome {
        Outcome::Ok(answer) => {
            let problems = answer.get("problems").and_then(Json::as_array);
            problems
                .filter(|problems| !problems.is_empty())
                .map(|_| Value::from(VERIFY_PROBLEMS_CODE))
        }
        Outcome::Fail(answer) => answer.get("error").and_then(Json::as_str).map(Value::from),
        Outcome::Unsent(_) | Outcome::Info(_) => None,
    };
    (EventType::Fail, code.unwrap_or(Value::Nil))
}

fn ok_result(op: &StoreOp, answer: &Map<String, Json>) -> Value {
    match op {
        StoreOp::Get { .. } => read_result(answer),
        StoreOp::GetIfModified { .. } => {
            if answer.get("modified").and_then(Json::as_bool) == Some(false) {
                Value::from("not-modified")
            } else {
                read_result(answer)
            }
        }
        StoreOp::Snapshot | StoreOp::Gc | StoreOp::Verify => Value::Nil,
        _ => json_version(answer),
    }
}

/// `[value, version]` of a read answer; `[null, null]` for an absent key.
pub fn read_result(answer: &Map<String, Json>) -> Value {
    let value = match (answer.get("value"), answer.get("value_hex")) {
        (Some(Json::String(text)), _) => named(text),
        (_, Some(Json::String(hex))) => Value::Str(format!("hex:{hex}")),
        _ => Value::Nil,
    };
    Value::List(vec![value, json_version(answer)])
}

fn json_version(answer: &Map<String, Json>) -> Value {
    answer
        .get("version")
        .and_then(Json::as_u64)
        .map_or(Value::Nil, version_value)
}

fn version_value(version: u64) -> Value {
    i64::try_from(version).map_or(Value::Nil, Value::Int)
}

/// A value as the history holds it: a large value by its name.
fn named(value: &str) -> Value {
    Value::from(name_large_values(value).as_ref())
}

fn batch_value(ops: &[BatchWrite]) -> Value {
    let items = ops
        .iter()
        .map(|write| match write {
            BatchWrite::Put { key, value } => {
                Value::List(vec!["put".into(), key.as_str().into(), named(value)])
            }
            BatchWrite::Delete { key } => {
                Value::List(vec!["delete".into(), key.as_str().into(), Value::Nil])
            }
        })
        .collect();
    Value::List(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn answers_become_model_results() {
        let get = StoreOp::Get { key: "k0".into() };
        let absent = Outcome::Ok(answer(json!({"value": null, "version": null})));
        assert_eq!(
            completion(&get, &absent),
            (EventType::Ok, Value::List(vec![Value::Nil, Value::Nil]))
        );
        let cas = StoreOp::Cas {
            key: "k0".into(),
            expected_version: Some(3),
            new_value: "v".into(),
        };
        let mismatch = Outcome::Fail(answer(json!({"error": "mismatch", "version": 4})));
        assert_eq!(
            completion(&cas, &mismatch),
            (EventType::Ok, Value::Bool(false))
        );
        let unavailable = Outcome::Fail(answer(json!({"error": "unavailable"})));
        assert_eq!(completion(&cas, &unavailable).0, EventType::Fail);
        assert_eq!(
            completion(&cas, &Outcome::Info("timeout".into())).0,
            EventType::Info
        );
        let unchanged = StoreOp::GetIfModified {
            key: "k0".into(),
            version: 4,
        };
        let answer = Outcome::Ok(answer(json!({"modified": false})));
        assert_eq!(
            completion(&unchanged, &answer).1,
            Value::from("not-modified")
        );
    }

    #[test]
    fn a_verify_fails_with_corrupt_only_when_the_store_found_problems() {
        let verify = StoreOp::Verify;
        assert_eq!(invocation(&verify), ("verify", None, Value::Nil));
        let sound = Outcome::Ok(answer(json!({"problems": []})));
        assert_eq!(completion(&verify, &sound), (EventType::Fail, Value::Nil));
        let torn = Outcome::Ok(answer(json!({"problems": ["blob v-1: checksum mismatch"]})));
        assert_eq!(
            completion(&verify, &torn),
            (EventType::Fail, Value::from("corrupt"))
        );
        let busy = Outcome::Fail(answer(json!({"error": "unavailable"})));
        assert_eq!(
            completion(&verify, &busy),
            (EventType::Fail, Value::from("unavailable"))
        );
        let lost = Outcome::Info("timeout".into());
        assert_eq!(completion(&verify, &lost), (EventType::Fail, Value::Nil));
    }

    #[test]
    fn large_values_are_recorded_by_name() {
        use crate::runner::workload::{large_value, large_value_name};
        let put = StoreOp::Put {
            key: "k1".into(),
            value: large_value(1).to_owned(),
        };
        assert_eq!(
            invocation(&put).2,
            Value::from(large_value_name(1).as_str())
        );
        let get = StoreOp::Get { key: "k1".into() };
        let patched = format!("{}+c0-3", large_value(1));
        let answer = Outcome::Ok(answer(json!({"value": patched, "version": 9})));
        assert_eq!(
            completion(&get, &answer).1,
            Value::List(vec![
                format!("{}+c0-3", large_value_name(1)).as_str().into(),
                9.into()
            ])
        );
    }

    #[test]
    fn the_recorded_file_reads_back_as_a_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let recorder = Recorder::create(&path).unwrap();
        let op = StoreOp::Put {
            key: "k1".into(),
            value: "c0-1".into(),
        };
        let (f, key, input) = invocation(&op);
        recorder.record(Process::Client(0), EventType::Invoke, f, key.clone(), input);
        recorder.fault("kill_one", "slot 0");
        recorder.record(Process::Client(0), EventType::Info, f, key, Value::Nil);
        assert!(!recorder.damage_reported());
        let (f, key, input) = invocation(&StoreOp::Verify);
        recorder.record(Process::Client(1), EventType::Invoke, f, key.clone(), input);
        let problems = Outcome::Ok(answer(json!({"problems": ["blob v-1: torn"]})));
        let (kind, code) = completion(&StoreOp::Verify, &problems);
        recorder.record(Process::Client(1), kind, f, key, code);
        assert!(recorder.damage_reported());
        assert_eq!(recorder.finish().unwrap(), 5);
        let file = std::io::BufReader::new(File::open(&path).unwrap());
        let history = history::read_jsonl(file).unwrap();
        assert_eq!(history.operations.len(), 2);
        assert_eq!(history.faults.len(), 1);
    }
}
