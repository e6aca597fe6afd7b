//! The nemesis: applies faults to the system under test, from the seeded schedule or from a
//! recorded list (replay), records each one in the history and in the run's fault list, and
//! checks that every crash is followed by a recovery within the bound. Where power cuts land
//! and what a stall (a pause aimed at a log append or a manifest create) does is in `held`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cleanup::copy_tree;
use super::cluster::Cluster;
use super::config::{FaultRecord, RunConfig};
use super::crash_image::keep_crash_image;
use super::error::RunError;
use super::promises::{Promise, Promises};
use super::record::Recorder;
use super::schedule::{FaultContext, FaultKind, FaultSchedule, FaultWeights};
use crate::lazyfs::{CrashPolicy, FaultKind as FsFault, HoldRelease, MountedLazyFs};

mod held;
mod rot;

pub use held::{blob_pattern, log_pattern, CutAim, StallAim, GATHER, HOLD_WAIT};
pub use rot::RotAim;

/// What the nemesis did in a run.
#[derive(Debug, Default)]
pub struct NemesisReport {
    /// Every fault applied (or skipped, with why), in order.
    pub faults: Vec<FaultRecord>,
    /// Faults applied, by kind.
    pub counts: BTreeMap<FaultKind, u64>,
    /// Crashes followed by a recovery within the bound.
    pub crashes: u64,
    /// A fault the system under test only promises to detect was injected.
    pub detect_only: bool,
    /// A restart that did not recover within the bound: which slot, after what, and why.
    pub recovery_failure: Option<String>,
}

/// The nemesis of one run.
pub struct Nemesis<'a> {
    config: &'a RunConfig,
    cluster: &'a Cluster,
    mount: Option<&'a MountedLazyFs>,
    recorder: &'a Recorder,
    promises: &'a Promises,
    schedule: FaultSchedule,
    work_dir: PathBuf,
    filesystem_faults_active: bool,
    /// When (run clock, ms) each paused slot was paused.
    paused_at_ms: BTreeMap<usize, u64>,
    report: NemesisReport,
}

impl<'a> Nemesis<'a> {
    /// A nemesis over `cluster` (and `mount`, when the data directory is on the lazy
    /// filesystem), picking only faults that are enabled and promised.
    pub fn new(
        config: &'a RunConfig,
        cluster: &'a Cluster,
        mount: Option<&'a MountedLazyFs>,
        recorder: &'a Recorder,
        promises: &'a Promises,
        work_dir: PathBuf,
    ) -> Self {
        let schedule = FaultSchedule::new(
            config.seed ^ 0x006E_656D_6573_6973,
            effective_weights(config, promises),
        );
        Nemesis {
            config,
            cluster,
            mount,
            recorder,
            promises,
            schedule,
            work_dir,
            filesystem_faults_active: false,
            paused_at_ms: BTreeMap::new(),
            report: NemesisReport::default(),
        }
    }

