//! The promises the store states are one list: PROTOCOL.md's machine-readable `promises` block
//! (read by faultline's runner) and the `hello` answer of `store serve` must agree.

use std::collections::BTreeMap;

fn protocol_promises() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/PROTOCOL.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("```promises\n")
        .expect("PROTOCOL.md has a ```promises block");
    let body = &text[start + "```promises\n".len()..];
    let end = body.find("```").expect("the promises block is closed");
    body[..end]
        .lines()
        .map(|line| {
            let (fault, promise) = line.split_once(':').expect("`fault: promise` lines");
            (fault.trim().to_string(), promise.trim().to_string())
        })
        .collect()
}

#[test]
fn protocol_md_and_the_server_state_the_same_promises() {
    let stated = protocol_promises();
    let served: BTreeMap<String, String> = store::serve::PROMISES
        .iter()
        .map(|(fault, promise)| (fault.to_string(), promise.to_string()))
        .collect();
    assert_eq!(stated, served);
    assert!(
        stated.values().all(|p| p == "survive" || p == "detect"),
        "{stated:?}"
    );
}

fn served_promises() -> BTreeMap<String, String> {
    store::serve::PROMISES
        .iter()
        .map(|(fault, promise)| (fault.to_string(), promise.to_string()))
        .collect()
}

#[test]
fn serve_md_states_the_reference_answer() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/SERVE.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("The reference store's answer")
        .expect("SERVE.md states the reference answer");
    let body = &text[start..];
    let json_start = body.find("```json\n").expect("a json block") + "```json\n".len();
    let json_end = json_start + body[json_start..].find("```").expect("closed");
    let answer: BTreeMap<String, String> =
        serde_json::from_str(&body[json_start..json_end]).expect("valid JSON");
    assert_eq!(answer, served_promises());
}

/// A stalled process whose lease is taken over (SIGSTOP, then SIGCONT) is survived: the
/// lease + fencing epochs exist for it; `multi_process.rs`
/// (`a_stalled_holder_is_fenced_and_catches_up_after_takeover`) checks it on real processes.
#[test]
fn a_paused_holder_is_a_survived_fault() {
    assert_eq!(
        served_promises().get("pause").map(String::as_str),
        Some("survive")
    );
}
