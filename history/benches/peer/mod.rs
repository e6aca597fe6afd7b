//! Porcupine as a peer: the benchmark writes each history as the JSON document the driver in
//! `history/peer/porcupine-driver` reads, runs the driver (named by `PORCUPINE_DRIVER`) on it
//! and reads back its verdict and times. See `history/peer/README.md`.

use crate::timing::{Timing, REPEAT_FOR, RUNS_MAX, RUNS_MIN};
use history::{History, Outcome, Value};
use serde_json::{json, Value as Json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A built Porcupine driver.
pub struct Peer {
    driver: PathBuf,
}

/// One run of the driver on one history (which checks it repeatedly, see [`crate::timing`]).
pub struct PeerRun {
    /// `ok`, `violation` or `unknown` (the same in every repetition, or the driver fails).
    pub verdict: String,
    /// Porcupine's own check, each repetition measured inside the driver after the file was
    /// read and converted.
    pub check: Timing,
    /// Reading and converting the file in the driver (once).
    pub load: Duration,
}

impl Peer {
    /// The driver named by `PORCUPINE_DRIVER`, if set.
    pub fn from_env() -> Option<Result<Peer, String>> {
        let driver = PathBuf::from(std::env::var_os("PORCUPINE_DRIVER")?);
        Some(if driver.is_file() {
            Ok(Peer { driver })
        } else {
            Err(format!(
                "PORCUPINE_DRIVER={}: no such file (build it with history/peer/porcupine-driver/build.sh)",
                driver.display()
            ))
        })
    }

    /// Runs the driver on the history in `path`, giving each check `deadline` and the
    /// benchmark's repetition rule.
    pub fn run(&self, path: &Path, deadline: Duration) -> Result<PeerRun, String> {
        let output = Command::new(&self.driver)
            .arg(format!("-timeout-ms={}", deadline.as_millis()))
            .arg(format!("-runs-min={RUNS_MIN}"))
            .arg(format!("-runs-max={RUNS_MAX}"))
            .arg(format!("-repeat-ms={}", REPEAT_FOR.as_millis()))
            .arg(path)
            .output()
            .map_err(|error| format!("{}: {error}", self.driver.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} exited with {}: {}",
                self.driver.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let answer: Json = serde_json::from_str(stdout.trim())
            .map_err(|error| format!("driver output {stdout:?}: {error}"))?;
        let verdict = answer["verdict"]
            .as_str()
            .ok_or_else(|| format!("driver output {stdout:?}: expected a verdict"))?;
        let runs: Option<Vec<Duration>> = answer["runs_ns"].as_array().map(|runs| {
            runs.iter()
                .filter_map(|run| run.as_u64().map(Duration::from_nanos))
                .collect()
        });
        let check = runs
            .and_then(Timing::new)
            .ok_or_else(|| format!("driver output {stdout:?}: expected runs_ns (a driver built from history/peer/porcupine-driver of this version)"))?;
        let load_ns = answer["parse_ns"]
            .as_u64()
            .ok_or_else(|| format!("driver output {stdout:?}: expected parse_ns"))?;
        Ok(PeerRun {
            verdict: verdict.to_string(),
            check,
            load: Duration::from_nanos(load_ns),
        })
    }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Int(number) => json!(number),
        Value::Str(text) => Json::String(text.clone()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
    }
}

/// Writes `history` for the driver, checked against `model` (`cas-register` or `kv`).
pub fn write_history(path: &Path, model: &str, history: &History) -> std::io::Result<()> {
    let operations: Vec<Json> = history
        .operations
        .iter()
        .map(|op| {
            json!({
                "client": op.process,
                "f": op.f,
                "key": op.key.as_ref().map_or(Json::Null, to_json),
                "input": to_json(&op.input),
                "output": op.output.as_ref().map_or(Json::Null, to_json),
                "outcome": match op.outcome {
                    Outcome::Ok => "ok",
                    Outcome::Fail => "fail",
                    Outcome::Info => "info",
                },
                "call": op.call_ns,
                "return": op.return_ns,
            })
        })
        .collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(
        &mut file,
        &json!({ "model": model, "operations": operations }),
    )?;
    file.flush()
}