    /// Applies faults until `stop` is set or a recovery fails (then sets `stop` itself).
    pub fn run(mut self, stop: &AtomicBool) -> Result<NemesisReport, RunError> {
        let planned = self.config.planned_faults.clone();
        let mut planned = planned.map(|faults| faults.into_iter());
        let (low, high) = (
            self.config.fault_interval_min_ms,
            self.config
                .fault_interval_max_ms
                .max(self.config.fault_interval_min_ms),
        );
        let mut next_at_ms = 0;
        for _ in 0..1_000_000u32 {
            let (kind, target, crash_seed) = match planned.as_mut() {
                Some(faults) => match faults.next() {
                    Some(fault) => {
                        next_at_ms = fault.at_ms;
                        (Some(fault.kind), fault.target, fault.crash_seed)
                    }
                    None => break,
                },
                None => {
                    next_at_ms += low + self.schedule.draw(high - low + 1);
                    (None, None, None)
                }
            };
            if !sleep_until(self.recorder, next_at_ms, stop) {
                break;
            }
            let kind = match kind {
                Some(kind) => kind,
                None => match self.schedule.next(&self.context()) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            self.apply(kind, target, crash_seed)?;
            if self.report.recovery_failure.is_some() {
                stop.store(true, Ordering::SeqCst);
                break;
            }
        }
        Ok(self.report)
    }

    /// The seed of a stall, when this pause is one: a replay stalls iff the recorded pause
    /// did; a drawn pause is a stall three times in four when another process can take over
    /// and the data directory is on the lazy filesystem (the stall holds an operation there).
    fn stall_seed(&mut self, recorded: Option<u64>, running: usize) -> Option<u64> {
        if self.config.planned_faults.is_some() {
            return recorded;
        }
        let seed = self.schedule.draw(u64::MAX);
        (seed % 4 != 3 && running >= 2 && self.mount.is_some()).then_some(seed)
    }

    fn context(&self) -> FaultContext {
        let paused = self.cluster.paused();
        let now_ms = self.recorder.elapsed_ms();
        // A replay resumes when the recorded run did, even a few ms short of the hold.
        let hold_ms = if self.config.planned_faults.is_some() {
            0
        } else {
            self.config.weights.pause_hold_ms
        };
        let resumable = paused
            .iter()
            .filter(|slot| {
                self.paused_at_ms
                    .get(slot)
                    .is_none_or(|at| now_ms >= at + hold_ms)
            })
            .count();
        FaultContext {
            running: self.cluster.running().len(),
            paused: paused.len(),
            resumable,
            lazyfs: self.mount.is_some(),
            filesystem_faults_active: self.filesystem_faults_active,
        }
    }

    /// Applies one fault; `target` and `crash_seed` come from a replayed record or are drawn.
    pub fn apply(
        &mut self,
        kind: FaultKind,
        target: Option<usize>,
        crash_seed: Option<u64>,
    ) -> Result<(), RunError> {
        let at_ms = self.recorder.elapsed_ms();
        if !self.context().applies(kind) {
            self.note(
                at_ms,
                kind,
                None,
                None,
                "skipped: does not apply now".into(),
            );
            return Ok(());
        }
        if self.promises.for_fault(kind) == Some(Promise::Detect) {
            self.report.detect_only = true;
        }
        let running = self.cluster.running();
        let pick = |schedule: &mut FaultSchedule| {
            target.unwrap_or_else(|| running[schedule.draw(running.len() as u64) as usize])
        };
        let mut read_at_start = None;
        let (target, crash_seed, detail) = match kind {
            FaultKind::KillOne => {
                let slot = pick(&mut self.schedule);
                self.before_crash(kind, Some(slot));
                self.cluster.kill(slot)?;
                (Some(slot), None, self.recover(&[slot], kind)?)
            }
            FaultKind::KillAll | FaultKind::PowerCut => {
                let seed = (kind == FaultKind::PowerCut)
                    .then(|| crash_seed.unwrap_or_else(|| self.schedule.draw(u64::MAX)));
                // Most power cuts land inside an fsync (by seed, so a replay cuts the same way,
                // `held::CutAim`): the next one the aim names is held, its data pending, and
                // the power goes then.
                let aim = seed.map_or(CutAim::Anywhere, CutAim::of_seed);
                let held = match self.mount {
                    Some(mount) => held::hold_for_cut(mount, &self.config.fault_pattern, aim)?,
                    None => None,
                };
                self.before_crash(kind, None);
                if held.is_none() {
                    for slot in 0..self.cluster.len() {
                        self.cluster.kill(slot)?;
                    }
                }
                let mut detail = String::new();
                if let (Some(seed), Some(mount)) = (seed, self.mount) {
                    let tearing = aim.is_log() || seed % 2 == 0;
                    mount.set_crash_policy(crash_policy(tearing));
                    let report = mount.power_cut(seed);
                    if held.is_some() {
                        // The held fsync fails (its machine lost power); every process dies
                        // before it can act on the new image with what it remembers.
                        mount.release_held(HoldRelease::Fail);
                        for slot in 0..self.cluster.len() {
                            self.cluster.kill(slot)?;
                        }
                    }
                    let report = report?;
                    let inside = held.as_ref().map_or_else(String::new, |op| {
                        format!(" inside the fsync of {} ({aim:?})", op.path)
                    });
                    detail = format!(
                        "crash state {seed}{}{inside}: {} pending ops; file ops {} kept, {} \
                         lost, {} torn; directory ops {} kept, {} lost; reordered {}; ",
                        if tearing { " (tearing)" } else { "" },
                        report.pending_ops,
                        report.file_ops_kept,
                        report.file_ops_lost,
                        report.writes_torn,
                        report.dir_ops_kept,
                        report.dir_ops_lost,
                        report.reordered
                    );
                    self.rotate_trace();
                }
                let slots: Vec<usize> = (0..self.cluster.len()).collect();
                detail.push_str(&self.recover(&slots, kind)?);
                (None, seed, detail)
            }
            FaultKind::Pause => match (self.stall_seed(crash_seed, running.len()), self.mount) {
                (Some(seed), Some(mount)) => {
                    let pause_hold = Duration::from_millis(self.config.weights.pause_hold_ms);
                    let (slot, detail) = held::stall(
                        self.cluster,
                        mount,
                        &self.config.fault_pattern,
                        StallAim::of_seed(seed),
                        pause_hold,
                    )?;
                    (slot, Some(seed), detail)
                }
                _ => {
                    let slot = pick(&mut self.schedule);
                    self.cluster.pause(slot)?;
                    self.paused_at_ms.insert(slot, at_ms);
                    (Some(slot), None, format!("paused slot {slot}"))
                }
            },
            FaultKind::Resume => {
                self.cluster.resume_all()?;
                (None, None, "resumed every paused process".into())
            }
            FaultKind::Heal => {
                self.cluster.resume_all()?;
                if let Some(mount) = self.mount {
                    mount.heal();
                }
                self.filesystem_faults_active = false;
                (
                    None,
                    None,
                    "resumed every process, disarmed every filesystem fault".into(),
                )
            }
            FaultKind::FsyncEio
            | FaultKind::Enospc
            | FaultKind::BitFlip
            | FaultKind::MisdirectedWrite => {
                let (fs_fault, count) = filesystem_fault(kind);
                if let Some(mount) = self.mount {
                    mount.inject(fs_fault, &self.config.fault_pattern, count)?;
                    self.filesystem_faults_active = true;
                }
                let times = count.map_or("until healed".to_owned(), |n| format!("{n} time(s)"));
                (
                    None,
                    None,
                    format!(
                        "{} on {} {times}",
                        fs_fault.name(),
                        self.config.fault_pattern
                    ),
                )
            }
            FaultKind::BitRot | FaultKind::MisplacedBlob => {
                let seed = (kind == FaultKind::BitRot).then(|| self.rot_seed(crash_seed));
                let (detail, reads) = self.damage_at_rest(kind, seed)?;
                read_at_start = reads;
                (None, seed, detail)
            }
        };
        *self.report.counts.entry(kind).or_default() += 1;
        self.note(at_ms, kind, target, crash_seed, detail);
        if let Some(reads) = read_at_start {
            self.recorder.fault(DAMAGE_READ_AT_START, &reads);
        }
        Ok(())
    }

    /// Keeps the durable image as it was just before a crash, for the bundle.
    fn before_crash(&self, kind: FaultKind, target: Option<usize>) {
        let source = match self.mount {
            Some(mount) => mount.backing_dir().to_path_buf(),
            None => self.work_dir.join("store"),
        };
        let _ = copy_tree(&source, &self.work_dir.join("image-before"));
        let label = format!("before {} {target:?}", kind.name());
        if let Some(mount) = self.mount {
            mount.mark(&label);
        }
        self.recorder.sync();
    }

    /// Starts the trace afresh after a power cut, keeping the segment that led up to it.
    fn rotate_trace(&self) {
        let Some(mount) = self.mount else { return };
        let current = self.work_dir.join("trace.jsonl");
        if mount.stop_trace().is_some() {
            let _ = std::fs::rename(&current, self.work_dir.join("trace.previous.jsonl"));
        }
        let _ = mount.start_trace(&current);
    }

    /// Restarts `slots` and checks each recovers within the bound.
    fn recover(&mut self, slots: &[usize], kind: FaultKind) -> Result<String, RunError> {
        let bound = Duration::from_millis(self.config.recovery_timeout_ms);
        if slots.len() == self.cluster.len() {
            // Every process is down: the restarts are about to find the crash image.
            let data_dir = match self.mount {
                Some(mount) => mount.backing_dir().join("store"),
                None => self.work_dir.join("store"),
            };
            if let Err(error) = keep_crash_image(&data_dir, &self.work_dir) {
                tracing::warn!(%error, "the crash image could not be kept");
            }
        }
        let mut times = Vec::new();
        let mut results = self.cluster.restart_many(slots, bound)?;
        let failed: Vec<usize> = results
            .iter()
            .filter(|(_, result)| result.is_err())
            .map(|(slot, _)| *slot)
            .collect();
        if let (false, Some(mount), true) =
            (failed.is_empty(), self.mount, self.filesystem_faults_active)
        {
            // A store need not start on a full or failing disk, only once the disk is back.
            mount.heal();
            self.filesystem_faults_active = false;
            let detail = format!(
                "slots {failed:?} did not start with filesystem faults armed; disarmed them"
            );
            self.recorder.fault(FaultKind::Heal.name(), &detail);
            times.push(detail);
            results.retain(|(_, result)| result.is_ok());
            results.extend(self.cluster.restart_many(&failed, bound)?);
        }
        for (slot, result) in results {
            match result {
                Ok(took) => times.push(format!("slot {slot} recovered in {} ms", took.as_millis())),
                Err(why) => {
                    let failure = format!("after {}: slot {slot}: {why}", kind.name());
                    // In the history, so the checks know the store refused to start.
                    self.recorder.fault(RECOVERY_FAILED, &failure);
                    self.report.recovery_failure = Some(failure.clone());
                    return Ok(failure);
                }
            }
        }
        self.report.crashes += 1;
        Ok(times.join(", "))
    }

    fn note(
        &mut self,
        at_ms: u64,
        kind: FaultKind,
        target: Option<usize>,
        crash_seed: Option<u64>,
        detail: String,
    ) {
        tracing::debug!(at_ms, fault = kind.name(), %detail, "fault applied");
        self.recorder.fault(kind.name(), &detail);
        self.report.faults.push(FaultRecord {
            at_ms,
            kind,
            target,
            crash_seed,
            detail,
        });
    }
}

/// The crash policy of a power cut: the lazy filesystem's default, or (`tearing`, half of the
/// cuts, chosen by the crash seed so a replay cuts the same way) one that tears most pending
/// writes at 512-byte sectors, so that a log's last record is often torn: a store must cut a
/// torn tail, and must not mistake it for damage in the middle of its log.
pub fn crash_policy(tearing: bool) -> CrashPolicy {
    if tearing {
        CrashPolicy {
            write_kept_probability: 0.3,
            write_torn_probability: 0.6,
            torn_4k_probability: 0.0,
            ..CrashPolicy::default()
        }
    } else {
        CrashPolicy::default()
    }
}

/// The nemesis event recorded when a restarted process did not recover.
pub const RECOVERY_FAILED: &str = "recovery_failed";

/// The nemesis event recorded when every process started again after damage at rest and the
/// starts read damaged bytes (its value says which): unless the store shows it detected
/// something before the next damage, it took damaged data for valid.
pub const DAMAGE_READ_AT_START: &str = "damage_read_at_start";

/// The seed of a replayed rot recorded without one: aimed anywhere, as rot was before it
/// was aimed.
pub(crate) const ROT_ANYWHERE_SEED: u64 = 3;

/// Bytes before a file's durable end that `bit_rot` never hits: more than any record of a
/// log (the reference store keeps values of 1 KiB and more in blobs), so the flipped bit is
/// never in a last record a store may cut as torn.
pub const ROT_TAIL_MARGIN_BYTES: u64 = 2048;

/// The configured weights, zero for faults not enabled or not promised, and zero for faults
/// only promised to be detected unless this run is one of every `detect_every` runs (a run
/// with such a fault holds the store to less, so most runs are kept free of them). Faults a
/// store must detect to be excused ([`FaultKind::detection_required`]) get runs of their own
/// (seed modulo `detect_every` is `detect_every / 2 - 1`), kept apart from the faults that
/// excuse data loss outright, which would hide a store that lost data without detecting it.
pub fn effective_weights(config: &RunConfig, promises: &Promises) -> FaultWeights {
    let mut weights = config.weights.clone();
    let every = config.detect_every;
    let detect_run = every > 0 && config.seed % every == every - 1;
    let strict_run = every >= 4 && config.seed % every == every / 2 - 1;
    for kind in FaultKind::ALL {
        let run_allows = if kind.detection_required() {
            strict_run
        } else {
            detect_run
        };
        let enabled = match promises.for_fault(kind) {
            Some(Promise::Survive) => config.faults.contains(&kind),
            Some(Promise::Detect) => config.faults.contains(&kind) && run_allows,
            None => false,
        };
        if !enabled {
            set_weight(&mut weights, kind, 0);
        }
    }
    weights
}

fn set_weight(weights: &mut FaultWeights, kind: FaultKind, weight: u32) {
    let slot = match kind {
        FaultKind::KillOne => &mut weights.kill_one,
        FaultKind::KillAll => &mut weights.kill_all,
        FaultKind::Pause => &mut weights.pause,
        FaultKind::Resume => &mut weights.resume,
        FaultKind::PowerCut => &mut weights.power_cut,
        FaultKind::FsyncEio => &mut weights.fsync_eio,
        FaultKind::Enospc => &mut weights.enospc,
        FaultKind::BitFlip => &mut weights.bit_flip,
        FaultKind::MisdirectedWrite => &mut weights.misdirected_write,
        FaultKind::BitRot => &mut weights.bit_rot,
        FaultKind::MisplacedBlob => &mut weights.misplaced_blob,
        FaultKind::Heal => &mut weights.heal,
    };
    *slot = weight;
}

/// The lazy filesystem fault behind a runner fault, and how many times it fires.
fn filesystem_fault(kind: FaultKind) -> (FsFault, Option<u64>) {
    match kind {
        FaultKind::FsyncEio => (FsFault::FsyncEio, Some(1)),
        FaultKind::Enospc => (FsFault::WriteEnospc, None),
        FaultKind::BitFlip => (FsFault::ReadBitflip, Some(1)),
        _ => (FsFault::MisdirectedWrite, Some(1)),
    }
}

/// Sleeps until the run's clock reads `at_ms`; false if `stop` was set meanwhile.
fn sleep_until(recorder: &Recorder, at_ms: u64, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = recorder.elapsed_ms();
        if now >= at_ms {
            return true;
        }
        std::thread::sleep(Duration::from_millis((at_ms - now).min(20)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpromised_faults_are_never_drawn_and_detect_faults_only_in_detect_runs() {
        let promises = Promises::parse("kill=survive,bit_flip=detect").unwrap();
        let config = |seed| RunConfig {
            seed,
            ..RunConfig::default()
        };
        let survive_run = effective_weights(&config(0), &promises);
        assert!(survive_run.kill_one > 0 && survive_run.kill_all > 0);
        assert_eq!(survive_run.power_cut, 0, "power cuts were not promised");
        assert_eq!(survive_run.pause, 0, "pauses were not promised");
        assert_eq!(
            survive_run.bit_flip, 0,
            "detect faults stay out of most runs"
        );
        let detect_run = effective_weights(&config(3), &promises);
        assert!(detect_run.bit_flip > 0);
        assert_eq!(detect_run.misdirected_write, 0);
        assert_eq!(
            detect_run.bit_rot, 0,
            "strict detect faults have runs of their own"
        );
        let strict_run = effective_weights(&config(1), &promises);
        assert!(strict_run.bit_rot > 0);
        assert_eq!(
            strict_run.bit_flip, 0,
            "a lenient detect fault would excuse silent loss"
        );
    }

    #[test]
    fn a_replayed_rot_without_a_seed_lands_anywhere_as_before() {
        assert_eq!(RotAim::of_seed(ROT_ANYWHERE_SEED), RotAim::Anywhere);
    }

    #[test]
    fn tearing_cuts_tear_more_and_at_small_sectors() {
        let (plain, tearing) = (crash_policy(false), crash_policy(true));
        assert_eq!(plain, CrashPolicy::default());
        assert!(tearing.write_torn_probability > plain.write_torn_probability);
        assert_eq!(tearing.torn_4k_probability, 0.0);
    }
}
