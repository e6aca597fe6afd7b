//! `naive-store --dir DIR`: a small, honest line-protocol store (store/SERVE.md) with one
//! planted durability bug: it acknowledges every write at once, after rewriting its data file
//! (write a temporary file, rename it over `data.json`) WITHOUT fsync. A process kill loses
//! nothing (the kernel keeps the page cache), a power cut loses or tears the recent writes.
//!
//! It promises `kill` and `power_cut` survival in `hello`, as a store with this bug would
//! believe it does. One process per directory; requests are served one at a time, in order.
//! An unreadable data file is read as an empty store (it is naive).
//!
//! `--bug refuse-restart` plants a store that will not start on a directory that already holds
//! data (a failed recovery); `--bug verify-problem` one whose `verify` always reports damage.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Map, Value as Json};

/// The whole store: key -> (value, version), and the next version to hand out.
#[derive(Default)]
struct State {
    keys: BTreeMap<String, (String, u64)>,
    last_version: u64,
}

impl State {
    fn load(path: &Path) -> State {
        let Ok(text) = std::fs::read_to_string(path) else {
            return State::default();
        };
        let Ok(Json::Object(object)) = serde_json::from_str::<Json>(&text) else {
            return State::default();
        };
        let mut state = State {
            last_version: object
                .get("last_version")
                .and_then(Json::as_u64)
                .unwrap_or(0),
            ..State::default()
        };
        if let Some(Json::Object(keys)) = object.get("keys") {
            for (key, entry) in keys {
                if let (Some(value), Some(version)) = (entry[0].as_str(), entry[1].as_u64()) {
                    state.keys.insert(key.clone(), (value.to_owned(), version));
                }
            }
        }
        state
    }

    /// The planted bug: no fsync of the file, none of the directory.
    fn save(&self, path: &Path) -> io::Result<()> {
        let keys: Map<String, Json> = self
            .keys
            .iter()
            .map(|(key, (value, version))| (key.clone(), json!([value, version])))
            .collect();
        let text = json!({"last_version": self.last_version, "keys": keys}).to_string();
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path)
    }

    fn next_version(&mut self) -> u64 {
        self.last_version += 1;
        self.last_version
    }

    fn read(&self, key: &str) -> Json {
        match self.keys.get(key) {
            Some((value, version)) => json!({"value": value, "version": version}),
            None => json!({"value": null, "version": null}),
        }
    }

    fn set(&mut self, key: &str, value: String) -> u64 {
        let version = self.next_version();
        self.keys.insert(key.to_owned(), (value, version));
        version
    }
}

/// An answer: `Ok(fields)` is `ok`, `Err(fields)` is `fail`; `wrote` says whether to save.
type Answer = (Result<Json, Json>, bool);

/// A planted bug beyond the missing fsync, for the canaries of other checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
    RefuseRestart,
    VerifyProblem,
}

fn apply(state: &mut State, request: &Map<String, Json>, bug: Bug) -> Answer {
    let text = |name: &str| request.get(name).and_then(Json::as_str).map(str::to_owned);
    let op = text("op").unwrap_or_default();
    let key = text("key").unwrap_or_default();
    match op.as_str() {
        "hello" => (
            Ok(json!({"protocol": 1, "store": "naive-store",
                      "promises": {"kill": "survive", "power_cut": "survive"}})),
            false,
        ),
        "get" => (Ok(state.read(&key)), false),
        "get_if_modified" => {
            let held = request.get("version").and_then(Json::as_u64);
            let current = state.keys.get(&key).map(|(_, version)| *version);
            if current.is_some() && current == held {
                (Ok(json!({"modified": false})), false)
            } else {
                let mut answer = state.read(&key);
                answer["modified"] = json!(true);
                (Ok(answer), false)
            }
        }
        "put" => match text("value") {
            Some(value) => (Ok(json!({"version": state.set(&key, value)})), true),
            None => malformed("put needs a string value"),
        },
        "patch" => match text("delta") {
            Some(delta) => {
                let value = state
                    .keys
                    .get(&key)
                    .map_or(String::new(), |(v, _)| v.clone());
                (
                    Ok(json!({"version": state.set(&key, value + &delta)})),
                    true,
                )
            }
            None => malformed("patch needs a string delta"),
        },
        "delete" => {
            if state.keys.remove(&key).is_some() {
                (
                    Ok(json!({"existed": true, "version": state.next_version()})),
                    true,
                )
            } else {
                (Ok(json!({"existed": false, "version": null})), false)
            }
        }
        "cas" => cas(state, request, &key),
        "batch" => batch(state, request),
        "snapshot" => (
            Ok(
                json!({"covered_lsn": state.last_version, "snapshot": "none",
                                  "segments_deleted": 0}),
            ),
            false,
        ),
        "gc" => (Ok(json!({"blobs_deleted": 0, "blobs_kept": 0})), false),
        "verify" if bug == Bug::VerifyProblem => (
            Ok(json!({"problems": ["data.json: planted problem"]})),
            false,
        ),
        "verify" => (Ok(json!({"problems": []})), false),
        other => malformed(&format!("unknown op {other:?}")),
    }
}

