//! Faults that land inside a held operation of the lazy filesystem: where a power cut waits
//! (inside a log, manifest or blob fsync, or the group-commit round after one), and stalls (a
//! process stopped right where it makes something durable, for longer than its lease, then
//! continued). Both are chosen by a seed recorded with the fault, so a replay aims the same way
//! (which process the held operation belongs to is up to the system under test).

use std::time::Duration;

use super::super::cluster::Cluster;
use super::super::error::RunError;
use crate::lazyfs::{HeldOp, HoldRelease, MountedLazyFs};

/// How long a fault waits for its held operation before giving up on aiming.
pub const HOLD_WAIT: Duration = Duration::from_millis(300);

/// How long a held log fsync waits before it is released for the next round (a power cut in
/// the round after), so that writes arriving meanwhile queue in memory behind it: a group
/// commit's next round, appended but not yet written.
pub const GATHER: Duration = Duration::from_millis(30);

/// How long a stall waits for the paused process's threads to stop before it gives up and lets
/// the held operation go on (a plain pause then).
const STOP_WAIT: Duration = Duration::from_secs(1);

/// Where a power cut lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutAim {
    /// At a random instant (nothing held).
    Anywhere,
    /// Inside a log fsync with more than a sector pending (a torn last record).
    LogFsync,
    /// Inside the log fsync of the round after a held one: the writes that queued behind a
    /// group commit's fsync, which a store must not have acknowledged yet.
    NextLogRound,
    /// Inside a manifest's fsync (or its directory's).
    Manifest,
    /// Inside a blob's fsync (a snapshot being written, or a large value).
    Blob,
    /// Inside any fsync under the fault pattern.
    AnyFsync,
}

impl CutAim {
    /// The aim of the power cut of crash seed `seed`: three in four are held; of those, two in
    /// five inside a log fsync with more than a sector pending, one in five in the log round
    /// after a held one, one in five in a manifest's fsync, one in five in a blob's. Every
    /// fourth of the rest ([`CutAim::AnyFsync`]) waits for any fsync.
    pub fn of_seed(seed: u64) -> Self {
        if seed % 4 == 3 {
            return if seed / 4 % 4 == 0 {
                CutAim::AnyFsync
            } else {
                CutAim::Anywhere
            };
        }
        match seed / 4 % 5 {
            0 | 1 => CutAim::LogFsync,
            2 => CutAim::Manifest,
            3 => CutAim::Blob,
            _ => CutAim::NextLogRound,
        }
    }

    /// Whether the cut is aimed at the log (its pending writes are torn more).
    pub fn is_log(self) -> bool {
        matches!(self, CutAim::LogFsync | CutAim::NextLogRound)
    }
}

/// Holds the fsync a power cut of `aim` waits for; returns it, or `None` when none came in
/// [`HOLD_WAIT`] (the cut then lands at once). The held fsync stays held: the caller cuts the
/// power, then releases it with [`HoldRelease::Fail`].
pub fn hold_for_cut(
    mount: &MountedLazyFs,
    fault_pattern: &str,
    aim: CutAim,
) -> Result<Option<HeldOp>, RunError> {
    let (pattern, min_pending_bytes) = match aim {
        CutAim::Anywhere => return Ok(None),
        CutAim::LogFsync => (log_pattern(fault_pattern), 600),
        CutAim::NextLogRound => (log_pattern(fault_pattern), 1),
        CutAim::Manifest => (under(fault_pattern, "**/MANIFEST*"), 0),
        CutAim::Blob => (blob_pattern(fault_pattern), 0),
        CutAim::AnyFsync => (fault_pattern.to_owned(), 0),
    };
    mount.hold_next_fsync(&pattern, min_pending_bytes)?;
    let held = mount.wait_held(HOLD_WAIT);
    if aim != CutAim::NextLogRound || held.is_none() {
        return Ok(held);
    }
    std::thread::sleep(GATHER);
    mount.release_held_and_hold_next_fsync(HoldRelease::Proceed, &pattern, 1)?;
    Ok(mount.wait_held(HOLD_WAIT))
}

