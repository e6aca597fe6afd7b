//! One run: start the system under test (on the lazy filesystem when a fault needs it), drive it
//! with clients while the nemesis injects faults, heal, read every key, verify, check, and keep
//! a failure as a bundle before anything else happens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};

use super::checks::{run_checks, verdict, CheckInputs, CheckRecord};
use super::cleanup::{copy_tree, register_mount, unregister_mount, WorkDir};
use super::client::{final_reads, run_client, ClientShared};
use super::cluster::Cluster;
use super::config::RunConfig;
use super::connection::Outcome;
use super::error::RunError;
use super::interrupt::stop_requested;
use super::keep::{write_bundle, FailedRun};
use super::nemesis::{Nemesis, NemesisReport};
use super::promises::Promises;
use super::record::Recorder;
use super::schedule::FaultKind;
use super::workload::{final_reads as final_read_ops, ClientWorkload};
use crate::lazyfs::{LazyFs, LazyFsOptions, MountedLazyFs};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run's seed.
    pub seed: u64,
    /// Every check and what it found.
    pub checks: Vec<CheckRecord>,
    /// The check that failed (or was unknown); `None` when the run passed.
    pub failing_check: Option<String>,
    /// Operations completed by the clients.
    pub operations: u64,
    /// Faults applied, by kind.
    pub faults: BTreeMap<FaultKind, u64>,
    /// Crashes followed by a recovery within the bound.
    pub crashes: u64,
    /// The bundle keeping the failure.
    pub bundle: Option<PathBuf>,
    /// Wall-clock time of the whole run, checks included.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// Whether every check passed (or was not held against the system under test).
    pub fn passed(&self) -> bool {
        self.failing_check.is_none()
    }
}

/// Runs `config` once; a failure is kept as a bundle under `out`.
pub fn run(config: &RunConfig, out: &Path) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    if config.clients == 0 || config.keys == 0 {
        return Err(RunError::Config(
            "clients and keys must be at least 1".into(),
        ));
    }
    let work = WorkDir::create(&format!("run-{}", config.seed))?;
    let mount = if config.needs_lazyfs() {
        Some(mount_lazyfs(config, work.path())?)
    } else {
        None
    };
    let result = run_mounted(config, out, work.path(), mount.as_ref(), started);
    if let Some(mount) = mount {
        let point = mount.mount_point().to_path_buf();
        let unmounted = mount.unmount();
        unregister_mount(&point);
        unmounted?;
    }
    result
}

fn mount_lazyfs(config: &RunConfig, work: &Path) -> Result<MountedLazyFs, RunError> {
    let mount_point = work.join("mnt");
    let mut options = LazyFsOptions::new(work.join("backing"), &mount_point);
    options.fault_seed = config.seed;
    options.fault_log = Some(work.join("fault-log.jsonl"));
    options.trace_file = Some(work.join("trace.jsonl"));
    options.cache_limit_bytes = 256 << 20;
    std::fs::create_dir_all(&mount_point).map_err(RunError::io(&mount_point))?;
    register_mount(&mount_point.canonicalize().unwrap_or(mount_point.clone()));
    LazyFs::mount(options).map_err(|error| {
        unregister_mount(&mount_point);
        RunError::from(error)
    })
}

