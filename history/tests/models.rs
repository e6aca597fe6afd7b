//! Hand-written histories with known verdicts, for every built-in model.

mod common;

use common::history;
use history::{CheckError, CheckOptions, ModelKind, Value, Verdict};

fn verdict_with(kind: ModelKind, init: Value, text: &str) -> &'static str {
    match kind
        .check(init, &history(text), &CheckOptions::default())
        .unwrap()
        .verdict
    {
        Verdict::Ok => "ok",
        Verdict::Violation(_) => "violation",
        Verdict::Unknown(_) => "unknown",
    }
}

fn verdict(kind: ModelKind, text: &str) -> &'static str {
    verdict_with(kind, Value::Nil, text)
}

#[test]
fn register_sequential_and_stale_reads() {
    let fresh = "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::Register, fresh), "ok");
    let stale = "0 invoke write 1\n0 ok write 1\n0 invoke write 2\n0 ok write 2\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::Register, stale), "violation");
    let concurrent = "0 invoke write 1\n1 invoke read\n1 ok read 1\n0 ok write 1";
    assert_eq!(verdict(ModelKind::Register, concurrent), "ok");
    let concurrent_old = "0 invoke write 1\n1 invoke read\n1 ok read null\n0 ok write 1";
    assert_eq!(verdict(ModelKind::Register, concurrent_old), "ok");
}

#[test]
fn register_initial_value() {
    let read_nil = "0 invoke read\n0 ok read null";
    let read_zero = "0 invoke read\n0 ok read 0";
    assert_eq!(verdict(ModelKind::Register, read_nil), "ok");
    assert_eq!(verdict(ModelKind::Register, read_zero), "violation");
    assert_eq!(
        verdict_with(ModelKind::Register, Value::Int(0), read_zero),
        "ok"
    );
    assert_eq!(
        verdict_with(ModelKind::Register, Value::Int(0), read_nil),
        "violation"
    );
}

#[test]
fn info_write_later_observed_is_ok() {
    let text = "0 invoke write 1\n0 info write\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::Register, text), "ok");
}

#[test]
fn info_write_never_observed_is_ok() {
    let text = "0 invoke write 1\n0 info write\n1 invoke read\n1 ok read null\n1 invoke read\n1 ok read null";
    assert_eq!(verdict(ModelKind::Register, text), "ok");
}

#[test]
fn failed_write_must_not_be_observed() {
    let text = "0 invoke write 1\n0 fail write\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::Register, text), "violation");
    let unobserved = "0 invoke write 1\n0 fail write\n1 invoke read\n1 ok read null";
    assert_eq!(verdict(ModelKind::Register, unobserved), "ok");
}

#[test]
fn info_stays_open_to_the_end_of_the_history() {
    // The crashed write of 1 may land after the later write of 2: only a checker that keeps
    // info operations open (rather than closing them at the info event) accepts this.
    let text = "0 invoke write 1\n0 info write\n1 invoke write 2\n1 ok write 2\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::Register, text), "ok");
    // Once observed, an info write cannot be un-done by going back to the old value.
    let flip_back =
        "0 invoke write 1\n0 info write\n1 invoke read\n1 ok read 1\n1 invoke read\n1 ok read null";
    assert_eq!(verdict(ModelKind::Register, flip_back), "violation");
}

#[test]
fn cas_register() {
    let applied = "0 invoke write 0\n0 ok write 0\n0 invoke cas [0,1]\n0 ok cas [0,1]\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::CasRegister, applied), "ok");
    let wrong_expected = "0 invoke write 5\n0 ok write 5\n0 invoke cas [0,1]\n0 ok cas [0,1]";
    assert_eq!(verdict(ModelKind::CasRegister, wrong_expected), "violation");
    let failed_then_seen = "0 invoke write 0\n0 ok write 0\n0 invoke cas [0,1]\n0 fail cas\n1 invoke read\n1 ok read 1";
    assert_eq!(
        verdict(ModelKind::CasRegister, failed_then_seen),
        "violation"
    );
    let false_mismatch = "0 invoke write 0\n0 ok write 0\n0 invoke cas [0,1]\n0 ok cas false";
    assert_eq!(verdict(ModelKind::CasRegister, false_mismatch), "violation");
    let true_mismatch = "0 invoke write 3\n0 ok write 3\n0 invoke cas [0,1]\n0 ok cas false";
    assert_eq!(verdict(ModelKind::CasRegister, true_mismatch), "ok");
    let info_cas_seen = "0 invoke write 0\n0 ok write 0\n0 invoke cas [0,1]\n0 info cas\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict(ModelKind::CasRegister, info_cas_seen), "ok");
}

