//! `store demo`: a newcomer's first look at what the store promises, checked live.
//!
//! 1. Spawns `store serve` on DIR as a child process.
//! 2. Runs concurrent writers against it over the line protocol: each writer puts 1, 2, 3... to
//!    its own key, one request at a time; one more writer commits batches setting two keys to
//!    the same number. Every acknowledged write and its version is recorded.
//! 3. Kills the child with SIGKILL while the writers are mid-flight.
//! 4. Reopens the directory in this process (recovery), and checks: every acknowledged write is
//!    present (a key holds its last acknowledged number, or the one in flight at the kill);
//!    versions never went backwards; both keys of every batch agree (atomicity); a new write
//!    gets a version above every version ever acknowledged.
//! 5. Runs snapshot, GC and verify, and prints what it did and found.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use store::{Store, StoreOptions};

type Waiting = Arc<Mutex<HashMap<u64, Sender<Value>>>>;

/// How long a writer waits for one answer before it counts the request as in doubt.
const ANSWER_WAIT_MAX: Duration = Duration::from_secs(10);

/// A line-protocol client of a child server; answers are routed to callers by id.
struct Client {
    stdin: Mutex<ChildStdin>,
    waiting: Waiting,
    /// Set by the answer reader when the server's output ended; no answer comes after it.
    closed: Arc<AtomicBool>,
    next_id: AtomicU64,
}

impl Client {
    /// Sends `request` and waits for its answer; `None` if the server died first (or did not
    /// answer within [`ANSWER_WAIT_MAX`]).
    fn call(&self, mut request: Value) -> Option<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        request["id"] = json!(id);
        let (sender, receiver) = channel();
        self.waiting.lock().ok()?.insert(id, sender);
        // The reader sets `closed` before it drops every waiting sender: a request registered
        // after that drop sees the flag here instead of waiting for an answer that never comes.
        if self.closed.load(Ordering::SeqCst) {
            self.waiting.lock().ok()?.remove(&id);
            return None;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.stdin.lock().ok()?.write_all(line.as_bytes()).ok()?;
        receiver.recv_timeout(ANSWER_WAIT_MAX).ok()
    }
}

/// What one writer saw.
#[derive(Default)]
struct WriterLog {
    key: String,
    acked: u64,
    last_acked_number: u64,
    last_acked_version: u64,
    in_doubt: bool,
    problems: Vec<String>,
}

pub fn run(dir: &Path, writers: usize, write_ms: u64) -> anyhow::Result<ExitCode> {
    if dir.exists() && dir.read_dir()?.next().is_some() {
        bail!(
            "{} is not empty: the demo needs a fresh directory",
            dir.display()
        );
    }
    let started = Instant::now();
    let mut child = spawn_server(dir)?;
    let client = Arc::new(connect(&mut child)?);
    let handles: Vec<_> = (0..=writers)
        .map(|index| {
            let client = client.clone();
            std::thread::spawn(move || write_loop(&client, index, index == writers))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(write_ms));
    child.kill().context("killing the server")?;
    let _ = child.wait();
    let killed_after = started.elapsed();
    let logs: Vec<WriterLog> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
    let mut problems: Vec<String> = logs.iter().flat_map(|log| log.problems.clone()).collect();
    let acked: u64 = logs.iter().map(|log| log.acked).sum();
    let in_doubt = logs.iter().filter(|log| log.in_doubt).count();
    println!(
        "wrote through {} writers + 1 batch writer into a child `store serve` for {} ms: \
         {acked} writes acknowledged, {in_doubt} in flight when it was killed with SIGKILL",
        writers,
        killed_after.as_millis()
    );

    let options = StoreOptions {
        gc_grace_ms: 0,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, options).context("reopening after the kill")?;
    check_recovered(&store, &logs, &mut problems)?;
    let snapshot = store.snapshot()?;
    let gc = store.gc()?;
    let verify = store.verify()?;
    println!(
        "recovered: every acknowledged write checked; snapshot covers lsn {} ({} segments \
         deleted); gc deleted {} blobs, kept {}; verify found {} problems",
        snapshot.covered_lsn,
        snapshot.segments_deleted,
        gc.blobs_deleted,
        gc.blobs_kept,
        verify.len()
    );
    problems.extend(
        verify
            .into_iter()
            .map(|problem| format!("verify: {problem}")),
    );
    println!("demo took {} ms", started.elapsed().as_millis());
    if problems.is_empty() {
        println!("OK: no acknowledged write lost, no version went backwards, batches atomic");
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        println!("PROBLEM: {problem}");
    }
    Ok(ExitCode::FAILURE)
}

fn spawn_server(dir: &Path) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding the store binary")?;
    let mut command = Command::new(exe);
    // The child runs the same planted bug as this process (if any): the demo then shows what
    // the bug breaks.
    if let Some(mutant) = store::mutant::active() {
        command.args(["--mutant", mutant.name()]);
    }
    command
        .args(["serve", "--dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("spawning `store serve`")
}

fn connect(child: &mut Child) -> anyhow::Result<Client> {
    let stdin = child.stdin.take().context("child stdin")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let waiting: Waiting = Arc::default();
    let routes = waiting.clone();
    let closed = Arc::new(AtomicBool::new(false));
    let reader_closed = closed.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(answer) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let Some(id) = answer["id"].as_u64() else {
                continue;
            };
            let sender = routes.lock().ok().and_then(|mut routes| routes.remove(&id));
            if let Some(sender) = sender {
                let _ = sender.send(answer);
            }
        }
        reader_closed.store(true, Ordering::SeqCst);
        if let Ok(mut routes) = routes.lock() {
            routes.clear();
        }
    });
    Ok(Client {
        stdin: Mutex::new(stdin),
        waiting,
        closed,
        next_id: AtomicU64::new(1),
    })
}