fn run_mounted(
    config: &RunConfig,
    out: &Path,
    work: &Path,
    mount: Option<&MountedLazyFs>,
    started: Instant,
) -> Result<RunOutcome, RunError> {
    let data_dir = match mount {
        Some(mount) => mount.mount_point().join("store"),
        None => work.join("store"),
    };
    create_durably(&data_dir)?;
    let cluster = Cluster::start_with_env(
        &config.sut_command(&data_dir),
        &config.sut_environment(),
        config.processes,
        work,
    )?;
    let promises = promises(config, &cluster)?;
    let recorder = Recorder::create(&work.join("history.jsonl"))?;
    let stop = AtomicBool::new(false);
    let next_process = AtomicU64::new(0);
    let shared = ClientShared {
        cluster: &cluster,
        recorder: &recorder,
        stop: &stop,
        next_process: &next_process,
        op_timeout: Duration::from_millis(config.op_timeout_ms),
    };
    let nemesis = Nemesis::new(
        config,
        &cluster,
        mount,
        &recorder,
        &promises,
        work.to_path_buf(),
    );
    let (report, operations) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..config.clients)
            .map(|index| {
                let workload =
                    ClientWorkload::new(config.seed, index as u64, config.keys, config.mix.clone());
                let shared = &shared;
                scope.spawn(move || run_client(index, workload, shared))
            })
            .collect();
        let stop = &stop;
        let nemesis = scope.spawn(move || nemesis.run(stop));
        let deadline = Instant::now() + Duration::from_millis(config.run_ms);
        while Instant::now() < deadline && !stop.load(Ordering::SeqCst) && !stop_requested() {
            std::thread::sleep(Duration::from_millis(10));
            recorder.sync_if_due();
        }
        stop.store(true, Ordering::SeqCst);
        let report = nemesis
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A client waiting on a paused process gets its answer now, not at its timeout.
        let _ = cluster.resume_all();
        let operations: u64 = clients
            .into_iter()
            .map(|client| match client.join() {
                Ok(stats) => stats.operations,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .sum();
        (report, operations)
    });
    let mut report = report?;
    let inputs = finish(config, &cluster, mount, &recorder, &shared, &mut report)?;
    recorder.finish()?;
    cluster.stop();
    if let Some(mount) = mount {
        mount.heal();
        let _ = copy_tree(mount.mount_point(), &work.join("image-after"));
    } else {
        let _ = copy_tree(&data_dir, &work.join("image-after"));
    }
    let checked = run_checks(&work.join("history.jsonl"), &inputs)?;
    let failing_check = verdict(&checked.records).map(|check| check.name.clone());
    let mut outcome = RunOutcome {
        seed: config.seed,
        checks: checked.records.clone(),
        failing_check,
        operations,
        faults: report.counts.clone(),
        crashes: report.crashes,
        bundle: None,
        elapsed: started.elapsed(),
    };
    if outcome.failing_check.is_some() {
        let failed = FailedRun {
            config,
            promises: &promises,
            nemesis: &report,
            outcome: &outcome,
            checked: &checked,
            final_reads_ns: inputs.final_reads_ns,
            work,
            mount,
        };
        outcome.bundle = Some(write_bundle(&failed, out)?);
    }
    Ok(outcome)
}

/// Creates the data directory and fsyncs its parent: the system under test gets a directory
/// that exists durably, as an installed system would, and is judged on its own files only.
fn create_durably(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(RunError::io(dir))?;
    let parent = dir.parent().unwrap_or(dir);
    std::fs::File::open(parent)
        .and_then(|handle| handle.sync_all())
        .map_err(RunError::io(parent))
}

/// End of the run: heal, resume, restart what is dead, read every key, verify.
fn finish(
    config: &RunConfig,
    cluster: &Cluster,
    mount: Option<&MountedLazyFs>,
    recorder: &Recorder,
    shared: &ClientShared<'_>,
    report: &mut NemesisReport,
) -> Result<CheckInputs, RunError> {
    if let Some(mount) = mount {
        mount.heal();
    }
    cluster.resume_all()?;
    recorder.fault(
        "heal",
        "end of run: every fault healed, every process resumed",
    );
    let bound = Duration::from_millis(config.recovery_timeout_ms);
    if report.recovery_failure.is_none() {
        for slot in cluster.dead() {
            if let Err(why) = cluster.restart(slot, bound)? {
                report.recovery_failure = Some(format!("end of run: slot {slot}: {why}"));
            }
        }
    }
    let mut inputs = CheckInputs {
        detect_only: report.detect_only,
        check_timeout: Duration::from_millis(config.check_timeout_ms),
        final_reads_ns: recorder.elapsed_ms().saturating_mul(1_000_000),
        ..CheckInputs::default()
    };
    if report.recovery_failure.is_none() {
        // Every process reads every key: they share one directory, so all must agree.
        for slot in 0..cluster.len() {
            let unread = final_reads(shared, slot, &final_read_ops(config.keys), 5);
            if !unread.is_empty() {
                report.recovery_failure = Some(format!(
                    "final reads of slot {slot} not answered for keys {}",
                    unread.join(", ")
                ));
                break;
            }
        }
        inputs.verify_problems = verify(cluster, bound);
    }
    if report.detect_only && report.recovery_failure.is_some() {
        // A store that refuses to serve damaged data has detected it: not a broken promise.
        report.recovery_failure = None;
        inputs.verify_problems.get_or_insert_with(Vec::new);
    }
    inputs.recovery_failure = report.recovery_failure.clone();
    Ok(inputs)
}