#[test]
fn unknown_operations_are_bad_input_not_violations() {
    let cas = history("0 invoke cas [0,1]\n0 ok cas [0,1]");
    let error = ModelKind::Register
        .check(Value::Nil, &cas, &CheckOptions::default())
        .unwrap_err();
    assert!(
        matches!(error, CheckError::InvalidOperation { line: 1, .. }),
        "{error}"
    );
    let no_key = history("0 invoke get\n0 ok get 1");
    assert!(ModelKind::Kv
        .check(Value::Nil, &no_key, &CheckOptions::default())
        .is_err());
    let bad_cas = history("0 invoke cas 3\n0 ok cas 3");
    assert!(ModelKind::CasRegister
        .check(Value::Nil, &bad_cas, &CheckOptions::default())
        .is_err());
}

#[test]
fn kv_checks_keys_independently() {
    let ok = "0 invoke put k=\"x\" 1\n1 invoke put k=\"y\" 2\n0 ok put k=\"x\" 1\n1 ok put k=\"y\" 2\n0 invoke get k=\"x\"\n0 ok get k=\"x\" 1\n1 invoke get k=\"y\"\n1 ok get k=\"y\" 2";
    assert_eq!(verdict(ModelKind::Kv, ok), "ok");
    let crossed =
        "0 invoke put k=\"x\" 1\n0 ok put k=\"x\" 1\n0 invoke get k=\"y\"\n0 ok get k=\"y\" 1";
    let result = ModelKind::Kv
        .check(Value::Nil, &history(crossed), &CheckOptions::default())
        .unwrap();
    let Verdict::Violation(violation) = result.verdict else {
        panic!("{:?}", result.verdict)
    };
    assert_eq!(violation.partition, Some(Value::Str("y".into())));
    assert_eq!(violation.core, vec![1]);
    assert_eq!(result.partitions, 2);
}

#[test]
fn kv_append_and_delete() {
    let appended = "0 invoke append k=1 \"a\"\n0 ok append k=1 \"a\"\n0 invoke append k=1 \"b\"\n0 ok append k=1 \"b\"\n1 invoke get k=1\n1 ok get k=1 \"ab\"";
    assert_eq!(verdict(ModelKind::Kv, appended), "ok");
    assert_eq!(
        verdict(ModelKind::Kv, &appended.replace("\"ab\"", "\"ba\"")),
        "violation"
    );
    let deleted = "0 invoke put k=1 3\n0 ok put k=1 3\n0 invoke delete k=1\n0 ok delete k=1\n0 invoke get k=1\n0 ok get k=1 null";
    assert_eq!(verdict(ModelKind::Kv, deleted), "ok");
    assert_eq!(
        verdict(ModelKind::Kv, &deleted.replace("get k=1 null", "get k=1 3")),
        "violation"
    );
}

