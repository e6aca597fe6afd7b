//! Generated histories: a sequential execution replayed with random concurrent timing.
//!
//! Each operation gets a linearization point (10 ns apart) and is applied to a sequential
//! object there; its call is up to `window` before and its return up to `window` after, on a
//! process that is idle at that time. The history is therefore linearizable by construction.
//! A few operations fail (not applied) or end `info` (applied or not, at random; the
//! process is then retired and a new id takes its place).

use history::{pair_events, Event, EventType, History, Process, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// What kind of object the generated history exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// CAS register: read, write, cas.
    Register,
    /// A key-value map over this many keys: get, put, append.
    Kv(u32),
}

/// Generation knobs.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub seed: u64,
    pub clients: usize,
    pub operations: usize,
    pub workload: Workload,
    /// Per mille of operations that end `info` / `fail`.
    pub info_per_mille: u32,
    pub fail_per_mille: u32,
}

struct Client {
    process: u64,
    idle_from_ns: u64,
}

/// A linearizable history of the given shape.
pub fn generate(shape: Shape) -> History {
    let mut rng = StdRng::seed_from_u64(shape.seed);
    let window_ns = 10 * shape.clients as u64;
    let mut clients: Vec<Client> = (0..shape.clients as u64)
        .map(|process| Client {
            process,
            idle_from_ns: 0,
        })
        .collect();
    let mut next_process = shape.clients as u64;
    let mut state: HashMap<Option<Value>, Value> = HashMap::new();
    let mut timed: Vec<(u64, u8, Event)> = Vec::new();
    let mut produced = 0;
    let mut point_ns = window_ns + 1;
    while produced < shape.operations {
        point_ns += 10;
        let idle: Vec<usize> = (0..clients.len())
            .filter(|index| clients[*index].idle_from_ns < point_ns)
            .collect();
        if idle.is_empty() {
            continue;
        }
        let client = idle[rng.random_range(0..idle.len())];
        let earliest = (clients[client].idle_from_ns + 1).max(point_ns - window_ns);
        let call_ns = rng.random_range(earliest..=point_ns);
        let return_ns = point_ns + rng.random_range(0..window_ns);
        let key = match shape.workload {
            Workload::Register => None,
            Workload::Kv(keys) => Some(Value::Str(format!("k{}", rng.random_range(0..keys)))),
        };
        let current = state.get(&key).cloned().unwrap_or(Value::Nil);
        // Lists, so that appends always apply to what a write left.
        let written = match shape.workload {
            Workload::Register => Value::Int(produced as i64),
            Workload::Kv(_) => Value::List(vec![Value::Int(produced as i64)]),
        };
        let (f, input, output, next) = match (shape.workload, rng.random_range(0..3)) {
            (_, 0) => ("read", Value::Nil, current.clone(), current.clone()),
            (_, 1) => ("write", written.clone(), written.clone(), written),
            (Workload::Register, _) => {
                let expected = if rng.random_bool(0.5) {
                    current.clone()
                } else {
                    Value::Int(-2)
                };
                let applies = expected == current;
                let input = Value::List(vec![expected, written.clone()]);
                let next = if applies { written } else { current.clone() };
                // A cas that does not apply is recorded as `fail` (Jepsen convention).
                if !applies {
                    push(
                        &mut timed,
                        &clients[client],
                        call_ns,
                        return_ns,
                        "cas",
                        &key,
                        input,
                        EventType::Fail,
                        Value::Nil,
                    );
                    clients[client].idle_from_ns = return_ns;
                    produced += 1;
                    continue;
                }
                ("cas", input.clone(), input, next)
            }
            (Workload::Kv(_), _) => {
                let delta = written;
                let next = history::append_value(&current, &delta).unwrap();
                ("append", delta.clone(), delta, next)
            }
        };
        let roll = rng.random_range(0..1000);
        let kind = if roll < shape.info_per_mille {
            EventType::Info
        } else if roll < shape.info_per_mille + shape.fail_per_mille && f != "read" {
            EventType::Fail
        } else {
            EventType::Ok
        };
        let applied = match kind {
            EventType::Ok => true,
            EventType::Info => rng.random_bool(0.5),
            _ => false,
        };
        if applied {
            state.insert(key.clone(), next);
        }
        push(
            &mut timed,
            &clients[client],
            call_ns,
            return_ns,
            f,
            &key,
            input,
            kind,
            output,
        );
        clients[client].idle_from_ns = return_ns;
        if kind == EventType::Info {
            clients[client] = Client {
                process: next_process,
                idle_from_ns: return_ns,
            };
            next_process += 1;
        }
        produced += 1;
    }
    timed.sort_by_key(|(time, order, _)| (*time, *order));
    let events = timed
        .into_iter()
        .enumerate()
        .map(|(index, (_, _, event))| (index + 1, event));
    pair_events(events).expect("generated histories pair")
}

