//! The processes of the system under test, by slot: start, kill, pause, resume and restart them,
//! and the connection clients use to reach each one.
//!
//! Invariant: every slot always holds a connection (to a dead process it answers `unsent` or
//! `info` at once); a slot's process is `None` only between a kill and its restart.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};

use super::connection::{Connection, Outcome};
use super::error::RunError;
use super::process::SutProcess;

/// How a restarted process recovered: how long it took to answer, or why it did not in time.
pub type Recovery = Result<Duration, String>;

/// How long a stopping process may take to exit after its stdin closed.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Slot {
    process: Option<SutProcess>,
    connection: Arc<Connection>,
    paused: bool,
}

/// The running processes of the system under test, all on one data directory.
#[derive(Debug)]
pub struct Cluster {
    command: String,
    env: Vec<(String, String)>,
    log_dir: PathBuf,
    slots: Vec<Mutex<Slot>>,
}

impl Cluster {
    /// Starts `processes` copies of `command`, stderr of slot `i` to `log_dir/sut-i.log`.
    pub fn start(command: &str, processes: usize, log_dir: &Path) -> Result<Self, RunError> {
        Self::start_with_env(command, &[], processes, log_dir)
    }

    /// [`Cluster::start`] with the variables `env` set for every process it starts, restarts
    /// included.
    pub fn start_with_env(
        command: &str,
        env: &[(String, String)],
        processes: usize,
        log_dir: &Path,
    ) -> Result<Self, RunError> {
        if processes == 0 {
            return Err(RunError::Config("at least one process is needed".into()));
        }
        let mut slots = Vec::with_capacity(processes);
        for index in 0..processes {
            let (process, connection) = spawn(command, env, log_dir, index)?;
            slots.push(Mutex::new(Slot {
                process: Some(process),
                connection,
                paused: false,
            }));
        }
        Ok(Cluster {
            command: command.to_owned(),
            env: env.to_vec(),
            log_dir: log_dir.to_path_buf(),
            slots,
        })
    }

    /// The command line of every process.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The stderr log of slot `index` (every process the slot ran appends to it).
    pub fn log_path(&self, index: usize) -> PathBuf {
        self.log_dir.join(format!("sut-{index}.log"))
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Always false: a cluster has at least one slot.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn slot(&self, index: usize) -> MutexGuard<'_, Slot> {
        self.slots[index % self.slots.len()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The connection to slot `index` (modulo the number of slots).
    pub fn connection(&self, index: usize) -> Arc<Connection> {
        Arc::clone(&self.slot(index).connection)
    }

    /// Slots with a live process that is not paused.
    pub fn running(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&index| {
                let slot = self.slot(index);
                slot.process.is_some() && !slot.paused
            })
            .collect()
    }

    /// Slots whose process is paused.
    pub fn paused(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&index| self.slot(index).paused)
            .collect()
    }

    /// SIGKILLs the process group of slot `index` (nothing if it is already dead).
    pub fn kill(&self, index: usize) -> Result<(), RunError> {
        let mut slot = self.slot(index);
        slot.paused = false;
        if let Some(mut process) = slot.process.take() {
            process.kill()?;
        }
        Ok(())
    }

    /// SIGSTOPs the process group of slot `index`.
    pub fn pause(&self, index: usize) -> Result<(), RunError> {
        let mut slot = self.slot(index);
        if let Some(process) = &slot.process {
            process.pause()?;
            slot.paused = true;
        }
        Ok(())
    }

    /// Waits until every thread of slot `index`'s process group but `except` has stopped (after
    /// [`Cluster::pause`]); false if `timeout` ran out first or the slot has no process.
    pub fn wait_stopped(&self, index: usize, except: Option<u32>, timeout: Duration) -> bool {
        let pgid = self
            .slot(index)
            .process
            .as_ref()
            .map(|process| process.pgid());
        pgid.is_some_and(|pgid| super::process::wait_group_stopped(pgid, except, timeout))
    }

    /// The slot whose process group holds process (or thread) `pid`, if any.
    pub fn slot_of_pid(&self, pid: u32) -> Option<usize> {
        let group = super::process::process_group_of(pid)?;
        (0..self.len()).find(|&index| {
            self.slot(index)
                .process
                .as_ref()
                .is_some_and(|process| process.pgid() == group)
        })
    }

