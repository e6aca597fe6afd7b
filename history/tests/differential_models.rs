//! The reductions give the same verdicts as the plain search for the models that declared
//! their accesses later (versioned objects, the mutex), on random small histories with `ok`,
//! `info` and `fail` operations whose results are random (many are not linearizable).

mod common;

use common::random::{random_history, same_kind, verdicts, Call};
use history::{ModelKind, Value, Verdict};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::Rng;

/// The one key every operation is on.
fn key() -> Option<Value> {
    Some(Value::Str("k".to_string()))
}

/// Each client mostly alternates acquire and release (so that both verdicts occur), and now
/// and then does the other one.
fn mutex_calls() -> impl FnMut(&mut StdRng, usize) -> Call {
    let mut holding = [false; 8];
    move |rng, client| {
        let acquire = holding[client] == rng.random_bool(0.1);
        holding[client] = acquire;
        let f = if acquire { "acquire" } else { "release" };
        (f, key(), Value::Nil, Value::Nil)
    }
}

/// Versioned operations replaying one sequential object in generation order (which is not
/// quite real-time order across clients), with a result perturbed now and then; most writes
/// return their version, so that many partitions have no opaque operation.
fn versioned_calls() -> impl FnMut(&mut StdRng, usize) -> Call {
    let (mut current, mut version) = (Value::Nil, 0i64);
    move |rng, _client| {
        let value = |rng: &mut StdRng| match rng.random_range(0..3) {
            0 => Value::Nil,
            n => Value::Str(format!("v{n}")),
        };
        let perturbed = rng.random_bool(0.1);
        let seen = |current: &Value, version: i64, rng: &mut StdRng| {
            if perturbed {
                Value::List(vec![value(rng), Value::Int(rng.random_range(0..4))])
            } else {
                Value::List(vec![current.clone(), Value::Int(version)])
            }
        };
        match rng.random_range(0..10) {
            0..=3 => ("get", key(), Value::Nil, seen(&current, version, rng)),
            4..=7 => {
                let written = if rng.random_bool(0.2) {
                    Value::Nil
                } else {
                    value(rng)
                };
                version += rng.random_range(1..3);
                current = written.clone();
                let f = if written == Value::Nil {
                    "delete"
                } else {
                    "put"
                };
                let result = if rng.random_bool(0.15) {
                    Value::Nil
                } else {
                    Value::Int(version)
                };
                (f, key(), written, result)
            }
            _ => {
                let held = Value::Int(version - rng.random_range(0..2));
                let result = if held == Value::Int(version) {
                    Value::Str("not-modified".to_string())
                } else {
                    seen(&current, version, rng)
                };
                ("get_if_modified", key(), held, result)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutex_reductions_keep_verdicts(seed in any::<u64>(), clients in 1u64..5, operations in 1usize..14) {
        let history = random_history(seed, clients, operations, mutex_calls());
        let (reduced, plain) = verdicts(ModelKind::Mutex, &history);
        prop_assert!(same_kind(&reduced, &plain), "reduced {:?}, plain {:?}", reduced, plain);
    }

    #[test]
    fn versioned_reductions_keep_verdicts(seed in any::<u64>(), clients in 1u64..5, operations in 1usize..14) {
        let history = random_history(seed, clients, operations, versioned_calls());
        let (reduced, plain) = verdicts(ModelKind::Versioned, &history);
        prop_assert!(same_kind(&reduced, &plain), "reduced {:?}, plain {:?}", reduced, plain);
    }
}

/// The comparison above proves something only if both verdicts occur and the reductions
/// change how some violations are found.
#[test]
fn both_verdicts_occur_and_reductions_fire() {
    for model in [ModelKind::Mutex, ModelKind::Versioned] {
        let (mut ok, mut violations, mut decided) = (0, 0, 0);
        for seed in 0..300 {
            let history = match model {
                ModelKind::Mutex => random_history(seed, 3, 8, mutex_calls()),
                _ => random_history(seed, 3, 8, versioned_calls()),
            };
            let (reduced, plain) = verdicts(model, &history);
            match &reduced {
                Verdict::Ok => ok += 1,
                Verdict::Violation(_) => {
                    violations += 1;
                    // Another core or partial linearization: the reductions took another path.
                    if reduced != plain {
                        decided += 1;
                    }
                }
                Verdict::Unknown(_) => {}
            }
        }
        let counts = format!(
            "{}: {ok} ok, {violations} violations, {decided} found otherwise by the reductions",
            model.name()
        );
        assert!(ok > 10 && violations > 20 && decided > 5, "{counts}");
    }
}
