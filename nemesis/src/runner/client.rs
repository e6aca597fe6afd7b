//! A client: one Jepsen process at a time, one outstanding request per process id. On `info`
//! the process id is retired and the client carries on under a fresh one, as Jepsen does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use history::{EventType, Process, Value};

use super::cluster::Cluster;
use super::connection::Outcome;
use super::record::{completion, invocation, Recorder};
use super::workload::{ClientWorkload, StoreOp};

/// Shared by every client of a run.
#[derive(Debug)]
pub struct ClientShared<'a> {
    /// Where requests go.
    pub cluster: &'a Cluster,
    /// Where events go.
    pub recorder: &'a Recorder,
    /// Set when the clients must stop after their current request.
    pub stop: &'a AtomicBool,
    /// The next unused process id.
    pub next_process: &'a AtomicU64,
    /// How long a request may stay unanswered before it completes as `info`.
    pub op_timeout: Duration,
}

impl ClientShared<'_> {
    /// A process id never used before in this run.
    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::SeqCst)
    }

    /// Invokes `op` as `process` on slot `slot`, records both events, returns the outcome.
    pub fn perform(&self, process: u64, slot: usize, op: &StoreOp) -> Outcome {
        let (f, key, input) = invocation(op);
        let who = Process::Client(process);
        self.recorder
            .record(who, EventType::Invoke, f, key.clone(), input);
        let outcome = self
            .cluster
            .connection(slot)
            .call(op.to_request(), self.op_timeout);
        let (kind, result) = completion(op, &outcome);
        self.recorder.record(who, kind, f, key, result);
        outcome
    }
}

/// What one client did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientStats {
    /// Requests completed (any outcome).
    pub operations: u64,
    /// Requests completed as `info` (the process id was retired each time).
    pub indeterminate: u64,
}

/// Runs client `index` until `shared.stop` is set. Once a `verify` found the store's data
/// damaged ([`Recorder::damage_reported`]), no client asks for a snapshot or a garbage
/// collection any more: the damage stays on disk for the end-of-run `verify`, where the
/// checks weigh it. An operation the workload races with a garbage collection
/// ([`ClientWorkload::take_gc_race`]) is sent together with a `gc` from a second process id of
/// this client, on the same slot.
pub fn run_client(
    index: usize,
    mut workload: ClientWorkload,
    shared: &ClientShared<'_>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut process = shared.fresh_process();
    while !shared.stop.load(Ordering::SeqCst) {
        let op = workload.next_op();
        let gc_race = workload.take_gc_race();
        if op.is_cleanup() && shared.recorder.damage_reported() {
            continue;
        }
        let outcome = if gc_race && !shared.recorder.damage_reported() {
            perform_raced_by_gc(shared, process, index, &op)
        } else {
            shared.perform(process, index, &op)
        };
        stats.operations += 1;
        match &outcome {
            Outcome::Ok(answer) => observe(&mut workload, &op, answer),
            Outcome::Fail(answer) => observe(&mut workload, &op, answer),
            Outcome::Info(_) => {
                stats.indeterminate += 1;
                process = shared.fresh_process();
                std::thread::sleep(Duration::from_millis(2));
            }
            // The process is down; it is being restarted.
            Outcome::Unsent(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    stats
}

/// Performs `op` as `process` while a `gc` goes to the same slot at once, as a fresh process
/// (retired after it, so its outcome never matters to the client's own process id).
fn perform_raced_by_gc(
    shared: &ClientShared<'_>,
    process: u64,
    slot: usize,
    op: &StoreOp,
) -> Outcome {
    let collector = shared.fresh_process();
    std::thread::scope(|scope| {
        scope.spawn(|| shared.perform(collector, slot, &StoreOp::Gc));
        shared.perform(process, slot, op)
    })
}

/// Remembers versions the store answered, so conditional requests ask about real versions.
fn observe(
    workload: &mut ClientWorkload,
    op: &StoreOp,
    answer: &serde_json::Map<String, serde_json::Value>,
) {
    let key = match op {
        StoreOp::Put { key, .. }
        | StoreOp::Get { key }
        | StoreOp::Patch { key, .. }
        | StoreOp::Cas { key, .. }
        | StoreOp::GetIfModified { key, .. } => key,
        StoreOp::Delete { key } => {
            workload.observe(key, None);
            return;
        }
        _ => return,
    };
    if let Some(version) = answer.get("version") {
        workload.observe(key, version.as_u64());
    }
}

/// Reads every key with fresh process ids from `slot`, retrying a read that does not answer
/// `ok` up to `attempts` times. Returns the keys that could not be read.
pub fn final_reads(
    shared: &ClientShared<'_>,
    slot: usize,
    reads: &[StoreOp],
    attempts: u32,
) -> Vec<String> {
    let mut unread = Vec::new();
    for op in reads {
        let mut done = false;
        for attempt in 0..attempts.max(1) {
            let process = shared.fresh_process();
            if matches!(shared.perform(process, slot, op), Outcome::Ok(_)) {
                done = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20 * u64::from(attempt + 1)));
        }
        if !done {
            let (_, key, _) = invocation(op);
            unread.push(key.map_or_else(String::new, |key: Value| key.to_string()));
        }
    }
    unread
}
