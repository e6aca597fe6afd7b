//! The `store serve` binary over pipes: pipelined requests, answers matched by id (in any
//! order), malformed lines answered with `malformed_request` while serving continues, and the
//! meaning of every answer checked against what was sent.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Sends every line at once (pipelined), closes stdin, and returns the answers by line order.
fn run_server(dir: &std::path::Path, lines: &[String]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store"))
        .args(["serve", "--workers", "8", "--dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let answers: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    answers
}

#[test]
fn pipelined_requests_are_all_answered_by_id_and_malformed_lines_do_not_stop_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for id in 0..200 {
        lines.push(
            json!({"id": id, "op": "put", "key": format!("k{}", id % 5), "value": id.to_string()})
                .to_string(),
        );
        if id == 50 {
            lines.push("this is not json".into());
            lines.push(json!({"id": "bad-op", "op": "fly"}).to_string());
            lines.push(json!({"id": "no-key", "op": "get"}).to_string());
        }
    }
    lines.push(
        json!({"id": "batch", "op": "batch", "ops": [
        {"op": "put", "key": "x", "value": "1"}, {"op": "put", "key": "y", "value": "1"}]})
        .to_string(),
    );
    lines.push(json!({"id": "hello", "op": "hello"}).to_string());
    let answers = run_server(dir.path(), &lines);
    assert_eq!(answers.len(), lines.len(), "one answer per line");

    let mut by_id = BTreeMap::new();
    for answer in &answers {
        let previous = by_id.insert(answer["id"].to_string(), answer.clone());
        assert!(
            previous.is_none() || answer["id"].is_null(),
            "id answered twice: {answer}"
        );
    }
    let malformed = answers
        .iter()
        .find(|a| a["id"].is_null())
        .expect("answer to the bad line");
    assert_eq!(malformed["type"], "fail");
    assert_eq!(malformed["error"], "malformed_request");
    assert!(malformed["message"]
        .as_str()
        .unwrap()
        .contains("expected a JSON object"));
    assert_eq!(by_id["\"bad-op\""]["error"], "malformed_request");
    assert!(by_id["\"no-key\""]["message"]
        .as_str()
        .unwrap()
        .contains("expected string field \"key\""));

    let mut versions = BTreeSet::new();
    for id in 0..200 {
        let answer = &by_id[&id.to_string()];
        assert_eq!(answer["type"], "ok", "{answer}");
        assert!(
            versions.insert(answer["version"].as_u64().unwrap()),
            "version reused: {answer}"
        );
    }
    assert_eq!(by_id["\"batch\""]["type"], "ok");
    assert_eq!(by_id["\"hello\""]["promises"]["kill"], "survive");

    // A second server on the same directory sees every acknowledged write.
    let gets: Vec<String> = (0..5)
        .map(|k| json!({"id": k, "op": "get", "key": format!("k{k}")}).to_string())
        .chain([json!({"id": "verify", "op": "verify"}).to_string()])
        .collect();
    let answers = run_server(dir.path(), &gets);
    for answer in &answers {
        if answer["id"] == "verify" {
            assert_eq!(answer["problems"], json!([]), "{answer}");
            continue;
        }
        let k = answer["id"].as_u64().unwrap();
        let last_put = (0..200).filter(|id| id % 5 == k).max().unwrap();
        let winner = &by_id[&last_put.to_string()];
        let versions_of_key: Vec<u64> = (0..200u64)
            .filter(|id| id % 5 == k)
            .map(|id| by_id[&id.to_string()]["version"].as_u64().unwrap())
            .collect();
        let highest = *versions_of_key.iter().max().unwrap();
        assert_eq!(
            answer["version"].as_u64(),
            Some(highest),
            "{answer} vs {winner}"
        );
    }
}

#[test]
fn answers_come_out_of_order_when_requests_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..300)
        .map(|id| json!({"id": id, "op": "put", "key": format!("k{id}"), "value": "v"}).to_string())
        .collect();
    let answers = run_server(dir.path(), &lines);
    let order: Vec<u64> = answers.iter().map(|a| a["id"].as_u64().unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..300).collect::<Vec<u64>>(),
        "every request answered once"
    );
    assert!(answers.iter().all(|a| a["type"] == "ok"));
    // Versions follow commit order, which concurrent workers interleave: the answer order and
    // the version order both being the request order for 300 requests would mean no
    // concurrency at all.
    let versions: Vec<u64> = answers
        .iter()
        .map(|a| a["version"].as_u64().unwrap())
        .collect();
    let in_request_order = order.windows(2).all(|w| w[0] < w[1]);
    let versions_in_request_order = (0..300)
        .map(|id| versions[order.iter().position(|o| *o == id).unwrap()])
        .collect::<Vec<_>>();
    let serial = versions_in_request_order.windows(2).all(|w| w[0] < w[1]);
    assert!(!(in_request_order && serial), "requests ran one at a time");
}