fn verify(cluster: &Cluster, timeout: Duration) -> Option<Vec<String>> {
    match cluster.ask(0, json!({"op": "verify"}), timeout) {
        Outcome::Ok(answer) => Some(
            answer
                .get("problems")
                .and_then(Json::as_array)
                .map(|problems| {
                    problems
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_else(|| vec!["verify answered without a `problems` list".into()]),
        ),
        Outcome::Fail(answer) => Some(vec![format!("verify failed: {}", Json::Object(answer))]),
        Outcome::Info(_) | Outcome::Unsent(_) => None,
    }
}

/// The promises given on the command line, or those the system under test answers to `hello`;
/// with a mutant asked for, every process must also confirm it runs that mutant.
fn promises(config: &RunConfig, cluster: &Cluster) -> Result<Promises, RunError> {
    let timeout = Duration::from_millis(config.recovery_timeout_ms);
    let mut first_answer = None;
    if let Some(mutant) = &config.mutant {
        for slot in 0..cluster.len() {
            let answer = hello(cluster, slot, timeout)?;
            confirm_mutant(cluster, slot, mutant, &answer)?;
            first_answer.get_or_insert(answer);
        }
    }
    if let Some(text) = &config.promises {
        return Ok(Promises::parse(text)?);
    }
    let answer = match first_answer {
        Some(answer) => answer,
        None => hello(cluster, 0, timeout)?,
    };
    Ok(Promises::from_hello(&answer)?)
}

/// Asks slot `slot` `hello`; anything but an `ok` answer is a setup error that quotes the end of
/// the process's stderr (a process that exited at once says why there).
fn hello(cluster: &Cluster, slot: usize, timeout: Duration) -> Result<Map<String, Json>, RunError> {
    match cluster.ask(slot, json!({"op": "hello"}), timeout) {
        Outcome::Ok(answer) => Ok(answer),
        other => Err(RunError::Hello {
            command: cluster.command().to_owned(),
            detail: format!(
                "{other:?}{}",
                stderr_tail(&cluster.log_path(slot), STDERR_TAIL_BYTES)
            ),
        }),
    }
}

/// How much of a process's stderr a setup error quotes.
const STDERR_TAIL_BYTES: u64 = 2_000;

/// A system under test that does not name the mutant asked for is not running it: measuring it
/// would count a clean store as a missed mutant.
fn confirm_mutant(
    cluster: &Cluster,
    slot: usize,
    mutant: &str,
    answer: &Map<String, Json>,
) -> Result<(), RunError> {
    let named = answer.get("mutant").and_then(Json::as_str);
    if named == Some(mutant) {
        return Ok(());
    }
    let answered = match answer.get("mutant") {
        None | Some(Json::Null) => "no `mutant` field".to_owned(),
        Some(other) => format!("\"mutant\": {other}"),
    };
    Err(RunError::Hello {
        command: cluster.command().to_owned(),
        detail: format!(
            "mutant {mutant:?} was asked for ({}={mutant}), but process {slot}'s hello \
             answered {answered}: it does not run the mutant (a store built without the \
             `mutants` feature? build one with `{MUTANT_BUILD}`)",
            store::mutant::ENV_VAR
        ),
    })
}

/// The command that builds a store able to run mutants, apart from the shipped build.
pub const MUTANT_BUILD: &str =
    "cargo build --release -p store --features mutants --target-dir target/mutants";

/// The last `bytes` of the file at `path`, as a suffix for an error message; empty when the
/// file is empty or unreadable.
fn stderr_tail(path: &Path, bytes: u64) -> String {
    let Ok(text) = std::fs::read(path) else {
        return String::new();
    };
    let start = text.len().saturating_sub(bytes as usize);
    let tail = String::from_utf8_lossy(&text[start..]);
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n{tail}")
    }
}
