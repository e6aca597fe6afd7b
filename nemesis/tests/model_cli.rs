//! `faultline model`: list, check (exit codes and printed paths) and argument errors.

use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("faultline runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn list_names_every_model() {
    let output = faultline(&["model", "list"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for name in ["lock", "commit", "versioned", "frontier"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn correct_lock_holds_and_exits_zero() {
    let output = faultline(&["model", "check", "lock", "--processes", "2"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("unique states 1628"), "{text}");
    assert!(text.contains("states/s"), "{text}");
    assert!(!text.contains("counterexample to"), "{text}");
}

#[test]
fn buggy_lock_fails_with_a_path_and_exits_one() {
    let output = faultline(&[
        "model",
        "check",
        "lock",
        "--variant",
        "buggy",
        "--processes",
        "2",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("counterexample to \"no write made after a takeover is accepted\""),
        "{text}"
    );
    assert!(text.contains("9. Append(0)"), "{text}");
}

#[test]
fn unknown_model_and_bad_size_are_clear_errors() {
    let output = faultline(&["model", "check", "nosuch"]);
    assert_eq!(output.status.code(), Some(3));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("unknown model `nosuch`"), "{error}");
    let output = faultline(&["model", "check", "lock", "--processes", "9"]);
    assert_eq!(output.status.code(), Some(3));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("--processes from 1 to 4"), "{error}");
}

#[test]
fn explorer_refuses_a_non_loopback_address() {
    let output = faultline(&["model", "explore", "lock", "--addr", "0.0.0.0:3999"]);
    assert_eq!(output.status.code(), Some(3));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("localhost only"), "{error}");
}