/// Where a stall stops its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallAim {
    /// At a write to the log (a group commit's round, appended in memory and now being
    /// written), kept from the file while the process is stopped: a new holder takes over
    /// without those records and writes its own at their positions; a holder that resumes
    /// must not acknowledge them.
    LogWrite,
    /// At the creation of a manifest file: after the publisher's last fencing check and
    /// before it writes, so a new holder may publish in between.
    ManifestCreate,
}

impl StallAim {
    /// The aim of the stall of seed `seed`.
    pub fn of_seed(seed: u64) -> Self {
        if seed / 4 % 2 == 0 {
            StallAim::LogWrite
        } else {
            StallAim::ManifestCreate
        }
    }

    /// How long a stall of this aim lasts at most, given the shortest pause `pause_hold`: a
    /// stalled publisher is kept up to twice as long, since the others must not only take over
    /// but also publish meanwhile, and snapshots are rarer than writes.
    pub fn duration(self, pause_hold: Duration) -> Duration {
        match self {
            StallAim::LogWrite => pause_hold,
            StallAim::ManifestCreate => pause_hold * 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StallAim::LogWrite => "log write",
            StallAim::ManifestCreate => "manifest create",
        }
    }
}

/// Stalls the process that makes the next operation `aim` names: holds the operation, stops
/// the caller's process (SIGSTOP) and keeps it stopped for `aim.duration(pause_hold)` (past
/// its lease, while
/// the others take over and write), then continues it. A held log write returns into the
/// stopped process at once, but its data reaches the file only at the end of the stall (as if
/// the process had stopped just before its write); a held manifest create completes at the
/// start (a create holds its directory, which the others need), and the stall ends as soon
/// as another process syncs the file it created (published over its claim). Returns the slot stalled (`None` if nothing came to stall) and what
/// happened.
pub fn stall(
    cluster: &Cluster,
    mount: &MountedLazyFs,
    fault_pattern: &str,
    aim: StallAim,
    pause_hold: Duration,
) -> Result<(Option<usize>, String), RunError> {
    let stall_for = aim.duration(pause_hold);
    match aim {
        StallAim::LogWrite => mount.hold_next_write(&log_pattern(fault_pattern), 1)?,
        StallAim::ManifestCreate => {
            mount.hold_next_create(&under(fault_pattern, "**/MANIFEST*"))?
        }
    }
    let Some(held) = mount.wait_held(HOLD_WAIT) else {
        let waited_ms = HOLD_WAIT.as_millis();
        return Ok((
            None,
            format!("no {} in {waited_ms} ms: nothing stalled", aim.name()),
        ));
    };
    let Some(slot) = cluster.slot_of_pid(held.caller_pid) else {
        mount.release_held(HoldRelease::Proceed);
        let detail = format!(
            "the {} of {} came from pid {}, of no slot: released, nothing stalled",
            aim.name(),
            held.path,
            held.caller_pid
        );
        return Ok((None, detail));
    };
    let started = std::time::Instant::now();
    let paused = cluster.pause(slot);
    // SIGSTOP stops each thread only when it next runs: nothing is answered or withheld until
    // every thread but the held caller (which stops as its call returns) has stopped, or a
    // thread still running could sync and acknowledge records the file does not hold yet.
    let stopped = paused.is_ok() && cluster.wait_stopped(slot, Some(held.caller_pid), STOP_WAIT);
    let stopped_in = started.elapsed();
    let mut ended_by = String::new();
    match (aim, stopped) {
        (StallAim::LogWrite, true) => {
            // The writer returns into its stopped process; its data lands only at the end.
            mount.answer_held();
            std::thread::sleep(stall_for);
            mount.release_held(HoldRelease::Proceed);
        }
        (StallAim::ManifestCreate, true) => {
            // The claimed file is created now; the stall ends early if another process
            // syncs that very file (it published over the stalled publisher's claim), so
            // the stalled one resumes right after it, as a lost update needs.
            mount.release_held(HoldRelease::Proceed);
            mount.hold_next_fsync(&held.path, 0)?;
            if let Some(other) = mount.wait_held(stall_for) {
                mount.release_held(HoldRelease::Proceed);
                ended_by = format!(", until pid {} synced that file", other.caller_pid);
            }
        }
        (_, false) => {
            mount.release_held(HoldRelease::Proceed);
            ended_by = format!(
                ", but it did not stop within {} ms: released at once, nothing withheld",
                STOP_WAIT.as_millis()
            );
        }
    }
    paused?;
    cluster.resume(slot)?;
    let detail = format!(
        "stalled slot {slot} (pid {}) for {} ms at the {} of {}{ended_by} (its threads \
         stopped {} us after SIGSTOP)",
        held.caller_pid,
        started.elapsed().as_millis(),
        aim.name(),
        held.path,
        stopped_in.as_micros()
    );
    Ok((Some(slot), detail))
}