#[test]
fn list_append() {
    let ordered = "0 invoke append 1\n0 ok append 1\n0 invoke append 2\n0 ok append 2\n1 invoke read\n1 ok read [1,2]";
    assert_eq!(verdict(ModelKind::ListAppend, ordered), "ok");
    assert_eq!(
        verdict(ModelKind::ListAppend, &ordered.replace("[1,2]", "[2,1]")),
        "violation"
    );
    let concurrent = "0 invoke append 1\n1 invoke append 2\n0 ok append 1\n1 ok append 2\n2 invoke read\n2 ok read [2,1]";
    assert_eq!(verdict(ModelKind::ListAppend, concurrent), "ok");
    let info_seen = "0 invoke append 1\n0 info append\n1 invoke append 2\n1 ok append 2\n1 invoke read\n1 ok read [2,1]";
    assert_eq!(verdict(ModelKind::ListAppend, info_seen), "ok");
    let lost = "0 invoke append 1\n0 ok append 1\n1 invoke read\n1 ok read []";
    assert_eq!(verdict(ModelKind::ListAppend, lost), "violation");
}

#[test]
fn versioned_objects() {
    let base = "0 invoke put k=\"a\" \"v1\"\n0 ok put k=\"a\" 1\n";
    let get = format!("{base}1 invoke get k=\"a\"\n1 ok get k=\"a\" [\"v1\",1]");
    assert_eq!(verdict(ModelKind::Versioned, &get), "ok");
    assert_eq!(
        verdict(
            ModelKind::Versioned,
            &get.replace("[\"v1\",1]", "[\"v1\",2]")
        ),
        "violation"
    );
    let not_modified = format!(
        "{base}1 invoke get_if_modified k=\"a\" 1\n1 ok get_if_modified k=\"a\" \"not-modified\""
    );
    assert_eq!(verdict(ModelKind::Versioned, &not_modified), "ok");
    let stale_not_modified = format!(
        "{base}0 invoke put k=\"a\" \"v2\"\n0 ok put k=\"a\" 2\n{}",
        &not_modified[base.len()..]
    );
    assert_eq!(
        verdict(ModelKind::Versioned, &stale_not_modified),
        "violation"
    );
    let modified_but_same = format!(
        "{base}1 invoke get_if_modified k=\"a\" 1\n1 ok get_if_modified k=\"a\" [\"v1\",1]"
    );
    assert_eq!(
        verdict(ModelKind::Versioned, &modified_but_same),
        "violation"
    );
    let no_increase = format!("{base}0 invoke put k=\"a\" \"v2\"\n0 ok put k=\"a\" 1");
    assert_eq!(verdict(ModelKind::Versioned, &no_increase), "violation");
    let cas = format!("{base}0 invoke cas k=\"a\" [1,\"v2\"]\n0 ok cas k=\"a\" 7\n1 invoke get k=\"a\"\n1 ok get k=\"a\" [\"v2\",7]");
    assert_eq!(verdict(ModelKind::Versioned, &cas), "ok");
    assert_eq!(
        verdict(
            ModelKind::Versioned,
            &cas.replace("[1,\"v2\"]", "[0,\"v2\"]")
        ),
        "violation"
    );
    let info_put = format!("{base}0 invoke patch k=\"a\" \"+\"\n0 info patch k=\"a\"\n1 invoke get k=\"a\"\n1 ok get k=\"a\" [\"v1+\",5]");
    assert_eq!(verdict(ModelKind::Versioned, &info_put), "ok");
    assert_eq!(
        verdict(ModelKind::Versioned, &info_put.replace(",5]", ",1]")),
        "violation"
    );
}

#[test]
fn mutex() {
    let twice = "0 invoke acquire\n0 ok acquire\n1 invoke acquire\n1 ok acquire";
    assert_eq!(verdict(ModelKind::Mutex, twice), "violation");
    let handed_over = "0 invoke acquire\n0 ok acquire\n1 invoke acquire\n0 invoke release\n0 ok release\n1 ok acquire";
    assert_eq!(verdict(ModelKind::Mutex, handed_over), "ok");
    let crashed_holder = "0 invoke acquire\n0 info acquire\n1 invoke acquire\n1 ok acquire";
    assert_eq!(verdict(ModelKind::Mutex, crashed_holder), "ok");
    let release_free = "0 invoke release\n0 ok release";
    assert_eq!(verdict(ModelKind::Mutex, release_free), "violation");
}

