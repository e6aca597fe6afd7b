//! Pairing invocations with completions: events become operations.

use crate::{Event, EventType, Process, Value};
use std::collections::HashMap;

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Took effect; `Operation::output` holds the result.
    Ok,
    /// Definitely did not take effect; the checker ignores it.
    Fail,
    /// May or may not have taken effect, at any time after its call (also: never completed).
    Info,
}

/// One operation: an invocation and its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Index in [`History::operations`].
    pub id: usize,
    /// The client process.
    pub process: u64,
    /// The operation's name.
    pub f: String,
    /// The key it touches, if any.
    pub key: Option<Value>,
    /// The invocation's value (the argument).
    pub input: Value,
    /// The completion's value when `Ok`; `None` when unknown (`Info`) or `Fail`.
    pub output: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// Invocation time (ns, or the event's position when the file has no times).
    pub call_ns: u64,
    /// Completion time; `None` for `Info` (open to the end of the history).
    pub return_ns: Option<u64>,
    /// Line of the invocation in the source file.
    pub line: usize,
}

/// A nemesis event: a fault marked on the time axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What the nemesis did (`kill`, `partition`, `cut-power`, ...).
    pub f: String,
    /// Its value (targets, or whether it started or stopped).
    pub value: Value,
    /// When (ns, or the event's position).
    pub time_ns: u64,
    /// Line in the source file.
    pub line: usize,
}

/// A paired history: operations in invocation order and the faults injected meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Operations ordered by invocation.
    pub operations: Vec<Operation>,
    /// Faults ordered by time.
    pub faults: Vec<Fault>,
}

/// A sequence of events that does not form a history. Malformed input, never a verdict.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PairingError {
    /// A process invoked while its previous operation was still open.
    #[error("line {line}: process {process} invokes while its operation from line {open_line} is still open")]
    DoubleInvoke {
        /// Line of the second invocation.
        line: usize,
        /// The process.
        process: u64,
        /// Line of the open invocation.
        open_line: usize,
    },
    /// A completion without an open invocation of that process.
    #[error("line {line}: process {process} completes an operation it never invoked")]
    CompletionWithoutInvoke {
        /// Line of the completion.
        line: usize,
        /// The process.
        process: u64,
    },
    /// A process invoked again after an `info` completion (it must take a new id).
    #[error("line {line}: process {process} invokes again after its `info` on line {info_line}; a process that crashed or timed out must use a new id")]
    InvokeAfterInfo {
        /// Line of the invocation.
        line: usize,
        /// The process.
        process: u64,
        /// Line of the `info` completion.
        info_line: usize,
    },
    /// The completion names another operation (or key) than its invocation.
    #[error("line {line}: completion of `{found}` does not match the invocation of `{expected}`")]
    MismatchedCompletion {
        /// Line of the completion.
        line: usize,
        /// The invocation's f (and key).
        expected: String,
        /// The completion's f (and key).
        found: String,
    },
    /// Times must not decrease from one event to the next.
    #[error("line {line}: time {time_ns} is earlier than the previous event's {previous_ns}")]
    TimeWentBackwards {
        /// Line of the event.
        line: usize,
        /// Its time.
        time_ns: u64,
        /// The previous event's time.
        previous_ns: u64,
    },
    /// Either every event has a time or none has.
    #[error("line {line}: field `time`: expected on every event or on none")]
    MixedTime {
        /// Line of the first event that differs.
        line: usize,
    },
}

struct Open {
    operation: usize,
}

