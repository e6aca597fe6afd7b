//! Random small histories for the differential tests: operations with random overlapping times
//! and random outcomes (`ok`, `info`, `fail`), whose results are random too, so many are not
//! linearizable; and the verdicts of one history with and without the reductions.

use history::Process;
use history::{pair_events, CheckOptions, Event, EventType, History, ModelKind, Value, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One operation: its name, key, argument and `ok` result.
pub type Call = (&'static str, Option<Value>, Value, Value);

/// `operations` operations of `clients` clients; `call` picks each (given the client). A client
/// whose operation ends `info` continues under a new process id, as Jepsen's do.
pub fn random_history(
    seed: u64,
    clients: u64,
    operations: usize,
    mut call: impl FnMut(&mut StdRng, usize) -> Call,
) -> History {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut timed: Vec<(u64, u8, Event)> = Vec::new();
    let mut idle_from_ns = vec![0u64; clients as usize];
    let mut process_of: Vec<u64> = (0..clients).collect();
    let mut next_process = clients;
    for _ in 0..operations {
        let client = rng.random_range(0..clients as usize);
        let call_ns = idle_from_ns[client] + rng.random_range(1..20);
        let return_ns = call_ns + rng.random_range(0..30);
        idle_from_ns[client] = return_ns;
        let (f, key, input, output) = call(&mut rng, client);
        let kind = match rng.random_range(0..10) {
            0 | 1 => EventType::Info,
            2 => EventType::Fail,
            _ => EventType::Ok,
        };
        let process = Process::Client(process_of[client]);
        let event = |kind, value, time_ns| Event {
            process,
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
        if kind == EventType::Info {
            process_of[client] = next_process;
            next_process += 1;
        }
    }
    timed.sort_by_key(|(time, order, _)| (*time, *order));
    let events = timed
        .into_iter()
        .enumerate()
        .map(|(index, (_, _, event))| (index + 1, event));
    pair_events(events).expect("random histories pair")
}

/// How long one check of a differential test may search: the plain search of a rare generated
/// violation can take exponential time, and a test must end.
pub const DIFFERENTIAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The verdicts of `history` with the reductions and without them (one thread, verdict only,
/// each within [`DIFFERENTIAL_TIMEOUT`]).
pub fn verdicts(model: ModelKind, history: &History) -> (Verdict, Verdict) {
    let check = |reductions| {
        let options = CheckOptions {
            reductions,
            threads: 1,
            timeout: Some(DIFFERENTIAL_TIMEOUT),
            shrink_checks_max: 0,
            ..CheckOptions::default()
        };
        model.check(Value::Nil, history, &options).unwrap().verdict
    };
    (check(true), check(false))
}

/// Both `ok`, or both a violation; or the plain search ran out of time (it decided nothing to
/// compare). The check with reductions must always decide.
pub fn same_kind(reduced: &Verdict, plain: &Verdict) -> bool {
    matches!(
        (reduced, plain),
        (Verdict::Ok, Verdict::Ok | Verdict::Unknown(_))
            | (
                Verdict::Violation(_),
                Verdict::Violation(_) | Verdict::Unknown(_)
            )
    )
}
