//! A connection to one process of the system under test over the line protocol of
//! store/SERVE.md: requests are written to its stdin as JSON lines, a reader thread matches the
//! answers on its stdout to the waiting callers by `id`, so requests can be pipelined.
//!
//! Anything short of an `ok` or `fail` answer — a timeout, the process dying, an unreadable
//! answer — is [`Outcome::Info`]: the request may or may not have taken effect. A request whose
//! line could not be written because the process was already gone is [`Outcome::Unsent`]: no
//! living process ever read all of it, so it definitely did not happen.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value as Json};

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The operation happened; the answer's fields.
    Ok(Map<String, Json>),
    /// The operation definitely did not happen; the answer's fields (`error`, `message`, ...).
    Fail(Map<String, Json>),
    /// The outcome is unknown, and why.
    Info(String),
    /// The request never reached a living process (the pipe was broken): it did not happen.
    Unsent(String),
}

type Pending = Arc<Mutex<HashMap<u64, Sender<Outcome>>>>;

/// A pipelined connection to one process. Dropping it closes the process's stdin.
#[derive(Debug)]
pub struct Connection {
    stdin: Mutex<Option<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    reader: Option<JoinHandle<()>>,
}

impl Connection {
    /// Starts reading answers from `stdout`; requests go to `stdin`.
    pub fn new(stdin: ChildStdin, stdout: ChildStdout) -> Self {
        let pending: Pending = Arc::default();
        let reader_pending = Arc::clone(&pending);
        let reader = std::thread::Builder::new()
            .name("faultline-answers".into())
            .spawn(move || read_answers(stdout, reader_pending))
            .expect("spawning an answer reader thread");
        Connection {
            stdin: Mutex::new(Some(stdin)),
            pending,
            next_id: AtomicU64::new(1),
            reader: Some(reader),
        }
    }

    /// A connection to nothing: every call is [`Outcome::Unsent`].
    pub fn closed() -> Self {
        Connection {
            stdin: Mutex::new(None),
            pending: Pending::default(),
            next_id: AtomicU64::new(1),
            reader: None,
        }
    }

    /// Closes the process's stdin (it then finishes its requests and exits); later calls are
    /// [`Outcome::Unsent`].
    pub fn close(&self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
    }

    /// Sends `request` (an object without `id`; one is added) and waits up to `timeout`.
    pub fn call(&self, mut request: Map<String, Json>, timeout: Duration) -> Outcome {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        request.insert("id".into(), Json::from(id));
        let (sender, receiver) = mpsc::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, sender);
        }
        let mut line = Json::Object(request).to_string();
        line.push('\n');
        let sent = match self.stdin.lock() {
            Ok(mut stdin) => match stdin.as_mut() {
                Some(stdin) => stdin
                    .write_all(line.as_bytes())
                    .and_then(|()| stdin.flush()),
                None => Err(std::io::Error::other("connection closed")),
            },
            Err(_) => Err(std::io::Error::other("connection lock poisoned")),
        };
        if let Err(error) = sent {
            self.forget(id);
            // The pipe breaks only once no process is left to read it, and a process acts on a
            // whole line only: whatever part of the line went in was never acted on.
            return Outcome::Unsent(format!("could not send the request: {error}"));
        }
        match receiver.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => {
                self.forget(id);
                Outcome::Info(format!("no answer within {} ms", timeout.as_millis()))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Outcome::Info("the process closed its output before answering".into())
            }
        }
    }

    fn forget(&self, id: u64) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
        // The reader ends when the process closes its stdout (it exits or is killed).
        if let Some(reader) = self.reader.take() {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

fn read_answers(stdout: ChildStdout, pending: Pending) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, outcome)) = parse_answer(&line) else {
            continue;
        };
        let waiter = pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
        }
    }
    // Every request still waiting is answered `info` by dropping its sender.
    if let Ok(mut pending) = pending.lock() {
        pending.clear();
    }
}

/// Parses one answer line; `None` for a line that is not an answer to a request of ours.
fn parse_answer(line: &str) -> Option<(u64, Outcome)> {
    let Json::Object(mut answer) = serde_json::from_str::<Json>(line).ok()? else {
        return None;
    };
    let id = answer.remove("id")?.as_u64()?;
    let kind = answer.remove("type")?;
    let outcome = match kind.as_str()? {
        "ok" => Outcome::Ok(answer),
        "fail" => Outcome::Fail(answer),
        "info" => {
            let message = answer
                .get("message")
                .and_then(Json::as_str)
                .unwrap_or("info answer");
            Outcome::Info(message.to_owned())
        }
        other => Outcome::Info(format!("unknown answer type {other:?}")),
    };
    Some((id, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::process::SutProcess;
    use std::process::Stdio;

    fn object(json: Json) -> Map<String, Json> {
        match json {
            Json::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn answers_are_matched_by_id() {
        let line = r#"{"id":5,"type":"fail","error":"mismatch"}"#;
        let (id, outcome) = parse_answer(line).unwrap();
        assert_eq!(id, 5);
        assert_eq!(
            outcome,
            Outcome::Fail(object(serde_json::json!({"error":"mismatch"})))
        );
        assert!(parse_answer("not json").is_none());
        assert!(parse_answer(r#"{"id":null,"type":"fail"}"#).is_none());
    }

    #[test]
    fn an_echo_process_answers_and_a_dead_one_gives_info() {
        // `sed` turns each request into an ok answer with the same id.
        let command = r#"sed -u -E 's/.*"id":([0-9]+).*/{"id":\1,"type":"ok","echo":true}/'"#;
        let (mut process, stdin, stdout) = SutProcess::spawn(command, Stdio::null()).unwrap();
        let connection = Connection::new(stdin, stdout);
        let request = object(serde_json::json!({"op":"get","key":"a"}));
        let outcome = connection.call(request.clone(), Duration::from_secs(5));
        assert_eq!(
            outcome,
            Outcome::Ok(object(serde_json::json!({"echo":true})))
        );
        process.kill().unwrap();
        let outcome = connection.call(request, Duration::from_secs(5));
        assert!(
            matches!(outcome, Outcome::Info(_) | Outcome::Unsent(_)),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_silent_process_times_out_as_info() {
        let (mut process, stdin, stdout) =
            SutProcess::spawn("cat >/dev/null", Stdio::null()).unwrap();
        let connection = Connection::new(stdin, stdout);
        let request = object(serde_json::json!({"op":"get","key":"a"}));
        let outcome = connection.call(request, Duration::from_millis(100));
        assert!(
            matches!(outcome, Outcome::Info(ref why) if why.contains("no answer")),
            "{outcome:?}"
        );
        process.kill().unwrap();
    }
}
