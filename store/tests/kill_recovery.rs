//! Kill -9 in a loop: a `store serve` child is killed with SIGKILL mid-write, round after round,
//! and a new one takes over the directory (the dead holder's lock must not block it). Every
//! write acknowledged in any round must be present at the end, and versions never go back.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use store::{Store, StoreOptions};

const WRITERS: usize = 4;
const ROUNDS: usize = 4;

/// Per writer: the last number acknowledged, its version, and whether one was in flight.
#[derive(Clone, Copy, Debug, Default)]
struct Acked {
    number: u64,
    version: u64,
    in_flight: bool,
}

fn run_round(dir: &std::path::Path, acked: &mut [Acked; WRITERS]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store"))
        .args(["serve", "--lease-ms", "60000", "--dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = Mutex::new(child.stdin.take().unwrap());
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let answers: Mutex<Vec<std::sync::mpsc::Sender<Value>>> = Mutex::new(Vec::new());
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..WRITERS)
        .map(|_| std::sync::mpsc::channel::<Value>())
        .unzip();
    *answers.lock().unwrap() = senders;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let answer: Value = serde_json::from_str(&line).unwrap();
                let writer = answer["id"].as_u64().unwrap() as usize % WRITERS;
                let _ = answers.lock().unwrap()[writer].send(answer);
            }
            answers.lock().unwrap().clear();
        });
        for ((writer, receiver), state) in receivers.into_iter().enumerate().zip(acked.iter_mut()) {
            let stdin = &stdin;
            scope.spawn(move || {
                state.in_flight = false;
                for request in 0u64.. {
                    let number = state.number + 1;
                    let id = request * WRITERS as u64 + writer as u64;
                    let line = json!({"id": id, "op": "put", "key": format!("w{writer}"),
                        "value": number.to_string()});
                    state.in_flight = true;
                    if writeln!(stdin.lock().unwrap(), "{line}").is_err() {
                        return;
                    }
                    let Ok(answer) = receiver.recv() else { return };
                    assert_eq!(answer["type"], "ok", "{answer}");
                    let version = answer["version"].as_u64().unwrap();
                    assert!(version > state.version, "version went back: {answer}");
                    *state = Acked {
                        number,
                        version,
                        in_flight: false,
                    };
                }
            });
        }
        std::thread::sleep(Duration::from_millis(250));
        child.kill().unwrap();
        child.wait().unwrap();
    });
}

#[test]
fn every_acknowledged_write_survives_repeated_kills() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = [Acked::default(); WRITERS];
    for round in 0..ROUNDS {
        run_round(dir.path(), &mut acked);
        // The next round starts from what is on disk: a write in flight at the kill may or may
        // not have happened, so its writer continues from the recovered number.
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        for (writer, state) in acked.iter_mut().enumerate() {
            let entry = store.get(&format!("w{writer}")).unwrap();
            let number = entry.as_ref().map_or(0, |e| {
                std::str::from_utf8(&e.value).unwrap().parse().unwrap()
            });
            let version = entry.map_or(0, |e| e.version);
            let allowed = state.number + u64::from(state.in_flight);
            assert!(
                number >= state.number && number <= allowed,
                "round {round}, writer {writer}: holds {number}, acknowledged {state:?}"
            );
            assert!(
                version >= state.version,
                "round {round}, writer {writer}: version went back"
            );
            *state = Acked {
                number,
                version,
                in_flight: false,
            };
        }
        assert_eq!(
            store.verify().unwrap(),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    assert!(
        acked.iter().all(|state| state.number > 0),
        "no write was acknowledged: {acked:?}"
    );
}
