//! The runtime switch of planted bugs on the `store` binary: `--mutant NAME` and the
//! FAULTLINE_MUTANT environment variable. A build without the `mutants` feature refuses every
//! mutant with exit status 2 and a message naming the feature; an unknown name is refused in
//! every build; with the feature, `hello` names the active mutant (and names none without one).
//!
//! Run both ways: `cargo test -p store --test serve_mutant` and
//! `cargo test -p store --features mutants --test serve_mutant`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs `store serve --dir DIR ARGS` with `env` set, feeding it `input`.
fn run_store(args: &[&str], env: Option<&str>, input: &str) -> Output {
    run_store_with(&[], args, env, input)
}

/// Runs `store BEFORE serve --dir DIR AFTER` with `env` set, feeding it `input`.
fn run_store_with(before: &[&str], after: &[&str], env: Option<&str>, input: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_store"));
    command
        .args(before)
        .args(["serve", "--dir"])
        .arg(dir.path())
        .args(after)
        .env_remove(store::mutant::ENV_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(name) = env {
        command.env(store::mutant::ENV_VAR, name);
    }
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A refused start exits before reading: a broken pipe here is expected then.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn hello_answer(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().next().expect("an answer to hello");
    serde_json::from_str(line).unwrap()
}

const HELLO: &str = "{\"id\":1,\"op\":\"hello\"}\n";

fn assert_refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "served before refusing");
    assert!(stderr.contains(expected), "stderr: {stderr}");
}

#[test]
fn an_unknown_mutant_is_refused_before_serving() {
    let output = run_store(&["--mutant", "ack-after-fsync"], None, HELLO);
    assert_refused(&output, "unknown mutant \"ack-after-fsync\"");
    assert_refused(&output, "ack-before-fsync"); // the known names are listed
    let output = run_store(&[], Some("no-such-bug"), HELLO);
    assert_refused(&output, "FAULTLINE_MUTANT");
}

#[test]
fn without_a_mutant_hello_names_none() {
    let output = run_store(&[], None, HELLO);
    assert!(output.status.success());
    let hello = hello_answer(&output);
    assert_eq!(hello["type"], "ok", "{hello}");
    assert!(hello.get("mutant").is_none(), "{hello}");
}

#[cfg(not(feature = "mutants"))]
#[test]
fn without_the_feature_every_mutant_is_refused_naming_the_feature() {
    let output = run_store(&["--mutant", "no-fencing"], None, HELLO);
    assert_refused(&output, "without the `mutants` feature");
    let output = run_store_with(&["--mutant", "no-fencing"], &[], None, HELLO);
    assert_refused(&output, "without the `mutants` feature");
    let output = run_store(&[], Some("ack-before-fsync"), HELLO);
    assert_refused(&output, "without the `mutants` feature");
}

#[cfg(feature = "mutants")]
#[test]
fn with_the_feature_hello_names_the_active_mutant() {
    let output = run_store(&["--mutant", "version-from-memory"], None, HELLO);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(hello_answer(&output)["mutant"], "version-from-memory");
    // The flag may also come before the subcommand (as `store demo` starts its child).
    let output = run_store_with(&["--mutant", "blob-in-place"], &[], None, HELLO);
    assert_eq!(hello_answer(&output)["mutant"], "blob-in-place");
    let output = run_store(&[], Some("uncommitted-batch-visible"), HELLO);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(hello_answer(&output)["mutant"], "uncommitted-batch-visible");
    // The flag and the variable may name the same mutant, never two different ones.
    let same = run_store(&["--mutant", "no-fencing"], Some("no-fencing"), HELLO);
    assert_eq!(hello_answer(&same)["mutant"], "no-fencing");
    let two = run_store(&["--mutant", "no-fencing"], Some("gc-ignores-pins"), HELLO);
    assert_refused(&two, "already active");
}