fn write_loop(client: &Client, index: usize, batches: bool) -> WriterLog {
    let key = if batches {
        "batch-a".to_string()
    } else {
        format!("writer-{index}")
    };
    let mut log = WriterLog {
        key: key.clone(),
        ..WriterLog::default()
    };
    for number in 1..=1_000_000u64 {
        let request = if batches {
            json!({"op": "batch", "ops": [
                {"op": "put", "key": "batch-a", "value": number.to_string()},
                {"op": "put", "key": "batch-b", "value": number.to_string()},
            ]})
        } else {
            json!({"op": "put", "key": key, "value": number.to_string()})
        };
        let Some(answer) = client.call(request) else {
            log.in_doubt = true;
            return log;
        };
        match answer["type"].as_str() {
            Some("ok") => {
                let version = answer["version"].as_u64().unwrap_or(0);
                if version <= log.last_acked_version {
                    log.problems.push(format!(
                        "{key}: version {version} acknowledged after version {}",
                        log.last_acked_version
                    ));
                }
                log.acked += 1;
                log.last_acked_number = number;
                log.last_acked_version = version;
            }
            Some("info") => {
                log.in_doubt = true;
                return log;
            }
            _ => log
                .problems
                .push(format!("{key}: unexpected answer {answer}")),
        }
    }
    log
}

fn check_recovered(
    store: &Store,
    logs: &[WriterLog],
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut highest_version = 0;
    for log in logs {
        let entry = store.get(&log.key)?;
        let number = entry
            .as_ref()
            .and_then(|e| std::str::from_utf8(&e.value).ok()?.parse::<u64>().ok());
        let version = entry.as_ref().map_or(0, |e| e.version);
        let allowed_max = log.last_acked_number + u64::from(log.in_doubt);
        match number {
            Some(n) if n >= log.last_acked_number && n <= allowed_max => {}
            None if log.last_acked_number == 0 => {}
            found => problems.push(format!(
                "{}: holds {found:?} after recovery, but {} was acknowledged",
                log.key, log.last_acked_number
            )),
        }
        if version < log.last_acked_version {
            problems.push(format!(
                "{}: version went back from {} to {version}",
                log.key, log.last_acked_version
            ));
        }
        highest_version = highest_version.max(version).max(log.last_acked_version);
    }
    let batch_a = store.get("batch-a")?.map(|e| e.value);
    let batch_b = store.get("batch-b")?.map(|e| e.value);
    if batch_a != batch_b {
        problems.push(format!(
            "batch torn: batch-a {batch_a:?} but batch-b {batch_b:?}"
        ));
    }
    let fresh = store.put("after-recovery", b"1")?;
    if fresh <= highest_version {
        problems.push(format!(
            "new write got version {fresh}, not above {highest_version}"
        ));
    }
    Ok(())
}