/// The files `misplaced_blob` aims at: blob directories under the fault pattern (where the
/// reference store and stores laid out like it keep blobs).
pub fn blob_pattern(fault_pattern: &str) -> String {
    under(fault_pattern, "**/blobs/*")
}

/// The files log-aimed faults aim at: write-ahead log directories under the fault pattern (the
/// reference store's `wal/`), whose fsyncs are the ones acknowledgements wait on.
pub fn log_pattern(fault_pattern: &str) -> String {
    under(fault_pattern, "**/wal/*")
}

fn under(fault_pattern: &str, tail: &str) -> String {
    let base = fault_pattern
        .trim_end_matches("**")
        .trim_end_matches('*')
        .trim_end_matches('/');
    if base.is_empty() {
        tail.to_owned()
    } else {
        format!("{base}/{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_aims_follow_the_seed() {
        assert_eq!(CutAim::of_seed(3), CutAim::AnyFsync);
        assert_eq!(CutAim::of_seed(7), CutAim::Anywhere);
        assert_eq!(CutAim::of_seed(0), CutAim::LogFsync);
        assert_eq!(CutAim::of_seed(4), CutAim::LogFsync);
        assert_eq!(CutAim::of_seed(8), CutAim::Manifest);
        assert_eq!(CutAim::of_seed(12), CutAim::Blob);
        assert_eq!(CutAim::of_seed(16), CutAim::NextLogRound);
        let log = (0..1000).filter(|&s| CutAim::of_seed(s).is_log()).count();
        assert_eq!(log, 450, "three in five of the three in four held cuts");
        let anywhere = (0..1000)
            .filter(|&s| CutAim::of_seed(s) == CutAim::Anywhere)
            .count();
        assert!(anywhere > 150, "most unheld cuts land at a random instant");
    }

    #[test]
    fn stall_aims_alternate_by_seed() {
        assert_eq!(StallAim::of_seed(0), StallAim::LogWrite);
        assert_eq!(StallAim::of_seed(4), StallAim::ManifestCreate);
        let hold = Duration::from_millis(600);
        assert_eq!(StallAim::LogWrite.duration(hold), hold);
        assert!(StallAim::ManifestCreate.duration(hold) > hold);
    }

    /// A stall on a real mount: two processes append to files under `store/wal/`; a replayed
    /// pause with a stall seed stops the one whose write was held, keeps its write out of the
    /// file while it is stopped, continues it, and is recorded as a stall; a replayed pause
    /// without a seed stays a plain pause.
    #[test]
    fn a_replayed_stall_stops_the_log_writer_and_is_recorded() {
        use super::super::Nemesis;
        use crate::lazyfs::{LazyFs, LazyFsOptions};
        use crate::runner::config::RunConfig;
        use crate::runner::promises::Promises;
        use crate::runner::record::Recorder;
        use crate::runner::schedule::FaultKind;

        if !std::path::Path::new("/dev/fuse").exists() {
            eprintln!("SKIPPED: /dev/fuse is missing, the lazy filesystem cannot be mounted");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let options = LazyFsOptions::new(dir.path().join("backing"), dir.path().join("mnt"));
        let mount = LazyFs::mount(options).unwrap();
        let wal = mount.mount_point().join("store/wal");
        std::fs::create_dir_all(&wal).unwrap();
        let append = format!(
            "while true; do printf x >> {}/seg-$$; sleep 0.005; done",
            wal.display()
        );
        let cluster = Cluster::start(&append, 2, dir.path()).unwrap();
        let mut config = RunConfig {
            planned_faults: Some(Vec::new()),
            ..RunConfig::default()
        };
        config.weights.pause_hold_ms = 400;
        let recorder = Recorder::create(&dir.path().join("history.jsonl")).unwrap();
        let promises = Promises::parse("pause=survive").unwrap();
        let work_dir = dir.path().to_path_buf();
        let mut nemesis = Nemesis::new(
            &config,
            &cluster,
            Some(&mount),
            &recorder,
            &promises,
            work_dir,
        );
        let sizes = |at: Duration| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                std::thread::sleep(at);
                let mut sizes: Vec<(String, u64)> = std::fs::read_dir(&wal)
                    .unwrap()
                    .map(|entry| entry.unwrap())
                    .map(|entry| {
                        (
                            entry.file_name().into_string().unwrap(),
                            entry.metadata().unwrap().len(),
                        )
                    })
                    .collect();
                sizes.sort();
                sizes
            })
        };
        let (early, late) = (
            sizes(Duration::from_millis(150)),
            sizes(Duration::from_millis(350)),
        );
        nemesis.apply(FaultKind::Pause, None, Some(0)).unwrap();
        let (early, late) = (early.join().unwrap(), late.join().unwrap());
        let stall = nemesis.report.faults.last().unwrap().clone();
        let slot = stall.target.expect("a slot was stalled");
        assert_eq!(
            stall.crash_seed,
            Some(0),
            "recorded with its seed, so it replays"
        );
        assert!(
            stall.detail.contains("at the log write of store/wal/seg-")
                && !stall.detail.contains("did not stop"),
            "{}",
            stall.detail
        );
        assert!(
            cluster.paused().is_empty(),
            "continued at the end of the stall"
        );
        let grew: Vec<bool> = early.iter().zip(&late).map(|(a, b)| b.1 > a.1).collect();
        assert_eq!(
            grew.iter().filter(|grew| !**grew).count(),
            1,
            "exactly one writer stood still during the stall: {early:?} then {late:?}"
        );
        nemesis
            .apply(FaultKind::Pause, Some(1 - slot), None)
            .unwrap();
        let pause = nemesis.report.faults.last().unwrap();
        assert_eq!(pause.detail, format!("paused slot {}", 1 - slot));
        assert_eq!(pause.crash_seed, None);
        cluster.kill(0).unwrap();
        cluster.kill(1).unwrap();
        drop(nemesis);
        mount.unmount().unwrap();
    }

    #[test]
    fn patterns_aim_under_the_fault_pattern() {
        let pattern = crate::lazyfs::PathPattern::new(&blob_pattern("store/**")).unwrap();
        assert!(pattern.matches("store/blobs/snap-1.blob"));
        assert!(!pattern.matches("store/wal/0001.wal"));
        assert_eq!(blob_pattern("**"), "**/blobs/*");
        let log = crate::lazyfs::PathPattern::new(&log_pattern("store/**")).unwrap();
        assert!(log.matches("store/wal/00000000000000000001-0000000001.wal"));
        let manifest = crate::lazyfs::PathPattern::new(&under("store/**", "**/MANIFEST*"));
        assert!(manifest
            .unwrap()
            .matches("store/MANIFEST.00000000000000000002"));
    }
}
