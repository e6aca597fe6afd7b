//! Events: one line of a history, Jepsen's vocabulary (invoke / ok / fail / info).

use crate::Value;
use std::fmt;

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The process started the operation.
    Invoke,
    /// The operation took effect; the event's value is its result.
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// The operation may or may not have taken effect (crash, timeout); the process is gone.
    /// On a nemesis event, `info` simply records that the fault happened.
    Info,
}

impl EventType {
    /// The name used in JSON lines and EDN (`invoke`, `ok`, `fail`, `info`).
    pub fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    /// Parses a name as written by [`EventType::name`].
    pub fn from_name(name: &str) -> Option<EventType> {
        Some(match name {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            _ => return None,
        })
    }
}

/// Who produced an event: a client process or the nemesis (the fault injector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client process, by id. An id is never reused after an `info` completion.
    Client(u64),
    /// The fault injector; its events mark faults on the time axis and are never checked.
    Nemesis,
}

impl fmt::Display for Process {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(id) => write!(formatter, "{id}"),
            Process::Nemesis => formatter.write_str("nemesis"),
        }
    }
}

/// One event of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Who produced it.
    pub process: Process,
    /// Invoke or one of the three completions.
    pub kind: EventType,
    /// The operation's name (`read`, `write`, `cas`, `put`, `kill`, ...).
    pub f: String,
    /// The key (partition) the operation touches, if any.
    pub key: Option<Value>,
    /// The operation's argument on invoke, its result on `ok`.
    pub value: Value,
    /// Nanoseconds since the start of the run; `None` means "order of the file".
    pub time_ns: Option<u64>,
}

impl Event {
    /// A client event without key or time (handy for writing histories in tests).
    pub fn client(process: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event {
            process: Process::Client(process),
            kind,
            f: f.to_string(),
            key: None,
            value,
            time_ns: None,
        }
    }
}