fn cas(state: &mut State, request: &Map<String, Json>, key: &str) -> Answer {
    let Some(new_value) = request.get("new_value").and_then(Json::as_str) else {
        return malformed("cas needs a string new_value");
    };
    let current = state.keys.get(key).cloned();
    let matches = match (
        request.get("expected_version"),
        request.get("expected_value"),
    ) {
        (Some(expected), None) => current.as_ref().map(|(_, v)| *v) == expected.as_u64(),
        (None, Some(expected)) => current.as_ref().map(|(v, _)| v.as_str()) == expected.as_str(),
        _ => return malformed("cas needs exactly one of expected_version and expected_value"),
    };
    if !matches {
        let (value, version) =
            current.map_or((Json::Null, Json::Null), |(v, n)| (json!(v), json!(n)));
        let answer = json!({"error": "mismatch", "message": "cas mismatch",
                            "value": value, "version": version});
        return (Err(answer), false);
    }
    (
        Ok(json!({"version": state.set(key, new_value.to_owned())})),
        true,
    )
}

fn batch(state: &mut State, request: &Map<String, Json>) -> Answer {
    let Some(ops) = request
        .get("ops")
        .and_then(Json::as_array)
        .filter(|ops| !ops.is_empty())
    else {
        return malformed("batch needs a non-empty ops list");
    };
    let version = state.next_version();
    for op in ops {
        let key = op["key"].as_str().unwrap_or_default().to_owned();
        match (op["op"].as_str(), op["value"].as_str()) {
            (Some("put"), Some(value)) => {
                state.keys.insert(key, (value.to_owned(), version));
            }
            (Some("delete"), _) => {
                state.keys.remove(&key);
            }
            _ => return malformed("batch ops are put (key, value) or delete (key)"),
        }
    }
    (Ok(json!({"version": version})), true)
}

fn malformed(message: &str) -> Answer {
    (
        Err(json!({"error": "malformed_request", "message": message})),
        false,
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (dir, bug) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [_, "--dir", dir] => (PathBuf::from(dir), Bug::None),
        [_, "--dir", dir, "--bug", "refuse-restart"] => (PathBuf::from(dir), Bug::RefuseRestart),
        [_, "--dir", dir, "--bug", "verify-problem"] => (PathBuf::from(dir), Bug::VerifyProblem),
        _ => {
            eprintln!("usage: naive-store --dir DIR [--bug refuse-restart|verify-problem]");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("naive-store: creating {}: {error}", dir.display());
        return ExitCode::FAILURE;
    }
    let path = dir.join("data.json");
    if bug == Bug::RefuseRestart && path.exists() {
        eprintln!(
            "naive-store: refusing to start on {} (planted bug)",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let mut state = State::load(&path);
    let stdout = io::stdout();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let request = match serde_json::from_str::<Json>(&line) {
            Ok(Json::Object(request)) => request,
            _ => Map::new(),
        };
        let id = request.get("id").cloned().unwrap_or(Json::Null);
        let (result, wrote) = apply(&mut state, &request, bug);
        let (mut answer, kind) = match result {
            Ok(fields) => (fields, "ok"),
            Err(fields) => (fields, "fail"),
        };
        if wrote {
            if let Err(error) = state.save(&path) {
                answer = json!({"error": "indeterminate", "message": error.to_string()});
                let line = json!({"id": id, "type": "info"});
                let _ = writeln!(stdout.lock(), "{}", merge(line, answer));
                continue;
            }
        }
        let line = merge(json!({"id": id, "type": kind}), answer);
        if writeln!(stdout.lock(), "{line}").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

fn merge(mut head: Json, fields: Json) -> Json {
    if let (Json::Object(head), Json::Object(fields)) = (&mut head, fields) {
        head.extend(fields);
    }
    head
}