#[test]
fn txn_multi_register() {
    let write_both = "0 invoke txn [[\"w\",\"x\",1],[\"w\",\"y\",1]]\n0 ok txn [[\"w\",\"x\",1],[\"w\",\"y\",1]]\n";
    let read_both = format!("{write_both}1 invoke txn [[\"r\",\"x\",null],[\"r\",\"y\",null]]\n1 ok txn [[\"r\",\"x\",1],[\"r\",\"y\",1]]");
    assert_eq!(verdict(ModelKind::Txn, &read_both), "ok");
    let torn = read_both.replace("[\"r\",\"y\",1]]", "[\"r\",\"y\",null]]");
    assert_eq!(verdict(ModelKind::Txn, &torn), "violation");
    let concurrent_torn = "0 invoke txn [[\"w\",\"x\",1],[\"w\",\"y\",1]]\n1 invoke txn [[\"r\",\"x\",null],[\"r\",\"y\",null]]\n1 ok txn [[\"r\",\"x\",1],[\"r\",\"y\",null]]\n0 ok txn [[\"w\",\"x\",1],[\"w\",\"y\",1]]";
    assert_eq!(verdict(ModelKind::Txn, concurrent_torn), "violation");
    let misaligned = history("0 invoke txn [[\"r\",\"x\",null]]\n0 ok txn [[\"r\",\"y\",1]]");
    assert!(ModelKind::Txn
        .check(Value::Nil, &misaligned, &CheckOptions::default())
        .is_err());
}

#[test]
fn violation_core_and_partial_linearization() {
    let stale = "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1\n0 invoke write 2\n0 ok write 2\n1 invoke read\n1 ok read 1\n1 invoke read\n1 ok read 2";
    let plain = CheckOptions {
        reductions: false,
        ..CheckOptions::default()
    };
    let result = ModelKind::Register
        .check(Value::Nil, &history(stale), &plain)
        .unwrap();
    let Verdict::Violation(violation) = result.verdict else {
        panic!("{:?}", result.verdict)
    };
    // The search and the shrinker, which relaxes the reads first: the first read of 1 goes,
    // and the write of 1, the write of 2 after it and the read of 1 after both stay.
    assert_eq!(violation.core, vec![0, 2, 3]);
    assert!(violation.core_minimal);
    assert_eq!(violation.partial_linearization, vec![0, 1, 2]);
    // The stale-read reduction decides it before searching, with the same 1-minimal core.
    let result = ModelKind::Register
        .check(Value::Nil, &history(stale), &CheckOptions::default())
        .unwrap();
    let Verdict::Violation(violation) = result.verdict else {
        panic!("{:?}", result.verdict)
    };
    assert_eq!(violation.core, vec![0, 2, 3]);
    assert!(violation.core_minimal);
    assert!(violation.partial_linearization.is_empty());
}

/// A model written by a user: a counter with `add` and `read`. The trait is all it takes.
struct Counter;

impl history::Model for Counter {
    type State = i64;

    fn init(&self) -> i64 {
        0
    }

    fn step(&self, total: &i64, op: &history::Operation) -> Option<i64> {
        match (op.f.as_str(), &op.output) {
            ("add", _) => Some(total + op.input.as_int()?),
            ("read", Some(seen)) => (seen.as_int() == Some(*total)).then_some(*total),
            ("read", None) => Some(*total),
            _ => None,
        }
    }
}

#[test]
fn a_user_model_catches_a_lost_increment() {
    let fine = history(
        "0 invoke add 2\n1 invoke add 3\n0 ok add 2\n1 ok add 3\n2 invoke read\n2 ok read 5",
    );
    let result = history::check(&Counter, &fine, &CheckOptions::default()).unwrap();
    assert_eq!(result.verdict, Verdict::Ok);
    let lost = history(
        "0 invoke add 2\n1 invoke add 3\n0 ok add 2\n1 ok add 3\n2 invoke read\n2 ok read 3",
    );
    let result = history::check(&Counter, &lost, &CheckOptions::default()).unwrap();
    assert!(matches!(result.verdict, Verdict::Violation(_)));
}
