//! `faultline model`: list, check (exit codes and printed paths) and argument errors.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    assert!(text.contains("unique states 2492"), "{text}");
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

#[test]
fn every_model_holds_correct_and_fails_buggy_with_a_path() {
    for name in ["commit", "versioned", "frontier"] {
        let output = faultline(&["model", "check", name]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{name}:\n{text}");
        let output = faultline(&["model", "check", name, "--variant", "buggy"]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(1), "{name}:\n{text}");
        assert!(text.contains("counterexample to"), "{name}:\n{text}");
        assert!(text.contains("  1. "), "{name}:\n{text}");
    }
}

#[test]
fn a_search_bound_gives_unknown_not_holds() {
    let output = faultline(&["model", "check", "lock", "--max-states", "100"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("UNKNOWN"), "{text}");
    assert!(!text.contains(" holds"), "{text}");
}

#[test]
fn explorer_serves_the_model_on_localhost() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["model", "explore", "frontier", "--addr", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("faultline starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    // The first connections may reach the address check `explore` makes before serving, and
    // be reset; retry until the Explorer answers.
    let response = loop {
        if let Ok(response) = get_status(&addr) {
            if response.starts_with("HTTP/1.1 200") {
                break response;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the Explorer never answered on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().expect("explorer stopped");
    child.wait().expect("explorer reaped");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("FrontierModel"), "{response}");
}

#[test]
fn check_all_prints_figures_for_every_model() {
    let output = faultline(&["model", "check", "all"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    for name in ["lock", "commit", "versioned", "frontier"] {
        assert!(
            text.contains(&format!("model {name} (correct")),
            "{name}:\n{text}"
        );
    }
    assert_eq!(text.matches("states/s").count(), 4, "{text}");
    let output = faultline(&["model", "check", "all", "--variant", "buggy"]);
    assert_eq!(output.status.code(), Some(1));
}

fn get_status(addr: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"GET /.status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}
