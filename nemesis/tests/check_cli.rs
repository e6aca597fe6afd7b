//! `faultline check` end to end: the built binary on fixture histories, exit codes 0 / 1 / 2 / 3.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../history/tests/fixtures")
        .join(name)
}

fn faultline_check(args: &[&str]) -> (u8, String, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let code = output.status.code().expect("exited normally") as u8;
    (
        code,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn linearizable_history_exits_0() {
    let file = fixture("register-info-flip.jsonl");
    let (code, stdout, stderr) = faultline_check(&[path(&file), "--model", "register"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("verdict: OK"), "{stdout}");
}

#[test]
fn violation_exits_1_and_writes_html() {
    let directory = tempfile::tempdir().unwrap();
    let report = directory.path().join("report.html");
    let file = fixture("register-stale-read.jsonl");
    let (code, stdout, stderr) =
        faultline_check(&[path(&file), "--model", "register", "--html", path(&report)]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("verdict: VIOLATION"), "{stdout}");
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("<svg") && page.contains("class=\"core\"") && page.contains("cut-power"));
}

#[test]
fn imported_formats() {
    let cases = [
        ("cas-register-ok.edn", "cas-register", 0),
        ("cas-register-bad.edn", "cas-register", 1),
        ("independent-kv.edn", "kv", 1),
        ("txn-torn-read.edn", "txn", 1),
        ("etcd-cas.log", "cas-register", 0),
    ];
    for (name, model, expected) in cases {
        let file = fixture(name);
        let (code, stdout, stderr) = faultline_check(&[path(&file), "--model", model]);
        assert_eq!(code, expected, "{name}: {stdout}{stderr}");
    }
    let file = fixture("cas-register-ok.edn");
    let (code, _, stderr) = faultline_check(&[path(&file), "--format", "jsonl"]);
    assert_eq!(
        code, 3,
        "an EDN file read as JSON lines is bad input: {stderr}"
    );
}

#[test]
fn initial_value() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("zero.jsonl");
    std::fs::write(&file, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":0}\n").unwrap();
    assert_eq!(faultline_check(&[path(&file), "--model", "register"]).0, 1);
    assert_eq!(
        faultline_check(&[path(&file), "--model", "register", "--init", "0"]).0,
        0
    );
    assert_eq!(
        faultline_check(&[path(&file), "--model", "register", "--init", "{oops"]).0,
        3
    );
}

/// A linearizable register history that takes a search, not one greedy pass: in each round
/// three concurrent writes (returning in call order) and a read that saw the middle one, then a
/// read that saw the first, so only the order middle, read, last, first explains the round,
/// while a replay that applies the write returning first ends the round on the last.
fn rounds_needing_a_search(rounds: u64) -> String {
    let line = |process: u64, kind: &str, f: &str, value: Option<u64>| match value {
        Some(value) => format!(
            "{{\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{value}}}\n"
        ),
        None => format!("{{\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\"}}\n"),
    };
    let mut lines = String::new();
    for round in 0..rounds {
        let (first, middle, last) = (3 * round + 1, 3 * round + 2, 3 * round + 3);
        for (process, value) in [(0, first), (1, middle), (2, last)] {
            lines += &line(process, "invoke", "write", Some(value));
        }
        lines += &line(3, "invoke", "read", None);
        lines += &line(3, "ok", "read", Some(middle));
        for (process, value) in [(0, first), (1, middle), (2, last)] {
            lines += &line(process, "ok", "write", Some(value));
        }
        lines += &line(4, "invoke", "read", None);
        lines += &line(4, "ok", "read", Some(first));
    }
    lines
}

#[test]
fn out_of_time_exits_2() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("long.jsonl");
    std::fs::write(&file, rounds_needing_a_search(500)).unwrap();
    let (code, stdout, _) = faultline_check(&[path(&file), "--timeout", "0"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("UNKNOWN"), "{stdout}");
    let (code, stdout, _) = faultline_check(&[path(&file)]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn bad_input_exits_3_naming_file_line_and_field() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("broken.jsonl");
    std::fs::write(&file, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n").unwrap();
    let (code, _, stderr) = faultline_check(&[path(&file)]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("broken.jsonl") && stderr.contains("line 2") && stderr.contains("`type`"),
        "{stderr}"
    );
    let (code, _, stderr) = faultline_check(&[path(&file), "--model", "queue"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("--model"), "{stderr}");
    let (code, _, stderr) = faultline_check(&["/nonexistent/history.jsonl"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("/nonexistent/history.jsonl"), "{stderr}");
    let unknown_op = directory.path().join("unknown-op.jsonl");
    std::fs::write(
        &unknown_op,
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"push\",\"value\":1}\n",
    )
    .unwrap();
    let (code, _, stderr) = faultline_check(&[path(&unknown_op), "--model", "register"]);
    assert_eq!(
        code, 3,
        "an operation the model does not know is bad input, not a violation"
    );
    assert!(stderr.contains("line 1"), "{stderr}");
}

/// A store history: process 0 runs the write `invoke` / `ok` (two JSON lines), then process 1
/// reads `key` and sees `value` at `read_version`.
fn write_then_read(invoke: &str, ok: &str, key: &str, value: &str, read_version: u64) -> String {
    let read = format!(r#""f":"get","key":"{key}""#);
    [
        format!(r#"{{"process":0,"type":"invoke",{invoke}}}"#),
        format!(r#"{{"process":0,"type":"ok",{ok}}}"#),
        format!(r#"{{"process":1,"type":"invoke",{read}}}"#),
        format!(r#"{{"process":1,"type":"ok",{read},"value":["{value}",{read_version}]}}"#),
    ]
    .map(|line| line + "\n")
    .concat()
}

/// Checks the store history `lines(good)` and then `lines(bad)` with `--model store`: the
/// first must exit 0 and the second 1.
fn store_history_passes_then_fails(lines: impl Fn(u64) -> String, good: u64, bad: u64) {
    let directory = tempfile::tempdir().unwrap();
    for (version, expected) in [(good, 0), (bad, 1)] {
        let file = directory.path().join(format!("history-{version}.jsonl"));
        std::fs::write(&file, lines(version)).unwrap();
        let (code, stdout, stderr) = faultline_check(&[path(&file), "--model", "store"]);
        assert_eq!(code, expected, "version {version}: {stdout}{stderr}");
    }
}

#[test]
fn store_model_judges_a_store_history() {
    let (invoke, ok) = (
        r#""f":"put","key":"k","value":"a""#,
        r#""f":"put","key":"k","value":3"#,
    );
    // The second read names a version no write gave the key.
    store_history_passes_then_fails(|read| write_then_read(invoke, ok, "k", "a", read), 3, 2);
}

/// A recorded `batch` is split into its per-key operations, as a run's checks split it, so a
/// history from a bundle can be checked on its own with `--model store`.
#[test]
fn store_model_splits_a_recorded_batch_per_key() {
    let invoke = r#""f":"batch","value":[["put","a","x"],["put","b","y"]]"#;
    let ok = r#""f":"batch","value":5"#;
    // The second read names a version the batch did not give key b.
    store_history_passes_then_fails(|read| write_then_read(invoke, ok, "b", "y", read), 5, 4);
}

#[test]
fn a_directory_that_is_not_a_bundle_exits_3() {
    let directory = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = faultline_check(&[path(directory.path())]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("not a faultline bundle"), "{stderr}");
}

#[test]
fn a_wrong_flag_exits_3_not_2() {
    let (code, stdout, stderr) = faultline_check(&["--no-such-flag", "x"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}
