//! Property tests: generated linearizable histories pass; one impossible read makes them fail.

mod common;

use common::gen::{corrupt_one_read, generate, Shape, Workload};
use history::{CheckOptions, Limit, ModelKind, Value, Verdict};
use proptest::prelude::*;

fn model_for(workload: Workload) -> ModelKind {
    match workload {
        Workload::Register => ModelKind::CasRegister,
        Workload::Kv(_) => ModelKind::Kv,
    }
}

fn shapes() -> impl Strategy<Value = Shape> {
    let workload = prop_oneof![Just(Workload::Register), (1u32..6).prop_map(Workload::Kv)];
    (
        any::<u64>(),
        1usize..6,
        1usize..100,
        workload,
        // Every pending `info` operation can double the search; keep them few.
        0u32..50,
        0u32..100,
    )
        .prop_map(
            |(seed, clients, operations, workload, info_per_mille, fail_per_mille)| Shape {
                seed,
                clients,
                operations,
                workload,
                info_per_mille,
                fail_per_mille,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_histories_are_linearizable(shape in shapes()) {
        let history = generate(shape);
        let result = model_for(shape.workload).check(Value::Nil, &history, &CheckOptions::default()).unwrap();
        prop_assert_eq!(result.verdict, Verdict::Ok);
    }

    /// Many concurrent clients: the pruning of stranded observations must keep these fast and
    /// exact (the plain search backtracks exponentially here).
    #[test]
    fn highly_concurrent_register_histories_are_checked_exactly(
        seed in any::<u64>(),
        clients in 10usize..60,
        operations in 50usize..250,
        corrupt in proptest::option::of(any::<usize>()),
    ) {
        let shape = Shape { seed, clients, operations, workload: Workload::Register, info_per_mille: 20, fail_per_mille: 20 };
        let history = generate(shape);
        let (history, expected_ok) = match corrupt.and_then(|choice| corrupt_one_read(&history, choice)) {
            Some(corrupted) => (corrupted, false),
            None => (history, true),
        };
        let options = CheckOptions { timeout: Some(std::time::Duration::from_secs(20)), ..CheckOptions::default() };
        let verdict = ModelKind::CasRegister.check(Value::Nil, &history, &options).unwrap().verdict;
        prop_assert_eq!(matches!(verdict, Verdict::Ok), expected_ok, "{:?}", verdict);
        prop_assert!(!matches!(verdict, Verdict::Unknown(_)));
    }

    #[test]
    fn verdicts_do_not_depend_on_the_thread_count(shape in shapes(), choice in any::<usize>()) {
        let history = generate(shape);
        let history = corrupt_one_read(&history, choice).unwrap_or(history);
        let verdict = |threads| {
            let options = CheckOptions { threads, ..CheckOptions::default() };
            let verdict = model_for(shape.workload).check(Value::Nil, &history, &options).unwrap().verdict;
            matches!(verdict, Verdict::Ok)
        };
        prop_assert_eq!(verdict(1), verdict(4));
    }

    #[test]
    fn one_impossible_read_is_a_violation(shape in shapes(), choice in any::<usize>()) {
        let history = generate(shape);
        let Some(corrupted) = corrupt_one_read(&history, choice) else { return Ok(()) };
        let result = model_for(shape.workload).check(Value::Nil, &corrupted, &CheckOptions::default()).unwrap();
        let Verdict::Violation(violation) = result.verdict else {
            return Err(TestCaseError::fail(format!("{:?}", result.verdict)));
        };
        let corrupted_id = corrupted.operations.iter().find(|op| op.output == Some(Value::Str("never-written".into()))).unwrap().id;
        prop_assert!(violation.core.contains(&corrupted_id));
        if violation.core_minimal {
            prop_assert_eq!(violation.core, vec![corrupted_id]);
        }
    }
}

#[test]
fn running_out_of_memory_is_unknown_never_ok() {
    let shape = Shape {
        seed: 7,
        clients: 10,
        operations: 5_000,
        workload: Workload::Register,
        info_per_mille: 0,
        fail_per_mille: 0,
    };
    let history = generate(shape);
    let options = CheckOptions {
        memory_budget_bytes: 1,
        ..CheckOptions::default()
    };
    let result = ModelKind::CasRegister
        .check(Value::Nil, &history, &options)
        .unwrap();
    assert_eq!(result.verdict, Verdict::Unknown(Limit::Memory));
    let options = CheckOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..CheckOptions::default()
    };
    let result = ModelKind::CasRegister
        .check(Value::Nil, &history, &options)
        .unwrap();
    assert_eq!(result.verdict, Verdict::Unknown(Limit::Deadline));
    let result = ModelKind::CasRegister
        .check(Value::Nil, &history, &CheckOptions::default())
        .unwrap();
    assert_eq!(result.verdict, Verdict::Ok);
}
