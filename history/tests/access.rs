//! `Model::access` must agree with `Model::step` exactly (the reductions rest on it), and the
//! models that declare it keep their verdicts with the reductions on and off.

mod common;

use history::{
    Access, CheckOptions, KvMap, KvState, Model, ModelKind, Mutex, Operation, Outcome, Register,
    Value, Verdict, VersionedObject, VersionedState,
};

fn op(f: &str, process: u64, input: Value, output: Option<Value>, outcome: Outcome) -> Operation {
    Operation {
        id: 0,
        process,
        f: f.to_string(),
        key: Some(Value::Str("k".to_string())),
        input,
        output,
        outcome,
        call_ns: 0,
        return_ns: (outcome != Outcome::Info).then_some(1),
        line: 1,
    }
}

fn int(value: i64) -> Value {
    Value::Int(value)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

/// Every state reachable from `init` in `depth` steps of `ops`.
fn reachable<M: Model>(model: &M, ops: &[Operation], depth: usize) -> Vec<M::State> {
    let mut states = vec![model.init()];
    let mut frontier = states.clone();
    for _ in 0..depth {
        let mut next_frontier = Vec::new();
        for state in &frontier {
            for next in ops.iter().filter_map(|op| model.step(state, op)) {
                if !states.contains(&next) {
                    states.push(next.clone());
                    next_frontier.push(next);
                }
            }
        }
        frontier = next_frontier;
    }
    states
}

/// Checks the contract of [`Access`] for every (state, operation) pair; `name` gives a
/// state's value (`None`: the state has no value, only opaque operations reach it). Returns
/// how many pairs were checked with a declared access.
fn check_contract<M: Model>(
    model: &M,
    ops: &[Operation],
    name: impl Fn(&M::State) -> Option<Value>,
) -> usize {
    let states = reachable(model, ops, 3);
    let mut checked = 0;
    for state in &states {
        let Some(value) = name(state) else { continue };
        for op in ops {
            let step = model.step(state, op);
            let context = format!(
                "{} from {state:?}: {:?} gives {step:?}",
                op.f,
                model.access(op)
            );
            match model.access(op) {
                Access::Observe(seen) => {
                    assert_eq!(step.is_some(), value == *seen, "{context}");
                    assert!(step.iter().all(|next| next == state), "{context}");
                }
                Access::Neutral => assert_eq!(step.as_ref(), Some(state), "{context}"),
                Access::Replace { expected, new } => {
                    let applies = expected.as_ref().is_none_or(|expected| **expected == value);
                    match step {
                        Some(next) if applies => {
                            assert_eq!(name(&next), Some(new.into_owned()), "{context}")
                        }
                        Some(next) => {
                            assert!(op.outcome == Outcome::Info && next == *state, "{context}")
                        }
                        // An `ok` operation may fail from states its model rules out.
                        None => assert!(
                            !applies || (expected.is_none() && op.outcome == Outcome::Ok),
                            "{context}"
                        ),
                    }
                }
                Access::Append(delta) => {
                    let appended = history::append_value(&value, &delta);
                    assert_eq!(
                        step.map(|next| name(&next)),
                        appended.map(Some),
                        "{context}"
                    );
                }
                Access::Opaque => continue,
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn register_and_kv_accesses_agree_with_their_steps() {
    let values = [Value::Nil, int(1), int(2)];
    let mut ops = Vec::new();
    for value in &values {
        ops.push(op("read", 0, Value::Nil, Some(value.clone()), Outcome::Ok));
        ops.push(op(
            "write",
            0,
            value.clone(),
            Some(value.clone()),
            Outcome::Ok,
        ));
        ops.push(op("write", 0, value.clone(), None, Outcome::Info));
        for new in &values {
            let pair = list(vec![value.clone(), new.clone()]);
            ops.push(op("cas", 0, pair.clone(), Some(pair.clone()), Outcome::Ok));
            ops.push(op("cas", 0, pair.clone(), None, Outcome::Info));
            ops.push(op("cas", 0, pair, Some(Value::Bool(false)), Outcome::Ok));
        }
    }
    ops.push(op("read", 0, Value::Nil, None, Outcome::Info));
    ops.push(op("delete", 0, Value::Nil, None, Outcome::Ok));
    let register = Register {
        init: Value::Nil,
        cas: true,
    };
    assert!(check_contract(&register, &ops, |state| Some(state.clone())) > 50);
    ops.push(op("append", 0, list(vec![int(3)]), None, Outcome::Ok));
    let kv_value = |state: &KvState| {
        state.check_invariants();
        Some(state.value().clone())
    };
    assert!(check_contract(&KvMap::default(), &ops, kv_value) > 50);
}

#[test]
fn versioned_accesses_agree_with_their_steps() {
    let name = |state: &VersionedState| {
        state
            .is_exact()
            .then(|| list(vec![state.value().clone(), int(state.version())]))
    };
    let mut ops = Vec::new();
    for version in 0..4 {
        for value in [Value::Nil, Value::Str("a".into()), Value::Str("b".into())] {
            let result = list(vec![value.clone(), int(version)]);
            ops.push(op("get", 0, Value::Nil, Some(result.clone()), Outcome::Ok));
            for held in 0..3 {
                ops.push(op(
                    "get_if_modified",
                    0,
                    int(held),
                    Some(result.clone()),
                    Outcome::Ok,
                ));
            }
            ops.push(op("put", 0, value.clone(), Some(int(version)), Outcome::Ok));
        }
        ops.push(op("delete", 0, Value::Nil, Some(int(version)), Outcome::Ok));
        ops.push(op(
            "get_if_modified",
            0,
            int(version),
            Some(Value::Str("not-modified".into())),
            Outcome::Ok,
        ));
        ops.push(op(
            "cas",
            0,
            list(vec![int(version), Value::Str("c".into())]),
            Some(int(version + 1)),
            Outcome::Ok,
        ));
    }
    ops.push(op("get", 0, Value::Nil, None, Outcome::Info));
    ops.push(op("put", 0, Value::Str("d".into()), None, Outcome::Info));
    ops.push(op(
        "patch",
        0,
        Value::Str("+".into()),
        Some(int(3)),
        Outcome::Ok,
    ));
    assert!(check_contract(&VersionedObject, &ops, name) > 200);
}

#[test]
fn mutex_accesses_agree_with_their_steps() {
    let mut ops = Vec::new();
    for process in 0..3 {
        for outcome in [Outcome::Ok, Outcome::Info] {
            let output = (outcome == Outcome::Ok).then_some(Value::Nil);
            ops.push(op("acquire", process, Value::Nil, output.clone(), outcome));
            ops.push(op("release", process, Value::Nil, output, outcome));
        }
    }
    let name = |holder: &Option<u64>| Some(holder.map_or(Value::Nil, |p| int(p as i64)));
    assert!(check_contract(&Mutex, &ops, name) > 30);
}

/// The verdict with the reductions on, after checking that the plain search agrees.
fn verdict(kind: ModelKind, text: &str) -> Verdict {
    let history = common::history(text);
    let reduced = kind
        .check(Value::Nil, &history, &CheckOptions::default())
        .unwrap()
        .verdict;
    let plain = CheckOptions {
        reductions: false,
        ..CheckOptions::default()
    };
    let plain = kind.check(Value::Nil, &history, &plain).unwrap().verdict;
    assert_eq!(
        std::mem::discriminant(&reduced),
        std::mem::discriminant(&plain),
        "reduced {reduced:?}, plain {plain:?}"
    );
    reduced
}

#[test]
fn the_mutex_knows_its_holder() {
    let handed_over = "0 invoke acquire\n0 ok acquire\n1 invoke acquire\n0 invoke release\n0 ok release\n1 ok acquire\n1 invoke release\n1 ok release";
    assert_eq!(verdict(ModelKind::Mutex, handed_over), Verdict::Ok);
    let released_by_another = "0 invoke acquire\n0 ok acquire\n1 invoke release\n1 ok release";
    let Verdict::Violation(violation) = verdict(ModelKind::Mutex, released_by_another) else {
        panic!("a release by a process that does not hold the mutex");
    };
    assert_eq!(violation.core, vec![1]);
    let reentrant = "0 invoke acquire\n0 ok acquire\n0 invoke acquire\n0 ok acquire";
    assert!(matches!(
        verdict(ModelKind::Mutex, reentrant),
        Verdict::Violation(_)
    ));
    // The holder crashed while releasing: the release may have happened.
    let crashed_release = "0 invoke acquire\n0 ok acquire\n0 invoke release\n0 info release\n1 invoke acquire\n1 ok acquire";
    assert_eq!(verdict(ModelKind::Mutex, crashed_release), Verdict::Ok);
    // A crashed acquire may have taken the mutex for good: a later acquire is still fine
    // (it did not), but two later holders at once are not.
    let crashed_acquire = "0 invoke acquire\n0 info acquire\n1 invoke acquire\n1 ok acquire\n2 invoke acquire\n2 ok acquire";
    assert!(matches!(
        verdict(ModelKind::Mutex, crashed_acquire),
        Verdict::Violation(_)
    ));
}

#[test]
fn versioned_stale_reads_are_decided_before_searching() {
    let text = "0 invoke put k=\"a\" \"v1\"\n0 ok put k=\"a\" 1\n0 invoke put k=\"a\" \"v2\"\n0 ok put k=\"a\" 2\n1 invoke get k=\"a\"\n1 ok get k=\"a\" [\"v1\",1]";
    let Verdict::Violation(violation) = verdict(ModelKind::Versioned, text) else {
        panic!("a read of an overwritten version");
    };
    assert_eq!(violation.core, vec![0, 1, 2]);
    assert!(
        violation.partial_linearization.is_empty(),
        "decided by a reduction"
    );
    let fresh = text.replace("[\"v1\",1]", "[\"v2\",2]");
    assert_eq!(verdict(ModelKind::Versioned, &fresh), Verdict::Ok);
    // A patch makes the partition opaque: searched, same verdict.
    let patched = format!("{text}\n2 invoke patch k=\"a\" \"+\"\n2 ok patch k=\"a\" 3");
    let Verdict::Violation(violation) = verdict(ModelKind::Versioned, &patched) else {
        panic!("still stale");
    };
    assert!(!violation.partial_linearization.is_empty(), "searched");
}
