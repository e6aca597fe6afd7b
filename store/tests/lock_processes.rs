//! The lease lock across real processes: several child processes (this test binary run again
//! with [`CHILD_ENV`] naming a role) contend for one directory's lock.
//!
//! - At most one holds it at a time: each holder increments a counter file by read, pause,
//!   write and marks its critical section with an O_EXCL file; a lost increment or a marker
//!   found present is an overlap. Every acquisition gets a distinct epoch.
//! - A SIGKILLed holder is taken over at once (its pid is dead on this host), well within
//!   the lease.
//! - A SIGSTOPped holder is taken over once its lease expired; continued, it finds itself
//!   fenced.
//!
//! Every child is killed and reaped however a test ends, and each test is bounded (a few
//! seconds).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use store::io::StdIo;
use store::lock::{Epoch, LeaseLock, LeaseOptions, LockError};

/// Names the role of a child process (`contend` or `hold`); unset in the parent.
const CHILD_ENV: &str = "FAULTLINE_LOCK_CHILD";
/// The directory the children lock.
const DIR_ENV: &str = "FAULTLINE_LOCK_DIR";
/// The lease of the children's lock, in milliseconds.
const LEASE_ENV: &str = "FAULTLINE_LOCK_LEASE_MS";
/// Prefix of the lines a child reports on.
const REPORT: &str = "lock-report:";
/// Acquisitions per contending child.
const ROUNDS: u64 = 15;

fn lock(dir: &Path, lease: Duration, acquire_timeout: Duration) -> LeaseLock {
    let options = LeaseOptions {
        lease,
        acquire_timeout,
        ..LeaseOptions::default()
    };
    LeaseLock::new(Arc::new(StdIo), dir, options).unwrap()
}

fn report(line: &str) {
    println!("{REPORT} {line}");
}

/// A contender: `ROUNDS` times, takes the lock and increments the counter inside it.
fn contend(dir: &Path, lease: Duration) {
    let lock = lock(dir, lease, Duration::from_secs(8));
    let (counter, marker) = (dir.join("counter"), dir.join("inside"));
    for _ in 0..ROUNDS {
        let guard = lock.acquire().unwrap();
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
            .is_err()
        {
            report("overlap");
        }
        let count: u64 =
            std::fs::read_to_string(&counter).map_or(0, |text| text.trim().parse().unwrap());
        thread::sleep(Duration::from_millis(1));
        std::fs::write(&counter, (count + 1).to_string()).unwrap();
        let _ = std::fs::remove_file(&marker);
        report(&format!("epoch {}", guard.epoch()));
        guard.release().unwrap();
    }
}

/// A holder: takes the lock, reports its epoch, and heartbeats until it finds itself fenced
/// (then reports it) or 10 s passed.
fn hold(dir: &Path, lease: Duration) {
    let mut guard = lock(dir, lease, Duration::from_secs(5)).acquire().unwrap();
    report(&format!("held {}", guard.epoch()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match guard.heartbeat() {
            Ok(()) => thread::sleep(lease / 8),
            Err(LockError::Fenced { current, .. }) => {
                report(&format!("fenced {current}"));
                return;
            }
            Err(error) => panic!("{error}"),
        }
    }
    panic!("never fenced");
}

/// The children's entry point, run by the tests below (run on its own, it does nothing).
#[test]
#[ignore = "a child process of the other tests in this file"]
fn child() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(DIR_ENV).unwrap());
    let lease = Duration::from_millis(std::env::var(LEASE_ENV).unwrap().parse().unwrap());
    match role.as_str() {
        "contend" => contend(&dir, lease),
        "hold" => hold(&dir, lease),
        other => panic!("unknown role {other}"),
    }
}

/// A running child and its report lines; killed and reaped when dropped.
struct ChildProcess {
    child: Child,
    reports: Receiver<String>,
}

impl ChildProcess {
    fn spawn(role: &str, dir: &Path, lease: Duration) -> ChildProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, role)
            .env(DIR_ENV, dir)
            .env(LEASE_ENV, lease.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, reports) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find(REPORT) {
                    let report = line[at + REPORT.len()..].trim().to_string();
                    if sender.send(report).is_err() {
                        return;
                    }
                }
            }
        });
        ChildProcess { child, reports }
    }

    /// The next report, waiting at most 5 s.
    fn next_report(&self) -> String {
        self.reports
            .recv_timeout(Duration::from_secs(5))
            .expect("the child reported in time")
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: sends a signal to our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits (at most until `deadline`) for the child to exit; whether it succeeded.
    fn wait_until(&mut self, deadline: Instant) -> bool {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn contending_processes_hold_the_lock_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let lease = Duration::from_secs(5);
    let mut children: Vec<ChildProcess> = (0..4)
        .map(|_| ChildProcess::spawn("contend", dir.path(), lease))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(8);
    for child in &mut children {
        assert!(child.wait_until(deadline), "a contender failed or hung");
    }
    let mut epochs = Vec::new();
    for child in &children {
        for report in child.reports.try_iter() {
            assert_ne!(report, "overlap", "two processes held the lock at once");
            epochs.push(report);
        }
    }
    let count = std::fs::read_to_string(dir.path().join("counter")).unwrap();
    assert_eq!(count, (4 * ROUNDS).to_string(), "an increment was lost");
    assert_eq!(epochs.len() as u64, 4 * ROUNDS);
    epochs.sort();
    epochs.dedup();
    assert_eq!(
        epochs.len() as u64,
        4 * ROUNDS,
        "an epoch was granted twice"
    );
}

#[test]
fn a_killed_holder_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let lease = Duration::from_secs(3);
    let mut holder = ChildProcess::spawn("hold", dir.path(), lease);
    let held: u64 = holder.next_report()["held ".len()..].parse().unwrap();
    holder.signal(libc::SIGKILL);
    assert!(!holder.wait_until(Instant::now() + Duration::from_secs(2)));
    let started = Instant::now();
    let guard = lock(dir.path(), lease, lease).acquire().unwrap();
    assert!(
        started.elapsed() < lease / 2,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(guard.epoch(), Epoch(held + 1));
}

#[test]
fn a_stopped_holder_is_taken_over_after_its_lease_and_is_fenced_when_continued() {
    let dir = tempfile::tempdir().unwrap();
    let lease = Duration::from_millis(600);
    let mut holder = ChildProcess::spawn("hold", dir.path(), lease);
    let held: u64 = holder.next_report()["held ".len()..].parse().unwrap();
    holder.signal(libc::SIGSTOP);
    let stopped = Instant::now();
    let guard = lock(dir.path(), lease, Duration::from_secs(5))
        .acquire()
        .unwrap();
    let waited = stopped.elapsed();
    // Not before the lease of its last heartbeat (about lease / 8 before the stop) ran out.
    assert!(waited >= lease / 2, "taken over after {waited:?}");
    assert!(waited < lease * 3, "taken over only after {waited:?}");
    assert_eq!(guard.epoch(), Epoch(held + 1));
    holder.signal(libc::SIGCONT);
    assert_eq!(holder.next_report(), format!("fenced {}", held + 1));
    assert!(holder.wait_until(Instant::now() + Duration::from_secs(5)));
    guard.check_not_fenced().unwrap();
}