#[allow(clippy::too_many_arguments)]
fn push(
    timed: &mut Vec<(u64, u8, Event)>,
    client: &Client,
    call_ns: u64,
    return_ns: u64,
    f: &str,
    key: &Option<Value>,
    input: Value,
    kind: EventType,
    output: Value,
) {
    let event = |kind, value, time_ns| Event {
        process: Process::Client(client.process),
        kind,
        f: f.to_string(),
        key: key.clone(),
        value,
        time_ns: Some(time_ns),
    };
    timed.push((call_ns, 0, event(EventType::Invoke, input, call_ns)));
    let output = if kind == EventType::Ok {
        output
    } else {
        Value::Nil
    };
    timed.push((return_ns, 1, event(kind, output, return_ns)));
}

/// The same history with the output of read number `choice` (modulo the reads) replaced by a
/// value no operation ever wrote, so no linearization can exist. `None` if there is no read.
pub fn corrupt_one_read(history: &History, choice: usize) -> Option<History> {
    let reads: Vec<usize> = history
        .operations
        .iter()
        .filter(|op| op.f == "read" && op.output.is_some())
        .map(|op| op.id)
        .collect();
    let target = *reads.get(choice % reads.len().max(1))?;
    let mut corrupted = history.clone();
    corrupted.operations[target].output = Some(Value::Str("never-written".to_string()));
    Some(corrupted)
}

/// The same history with the output of read number `choice` (modulo the reads that allow it)
/// replaced by a stale value: the value of an `ok` write on the same key that a later `ok`
/// write overwrote, both returning before the read was called. Values written are unique, so
/// no linearization can exist, but (unlike [`corrupt_one_read`]) the value was written, and a
/// checker must search to find that out. `None` if no read allows it.
pub fn stale_one_read(history: &History, choice: usize) -> Option<History> {
    let mut candidates = Vec::new();
    // Per key: the last `ok` write returned so far, and the one it overwrote.
    let mut writes: HashMap<Option<Value>, Vec<&history::Operation>> = HashMap::new();
    for op in &history.operations {
        if op.outcome == history::Outcome::Ok && op.f == "write" {
            writes.entry(op.key.clone()).or_default().push(op);
        }
    }
    for read in history
        .operations
        .iter()
        .filter(|op| op.f == "read" && op.output.is_some())
    {
        let Some(key_writes) = writes.get(&read.key) else {
            continue;
        };
        // The latest write that returned before the read was called, and an earlier write
        // that returned before that one was called.
        let before = |limit_ns: u64| {
            key_writes
                .iter()
                .filter(|write| write.return_ns.is_some_and(|ns| ns < limit_ns))
                .max_by_key(|write| write.return_ns)
        };
        let Some(newer) = before(read.call_ns) else {
            continue;
        };
        if let Some(older) = before(newer.call_ns) {
            candidates.push((read.id, older.input.clone()));
        }
    }
    let (target, stale) = candidates.get(choice % candidates.len().max(1))?.clone();
    let mut corrupted = history.clone();
    corrupted.operations[target].output = Some(stale);
    Some(corrupted)
}
