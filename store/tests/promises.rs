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