/// Pairs events (with their line numbers) into a history.
pub fn pair_events(
    events: impl IntoIterator<Item = (usize, Event)>,
) -> Result<History, PairingError> {
    let mut history = History::default();
    let mut open: HashMap<u64, Open> = HashMap::new();
    let mut crashed: HashMap<u64, usize> = HashMap::new();
    let mut timed: Option<bool> = None;
    let mut previous_ns = 0;
    for (position, (line, event)) in events.into_iter().enumerate() {
        if *timed.get_or_insert(event.time_ns.is_some()) != event.time_ns.is_some() {
            return Err(PairingError::MixedTime { line });
        }
        let time_ns = event.time_ns.unwrap_or(position as u64);
        if time_ns < previous_ns {
            return Err(PairingError::TimeWentBackwards {
                line,
                time_ns,
                previous_ns,
            });
        }
        previous_ns = time_ns;
        let process = match event.process {
            Process::Nemesis => {
                history.faults.push(Fault {
                    f: event.f,
                    value: event.value,
                    time_ns,
                    line,
                });
                continue;
            }
            Process::Client(process) => process,
        };
        if event.kind == EventType::Invoke {
            if let Some(&info_line) = crashed.get(&process) {
                return Err(PairingError::InvokeAfterInfo {
                    line,
                    process,
                    info_line,
                });
            }
            if let Some(previous) = open.get(&process) {
                let open_line = history.operations[previous.operation].line;
                return Err(PairingError::DoubleInvoke {
                    line,
                    process,
                    open_line,
                });
            }
            let id = history.operations.len();
            open.insert(process, Open { operation: id });
            history.operations.push(Operation {
                id,
                process,
                f: event.f,
                key: event.key,
                input: event.value,
                output: None,
                outcome: Outcome::Info,
                call_ns: time_ns,
                return_ns: None,
                line,
            });
            continue;
        }
        let Some(Open { operation }) = open.remove(&process) else {
            return Err(PairingError::CompletionWithoutInvoke { line, process });
        };
        let operation = &mut history.operations[operation];
        let key_differs = event.key.is_some() && event.key != operation.key;
        if event.f != operation.f || key_differs {
            let describe = |f: &str, key: &Option<Value>| match key {
                Some(key) => format!("{f} {key}"),
                None => f.to_string(),
            };
            return Err(PairingError::MismatchedCompletion {
                line,
                expected: describe(&operation.f, &operation.key),
                found: describe(&event.f, &event.key),
            });
        }
        match event.kind {
            EventType::Ok => {
                operation.outcome = Outcome::Ok;
                operation.output = Some(event.value);
                operation.return_ns = Some(time_ns);
            }
            EventType::Fail => {
                operation.outcome = Outcome::Fail;
                operation.return_ns = Some(time_ns);
            }
            EventType::Info | EventType::Invoke => {
                crashed.insert(process, line);
            }
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventType::*;

    fn numbered(events: Vec<Event>) -> Vec<(usize, Event)> {
        events
            .into_iter()
            .enumerate()
            .map(|(index, event)| (index + 1, event))
            .collect()
    }

    #[test]
    fn pairs_and_keeps_open_operations_as_info() {
        let events = vec![
            Event::client(0, Invoke, "write", 1.into()),
            Event::client(1, Invoke, "read", Value::Nil),
            Event::client(0, Ok, "write", 1.into()),
            Event::client(0, Invoke, "cas", Value::List(vec![1.into(), 2.into()])),
            Event::client(0, Fail, "cas", Value::Nil),
        ];
        let history = pair_events(numbered(events)).unwrap();
        let outcomes: Vec<_> = history
            .operations
            .iter()
            .map(|op| (op.outcome, op.call_ns, op.return_ns))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                (Outcome::Ok, 0, Some(2)),
                (Outcome::Info, 1, None),
                (Outcome::Fail, 3, Some(4))
            ]
        );
    }

    #[test]
    fn rejects_reuse_after_info_and_other_mistakes() {
        let after_info = vec![
            Event::client(0, Invoke, "write", 1.into()),
            Event::client(0, Info, "write", Value::Nil),
            Event::client(0, Invoke, "read", Value::Nil),
        ];
        assert_eq!(
            pair_events(numbered(after_info)),
            Err(PairingError::InvokeAfterInfo {
                line: 3,
                process: 0,
                info_line: 2
            })
        );
        let double = vec![
            Event::client(0, Invoke, "read", Value::Nil),
            Event::client(0, Invoke, "read", Value::Nil),
        ];
        assert_eq!(
            pair_events(numbered(double)),
            Err(PairingError::DoubleInvoke {
                line: 2,
                process: 0,
                open_line: 1
            })
        );
        let orphan = vec![Event::client(4, Ok, "read", Value::Nil)];
        assert_eq!(
            pair_events(numbered(orphan)),
            Err(PairingError::CompletionWithoutInvoke {
                line: 1,
                process: 4
            })
        );
        let mismatch = vec![
            Event::client(0, Invoke, "read", Value::Nil),
            Event::client(0, Ok, "write", Value::Nil),
        ];
        assert!(matches!(
            pair_events(numbered(mismatch)),
            Err(PairingError::MismatchedCompletion { line: 2, .. })
        ));
        let mut late = Event::client(0, Invoke, "read", Value::Nil);
        late.time_ns = Some(5);
        let mut early = Event::client(0, Ok, "read", Value::Nil);
        early.time_ns = Some(4);
        assert!(matches!(
            pair_events(numbered(vec![late.clone(), early])),
            Err(PairingError::TimeWentBackwards { line: 2, .. })
        ));
        let untimed = Event::client(0, Ok, "read", Value::Nil);
        assert_eq!(
            pair_events(numbered(vec![late, untimed])),
            Err(PairingError::MixedTime { line: 2 })
        );
    }
}
