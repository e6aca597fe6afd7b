//! The reductions before the search (impossible observations, dropped `info` operations) give
//! the same verdict as the plain search, on random small histories with `ok`, `info` and
//! `fail` operations (many of them not linearizable) and on generated ones.

mod common;

use common::gen::{corrupt_one_read, generate, stale_one_read, Shape, Workload};
use common::random::{self, same_kind, verdicts};
use history::{History, ModelKind, Value, Verdict};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::Rng;

/// Random register / kv operations over `values` values (`nil` and 1, 2, ...) with random
/// overlapping times; the results are random too, so many histories are not linearizable.
fn random_history(seed: u64, clients: u64, operations: usize, keyed: bool, values: i64) -> History {
    random::random_history(seed, clients, operations, |rng, _client| {
        let value = |rng: &mut StdRng| match rng.random_range(0..values) {
            0 => Value::Nil,
            n => Value::Int(n),
        };
        let key = keyed.then(|| Value::Str(format!("k{}", rng.random_range(0..2))));
        match rng.random_range(0..3) {
            0 => ("read", key, Value::Nil, value(rng)),
            1 => {
                let written = value(rng);
                ("write", key, written.clone(), written)
            }
            _ => {
                let input = Value::List(vec![value(rng), value(rng)]);
                let output = if rng.random_bool(0.3) {
                    Value::Bool(false)
                } else {
                    input.clone()
                };
                ("cas", key, input, output)
            }
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn reductions_keep_verdicts_on_random_histories(
        seed in any::<u64>(),
        clients in 1u64..5,
        operations in 1usize..14,
        keyed in any::<bool>(),
        cas in any::<bool>(),
        values in 2i64..10,
    ) {
        let history = random_history(seed, clients, operations, keyed, values);
        let model = match (keyed, cas) {
            (true, _) => ModelKind::Kv,
            (false, true) => ModelKind::CasRegister,
            (false, false) => ModelKind::Register,
        };
        let history = if model == ModelKind::Register {
            History {
                operations: history.operations.into_iter().filter(|op| op.f != "cas").enumerate()
                    .map(|(id, op)| history::Operation { id, ..op }).collect(),
                faults: Vec::new(),
            }
        } else {
            history
        };
        let (reduced, plain) = verdicts(model, &history);
        prop_assert!(same_kind(&reduced, &plain), "reduced {:?}, plain {:?}", reduced, plain);
    }

    #[test]
    fn reductions_keep_verdicts_on_generated_histories(
        seed in any::<u64>(),
        clients in 1usize..6,
        operations in 1usize..60,
        info_per_mille in 0u32..150,
        fail_per_mille in 0u32..100,
        corrupt in proptest::option::of(any::<usize>()),
    ) {
        let shape = Shape { seed, clients, operations, workload: Workload::Register, info_per_mille, fail_per_mille };
        let history = generate(shape);
        let history = match corrupt {
            Some(choice) if choice % 2 == 0 => corrupt_one_read(&history, choice).unwrap_or(history),
            Some(choice) => stale_one_read(&history, choice).unwrap_or(history),
            None => history,
        };
        let (reduced, plain) = verdicts(ModelKind::CasRegister, &history);
        prop_assert!(same_kind(&reduced, &plain), "reduced {:?}, plain {:?}", reduced, plain);
    }

    /// Key-value histories with appends (no reductions apply to their partitions, but the
    /// greedy replay that settles a partition does, and the staged searches of several
    /// partitions on one worker do on both sides).
    #[test]
    fn replay_keeps_verdicts_on_generated_kv_histories(
        seed in any::<u64>(),
        clients in 1usize..6,
        operations in 1usize..80,
        keys in 1u32..4,
        info_per_mille in 0u32..150,
        fail_per_mille in 0u32..100,
        corrupt in proptest::option::of(any::<usize>()),
    ) {
        let shape = Shape { seed, clients, operations, workload: Workload::Kv(keys), info_per_mille, fail_per_mille };
        let history = generate(shape);
        let history = match corrupt {
            Some(choice) if choice % 2 == 0 => corrupt_one_read(&history, choice).unwrap_or(history),
            Some(choice) => stale_one_read(&history, choice).unwrap_or(history),
            None => history,
        };
        let (reduced, plain) = verdicts(ModelKind::Kv, &history);
        prop_assert!(same_kind(&reduced, &plain), "reduced {:?}, plain {:?}", reduced, plain);
        if corrupt.is_none() {
            prop_assert_eq!(reduced, Verdict::Ok);
        }
    }
}

/// A value written again after being overwritten: leaving it strands the second read only
/// while no write of it is left.
#[test]
fn a_value_written_twice_is_not_stranded_early() {
    let text = "0 invoke write 1\n0 ok write 1\n0 invoke read\n0 ok read 1\n0 invoke write 2\n0 ok write 2\n1 invoke write 1\n1 ok write 1\n1 invoke read\n1 ok read 1";
    let history = common::history(text);
    for model in [ModelKind::Register, ModelKind::CasRegister] {
        let (reduced, plain) = verdicts(model, &history);
        assert_eq!((reduced, plain), (Verdict::Ok, Verdict::Ok));
    }
}

/// The reductions must actually fire on these histories, or the comparison above proves
/// nothing: count how often a random history is decided or shrunk by them.
#[test]
fn reductions_fire_on_random_histories() {
    let (mut impossible_cores, mut stale_cores, mut violations) = (0, 0, 0);
    for seed in 0..300 {
        let history = random_history(seed, 3, 10, false, 4);
        let (reduced, _) = verdicts(ModelKind::CasRegister, &history);
        if let Verdict::Violation(violation) = reduced {
            violations += 1;
            match (
                violation.partial_linearization.is_empty(),
                violation.core.len(),
            ) {
                (true, 1) => impossible_cores += 1,
                (true, _) => stale_cores += 1,
                _ => {}
            }
        }
    }
    assert!(violations > 30, "{violations} violations");
    assert!(
        impossible_cores > 5,
        "{impossible_cores} decided without a search"
    );
    assert!(
        stale_cores > 5,
        "{stale_cores} stale reads decided without a search"
    );
}
