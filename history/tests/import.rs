//! Importers and exporter, on the fixtures in `tests/fixtures` (see its README).

use history::import::{read_edn, read_etcd_log, ImportError};
use history::{
    export::write_edn, read_jsonl, CheckOptions, History, ModelKind, Outcome, Value, Verdict,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn verdict(kind: ModelKind, history: &History) -> Verdict {
    kind.check(Value::Nil, history, &CheckOptions::default())
        .unwrap()
        .verdict
}

#[test]
fn knossos_cas_register_histories() {
    let ok = read_edn(&fixture("cas-register-ok.edn"), false).unwrap();
    assert_eq!(ok.operations.len(), 5);
    assert_eq!(ok.faults.len(), 2);
    assert_eq!(ok.operations[1].outcome, Outcome::Info);
    assert_eq!(
        ok.operations[1].input,
        Value::List(vec![Value::Int(1), Value::Int(3)])
    );
    assert_eq!(verdict(ModelKind::CasRegister, &ok), Verdict::Ok);
    let bad = read_edn(&fixture("cas-register-bad.edn"), false).unwrap();
    assert!(matches!(
        verdict(ModelKind::CasRegister, &bad),
        Verdict::Violation(_)
    ));
}

#[test]
fn independent_keys_become_partitions() {
    let history = read_edn(&fixture("independent-kv.edn"), true).unwrap();
    assert_eq!(history.operations[0].key, Some(Value::Str("x".into())));
    let Verdict::Violation(violation) = verdict(ModelKind::Kv, &history) else {
        panic!()
    };
    assert_eq!(violation.partition, Some(Value::Str("y".into())));
    let unkeyed = read_edn(&fixture("independent-kv.edn"), false).unwrap();
    assert!(ModelKind::Kv
        .check(Value::Nil, &unkeyed, &CheckOptions::default())
        .is_err());
}

#[test]
fn etcd_logs() {
    let history = read_etcd_log(&fixture("etcd-cas.log"), false).unwrap();
    assert_eq!(history.operations.len(), 6);
    assert_eq!(history.faults.len(), 2);
    assert_eq!(history.operations[0].line, 4);
    assert_eq!(verdict(ModelKind::CasRegister, &history), Verdict::Ok);
    let lost = fixture("etcd-cas.log").replace("3\t:ok\t:read\t2", "3\t:ok\t:read\t1");
    let history = read_etcd_log(&lost, false).unwrap();
    assert!(matches!(
        verdict(ModelKind::CasRegister, &history),
        Verdict::Violation(_)
    ));
}

#[test]
fn txn_and_jsonl_fixtures() {
    let torn = read_edn(&fixture("txn-torn-read.edn"), false).unwrap();
    assert!(matches!(
        verdict(ModelKind::Txn, &torn),
        Verdict::Violation(_)
    ));
    let flip = read_jsonl(fixture("register-info-flip.jsonl").as_bytes()).unwrap();
    assert_eq!(verdict(ModelKind::Register, &flip), Verdict::Ok);
    let stale = read_jsonl(fixture("register-stale-read.jsonl").as_bytes()).unwrap();
    assert!(matches!(
        verdict(ModelKind::Register, &stale),
        Verdict::Violation(_)
    ));
}

#[test]
fn bad_input_names_the_line() {
    let cases = [
        (
            "{:process 0, :type :invoke, :f :read}\n{:process 0 :type :ok :f :read :value 1.5}",
            2,
            "value",
        ),
        ("{:process -1, :type :invoke, :f :read}", 1, "process"),
        ("{:process 0, :type :started, :f :read}", 1, "type"),
        ("{:process 0, :type :invoke, :f 3}", 1, "f"),
        ("{:process 0, :type :invoke, :f :r, :time :soon}", 1, "time"),
    ];
    for (text, want_line, want_field) in cases {
        match read_edn(text, false).unwrap_err() {
            ImportError::Field { line, field, .. } => {
                assert_eq!((line, field), (want_line, want_field), "{text}")
            }
            other => panic!("{text}: {other}"),
        }
    }
    // The end of the input, where the closing brace was expected, is on line 2.
    assert!(matches!(
        read_edn("{:process 0\n", false).unwrap_err(),
        ImportError::Syntax { line: 2, .. }
    ));
    let keyed = read_edn("{:process 0, :type :invoke, :f :read, :value 3}", true).unwrap_err();
    assert!(keyed.to_string().contains("[key value]"), "{keyed}");
    let short = read_etcd_log("INFO  jepsen.util - 3\t:invoke", false).unwrap_err();
    assert!(matches!(short, ImportError::Syntax { line: 1, .. }));
    let reused = read_edn("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :info, :f :read}\n{:process 0, :type :invoke, :f :read}", false);
    assert!(matches!(reused.unwrap_err(), ImportError::Pairing(_)));
}

#[test]
fn edn_export_round_trips() {
    for (name, keyed) in [("independent-kv.edn", true), ("cas-register-ok.edn", false)] {
        let original = read_edn(&fixture(name), keyed).unwrap();
        let mut exported = Vec::new();
        write_edn(&original, &mut exported).unwrap();
        let text = String::from_utf8(exported).unwrap();
        let again = read_edn(&text, keyed).unwrap();
        let summary = |history: &History| -> Vec<_> {
            history
                .operations
                .iter()
                .map(|op| {
                    (
                        op.process,
                        op.f.clone(),
                        op.key.clone(),
                        op.input.clone(),
                        op.output.clone(),
                        op.outcome,
                    )
                })
                .collect()
        };
        assert_eq!(summary(&original), summary(&again), "{text}");
        assert_eq!(original.faults.len(), again.faults.len());
    }
}
