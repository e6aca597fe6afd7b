//! `store serve` on a directory whose data is invalid (a corrupt WAL segment, an unreadable
//! manifest): it does not crash but keeps speaking the protocol, answering `hello` (with its
//! promises and the open error) and every other request `fail` with error `corrupt` and the
//! open error's message. A directory that cannot be opened for another reason (here: not a
//! directory at all) is still refused at start-up with exit status 2.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use store::wal::frame::SEGMENT_HEADER_LEN;
use store::{Store, StoreOptions};

fn serve(dir: &Path, lines: &[Value]) -> (Output, Vec<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store"))
        .args(["serve", "--dir"])
        .arg(dir)
        .env_remove(store::mutant::ENV_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    input.push_str("not json\n");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let answers = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (output, answers)
}

fn requests() -> Vec<Value> {
    vec![
        json!({"id": 1, "op": "hello"}),
        json!({"id": 2, "op": "put", "key": "a", "value": "y"}),
        json!({"id": 3, "op": "get", "key": "a"}),
        json!({"id": 4, "op": "batch", "ops": [{"op": "delete", "key": "a"}]}),
        json!({"id": 5, "op": "verify"}),
    ]
}

/// Checks the refusing server's answers; `cause` must appear in every refusal's message.
fn assert_refuses_every_request(dir: &Path, cause: &str) {
    let (output, answers) = serve(dir, &requests());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(stderr.contains("cannot be opened"), "stderr: {stderr}");
    assert_eq!(answers.len(), requests().len() + 1, "{answers:?}");
    let by_id = |id: u64| answers.iter().find(|a| a["id"] == id).expect("answered");
    let hello = by_id(1);
    assert_eq!(hello["type"], "ok", "{hello}");
    assert_eq!(hello["promises"]["power_cut"], "survive", "{hello}");
    assert_eq!(hello["open_error"]["error"], "corrupt", "{hello}");
    for id in 2..=requests().len() as u64 {
        let answer = by_id(id);
        assert_eq!(answer["type"], "fail", "{answer}");
        assert_eq!(answer["error"], "corrupt", "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("the store cannot be opened: "),
            "{answer}"
        );
        assert!(message.contains(cause), "{answer}");
    }
    let malformed = answers.iter().find(|a| a["id"].is_null()).unwrap();
    assert_eq!(malformed["error"], "malformed_request", "{malformed}");
}

fn options() -> StoreOptions {
    StoreOptions {
        idle_release_ms: 0,
        ..StoreOptions::default()
    }
}

#[test]
fn an_unreadable_manifest_is_answered_corrupt_request_by_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.put("a", b"x").unwrap();
    store.snapshot().unwrap();
    drop(store);
    let manifests: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST.")
        })
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    // Damaged bytes (not a blank claim, which reads as no manifest) in the only manifest file.
    std::fs::write(&manifests[0], b"this is not a manifest").unwrap();
    assert_refuses_every_request(dir.path(), "manifest");
}

#[test]
fn a_corrupt_sealed_wal_segment_is_answered_corrupt_request_by_request() {
    let dir = tempfile::tempdir().unwrap();
    for value in [b"1", b"2"] {
        // Each open starts a segment of its own: the first one ends up sealed.
        let store = Store::open(dir.path(), options()).unwrap();
        store.put("a", value).unwrap();
    }
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    segments.sort();
    // A segment holding only its header (the lease was let go between the open and the put)
    // is stale and ignored; damage one that holds records, with records after it.
    segments.retain(|path| std::fs::metadata(path).unwrap().len() > SEGMENT_HEADER_LEN as u64);
    assert!(segments.len() >= 2, "{segments:?}");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // the payload of its last record
    std::fs::write(&segments[0], bytes).unwrap();
    assert_refuses_every_request(dir.path(), "write-ahead log");
}

#[test]
fn a_directory_that_cannot_be_created_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"").unwrap();
    let (output, answers) = serve(&file, &requests());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(answers.is_empty(), "{answers:?}");
    assert!(stderr.contains("plain-file"), "stderr: {stderr}");
}