    /// SIGCONTs slot `index` if it is paused.
    pub fn resume(&self, index: usize) -> Result<(), RunError> {
        let mut slot = self.slot(index);
        if let (true, Some(process)) = (slot.paused, &slot.process) {
            process.resume()?;
        }
        slot.paused = false;
        Ok(())
    }

    /// SIGCONTs every paused process.
    pub fn resume_all(&self) -> Result<(), RunError> {
        for index in 0..self.len() {
            let mut slot = self.slot(index);
            if let (true, Some(process)) = (slot.paused, &slot.process) {
                process.resume()?;
            }
            slot.paused = false;
        }
        Ok(())
    }

    /// Slots whose process is dead (killed, or exited by itself).
    pub fn dead(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&index| {
                let mut slot = self.slot(index);
                let exited = slot
                    .process
                    .as_mut()
                    .is_some_and(|p| p.try_wait().is_some());
                if exited {
                    slot.process = None;
                }
                slot.process.is_none()
            })
            .collect()
    }

    /// Starts a new process in slot `index` and waits until it answers a read, at most
    /// `bound`. Returns how long recovery took; `Err(detail)` inside `Ok` when it did not
    /// recover in time (a finding about the system under test, not a runner error).
    pub fn restart(&self, index: usize, bound: Duration) -> Result<Recovery, RunError> {
        let mut results = self.restart_many(&[index], bound)?;
        Ok(results
            .pop()
            .map_or_else(|| Err("not restarted".into()), |(_, result)| result))
    }

    /// Restarts `slots` together: kills what is left of them, starts new processes, and probes
    /// them concurrently. Clients reach a new process only once its probe is over (its slot
    /// keeps the dead connection until then), as a readiness check would have it.
    pub fn restart_many(
        &self,
        slots: &[usize],
        bound: Duration,
    ) -> Result<Vec<(usize, Recovery)>, RunError> {
        for &index in slots {
            self.kill(index)?;
        }
        let started = Instant::now();
        let mut fresh = Vec::with_capacity(slots.len());
        for &index in slots {
            fresh.push((
                index,
                spawn(&self.command, &self.env, &self.log_dir, index)?,
            ));
        }
        let probes: Vec<Recovery> = std::thread::scope(|scope| {
            let handles: Vec<_> = fresh
                .iter()
                .map(|(_, (_, connection))| scope.spawn(move || probe(connection, started, bound)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err("the probe panicked".into()))
                })
                .collect()
        });
        let mut results = Vec::with_capacity(slots.len());
        for ((index, (process, connection)), probed) in fresh.into_iter().zip(probes) {
            let mut slot = self.slot(index);
            slot.process = Some(process);
            slot.connection = connection;
            results.push((index, probed));
        }
        Ok(results)
    }

    /// Asks slot `index` a request outside the recorded history (hello, verify).
    pub fn ask(&self, index: usize, request: Json, timeout: Duration) -> Outcome {
        let Json::Object(request) = request else {
            return Outcome::Unsent("a request must be a JSON object".into());
        };
        self.connection(index).call(request, timeout)
    }

    /// Stops every process: closes its stdin, waits a moment, then kills what is left.
    pub fn stop(&self) {
        for index in 0..self.len() {
            let mut slot = self.slot(index);
            if let Some(process) = &slot.process {
                let _ = process.resume();
            }
            slot.connection.close();
            slot.connection = Arc::new(Connection::closed());
            if let Some(mut process) = slot.process.take() {
                let _ = process.wait_or_kill(STOP_GRACE);
            }
            slot.paused = false;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asks `hello` until it is answered, then retries a read until one is answered `ok` or the
/// bound runs out. A `hello` answer that carries `open_error` (store/SERVE.md: the process
/// found data it cannot open and will refuse every request) ends the probe at once: waiting
/// out the bound would change nothing but the time a failure takes to be found.
pub fn probe(
    connection: &Connection,
    started: Instant,
    bound: Duration,
) -> Result<Duration, String> {
    let mut last = String::from("no answer");
    let mut attempts = 0u32;
    let mut greeted = false;
    while started.elapsed() < bound && attempts < 10_000 {
        attempts += 1;
        let left = bound.saturating_sub(started.elapsed());
        let request = if greeted {
            read_request()
        } else {
            super::workload::hello_request()
        };
        let outcome = connection.call(request, left);
        if !greeted {
            match outcome {
                Outcome::Ok(answer) => {
                    if let Some(error) = answer.get("open_error") {
                        return Err(format!(
                            "the restarted process refuses to open its data (hello after {} \
                             ms: open_error {error})",
                            started.elapsed().as_millis()
                        ));
                    }
                    greeted = true;
                }
                // A system that does not speak `hello` is probed with reads alone.
                Outcome::Fail(_) => greeted = true,
                Outcome::Info(why) | Outcome::Unsent(why) => {
                    last = why;
                    if connection_is_dead(&last) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            continue;
        }
        tracing::debug!(elapsed = ?started.elapsed(), ?outcome, "recovery probe");
        match outcome {
            Outcome::Ok(_) => return Ok(started.elapsed()),
            Outcome::Fail(answer) => last = format!("fail {}", Json::Object(answer)),
            Outcome::Info(why) | Outcome::Unsent(why) => {
                last = why;
                if connection_is_dead(&last) {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!(
        "no ok answer within {} ms after the restart (last: {last})",
        bound.as_millis()
    ))
}

fn connection_is_dead(why: &str) -> bool {
    why.contains("closed its output") || why.contains("could not send")
}

fn read_request() -> Map<String, Json> {
    match json!({"op": "get", "key": "k0"}) {
        Json::Object(map) => map,
        _ => unreachable!("a literal object"),
    }
}

fn spawn(
    command: &str,
    env: &[(String, String)],
    log_dir: &Path,
    index: usize,
) -> Result<(SutProcess, Arc<Connection>), RunError> {
    let log_path = log_dir.join(format!("sut-{index}.log"));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(RunError::io(&log_path))?;
    let (process, stdin, stdout) = SutProcess::spawn_with_env(command, env, Stdio::from(log))?;
    Ok((process, Arc::new(Connection::new(stdin, stdout))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-line server in `sh`: answers every request with `answer` (a JSON object's fields
    /// after `"id"`), echoing the request's id.
    fn server(answer: &str) -> String {
        format!(
            r#"while IFS= read -r line; do id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/'); printf '{{"id":%s,%s}}\n' "$id" '{answer}'; done"#
        )
    }

    #[test]
    fn a_restart_that_refuses_to_open_its_data_fails_without_waiting_out_the_bound() {
        let logs = tempfile::tempdir().unwrap();
        let refusing = server(
            r#""type":"ok","open_error":{"error":"corrupt","message":"the store cannot be opened"}"#,
        );
        let cluster = Cluster::start(&refusing, 1, logs.path()).unwrap();
        let bound = Duration::from_secs(60);
        let started = Instant::now();
        let recovery = cluster.restart(0, bound).unwrap();
        let detail = recovery.expect_err("a process that refuses its data did not recover");
        assert!(detail.contains("open_error"), "{detail}");
        assert!(
            started.elapsed() < bound / 2,
            "the probe waited {:?} for a process that said it will never open",
            started.elapsed()
        );
    }

    #[test]
    fn a_pid_maps_to_its_slot_and_one_slot_resumes_alone() {
        let logs = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(&server(r#""type":"ok""#), 2, logs.path()).unwrap();
        let pgid = |index: usize| cluster.slot(index).process.as_ref().unwrap().pgid();
        assert_eq!(cluster.slot_of_pid(pgid(1) as u32), Some(1));
        assert_eq!(
            cluster.slot_of_pid(std::process::id()),
            None,
            "not in the cluster"
        );
        cluster.pause(0).unwrap();
        cluster.pause(1).unwrap();
        cluster.resume(1).unwrap();
        assert_eq!(cluster.paused(), vec![0]);
        cluster.resume_all().unwrap();
    }

    #[test]
    fn a_restart_that_answers_hello_and_reads_recovers() {
        let logs = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(&server(r#""type":"ok""#), 1, logs.path()).unwrap();
        let recovery = cluster.restart(0, Duration::from_secs(60)).unwrap();
        assert!(recovery.is_ok(), "{recovery:?}");
    }
}
