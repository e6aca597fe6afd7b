//! Where `bit_rot` lands, and what the restart after it read. A decayed bit only tests a store
//! if the store must read the damaged bytes and could always tell: most rot is aimed at a
//! *sealed* log segment (one a later segment follows), whose every record recovery reads and
//! none of which may be cut as a torn tail (a record in the last segment may look torn, and a
//! store may rightly cut it). The aim is chosen by a seed recorded with the fault, so a replay
//! aims the same way.

use std::path::Path;

use super::held::{blob_pattern, log_pattern};
use super::{Nemesis, ROT_ANYWHERE_SEED, ROT_TAIL_MARGIN_BYTES};
use crate::lazyfs::{FaultLogEntry, PathPattern, ROT_HEADER_SKIP_BYTES};
use crate::runner::error::RunError;
use crate::runner::promises::Promise;
use crate::runner::schedule::FaultKind;

/// Where a decayed bit lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotAim {
    /// In the newest sealed log segment long enough to be hit away from its ends (else
    /// anywhere under the fault pattern).
    SealedLog,
    /// Anywhere under the fault pattern (the lazy filesystem's own choice among its files).
    Anywhere,
}

impl RotAim {
    /// The aim of the rot of seed `seed`: seven in eight at a sealed log segment.
    pub fn of_seed(seed: u64) -> Self {
        if seed % 8 == 3 {
            RotAim::Anywhere
        } else {
            RotAim::SealedLog
        }
    }
}

impl Nemesis<'_> {
    /// Damages data at rest (`kind` is `bit_rot`, aimed by `rot_seed`, or `misplaced_blob`),
    /// then restarts every process so the damage is read, when the store survives kills.
    /// A rot aimed at a sealed log segment first restarts every process, which seals the
    /// log's tail (a new holder starts a segment of its own): its records are the newest,
    /// still needed by recovery. Returns what happened, and what the last restart read of the
    /// damaged bytes when every process started ([`reads_since_damage`]).
    pub(super) fn damage_at_rest(
        &mut self,
        kind: FaultKind,
        rot_seed: Option<u64>,
    ) -> Result<(String, Option<String>), RunError> {
        let restarts = self.promises.for_fault(FaultKind::KillAll) == Some(Promise::Survive);
        let aim = rot_seed.map_or(RotAim::Anywhere, RotAim::of_seed);
        let mut detail = String::new();
        if restarts && aim == RotAim::SealedLog && self.mount.is_some() {
            detail = format!(
                "sealed the log by a restart ({}); ",
                self.restart_all(kind)?
            );
            if self.report.recovery_failure.is_some() {
                return Ok((detail, None));
            }
        }
        detail.push_str(&self.damage(kind, aim)?);
        if !restarts {
            return Ok((detail, None));
        }
        detail = format!("{detail}; restarted: {}", self.restart_all(kind)?);
        Ok((detail, self.damage_read_at_start()))
    }

    /// The seed of a rot's aim: a replay's recorded one (none in bundles from before rot was
    /// aimed: anywhere), else drawn, one of [`RotAim::SealedLog`] for the run's first rot (a
    /// start that refuses damage ends the run, so the first damage decides most runs).
    pub(super) fn rot_seed(&mut self, recorded: Option<u64>) -> u64 {
        match (self.config.planned_faults.is_some(), recorded) {
            (_, Some(seed)) => seed,
            (true, None) => ROT_ANYWHERE_SEED,
            (false, None) => {
                let first = !self.report.counts.contains_key(&FaultKind::BitRot);
                first_rot_on_the_log(self.schedule.draw(u64::MAX), first)
            }
        }
    }

    fn restart_all(&mut self, kind: FaultKind) -> Result<String, RunError> {
        self.before_crash(kind, None);
        for slot in 0..self.cluster.len() {
            self.cluster.kill(slot)?;
        }
        let slots: Vec<usize> = (0..self.cluster.len()).collect();
        self.recover(&slots, kind)
    }

    /// What the restarts after damage read of the damaged bytes, when every process started:
    /// `None` if they read none of them (or one refused, which the history says already).
    fn damage_read_at_start(&self) -> Option<String> {
        let mount = self.mount?;
        if self.report.recovery_failure.is_some() {
            return None;
        }
        let reads = reads_since_damage(&mount.fault_log());
        (!reads.is_empty()).then(|| reads.join("; "))
    }

    /// Flips a bit where `aim` says (`bit_rot`) or writes a blob's content under another
    /// blob's name (`misplaced_blob`). Returns what happened.
    fn damage(&mut self, kind: FaultKind, aim: RotAim) -> Result<String, RunError> {
        let Some(mount) = self.mount else {
            return Ok("no lazy filesystem: nothing damaged".into());
        };
        let fault_pattern = &self.config.fault_pattern;
        let done = if kind == FaultKind::BitRot {
            let pattern = rot_pattern(
                mount.backing_dir(),
                fault_pattern,
                aim,
                ROT_TAIL_MARGIN_BYTES,
            );
            let mut done = mount.rot(&pattern, ROT_TAIL_MARGIN_BYTES)?;
            if done.is_none() && pattern != *fault_pattern {
                done = mount.rot(fault_pattern, ROT_TAIL_MARGIN_BYTES)?;
            }
            done.map(|done| format!("{done} (aimed {aim:?} at {pattern})"))
        } else {
            mount.misplace(&blob_pattern(fault_pattern))?
        };
        Ok(done.unwrap_or_else(|| "no file to damage yet".into()))
    }
}

/// `seed`, or for the run's `first` rot a neighbour of it aimed at a sealed log segment.
fn first_rot_on_the_log(seed: u64, first: bool) -> u64 {
    if first && RotAim::of_seed(seed) == RotAim::Anywhere {
        seed ^ 1
    } else {
        seed
    }
}

/// The pattern a rot of `aim` passes to the lazy filesystem: for [`RotAim::SealedLog`], the
/// path (relative to the mount point) of the newest sealed log segment under `fault_pattern`
/// holding more than `tail_margin_bytes` past its header, found in the durable image under
/// `backing_dir`; else `fault_pattern` itself.
pub fn rot_pattern(
    backing_dir: &Path,
    fault_pattern: &str,
    aim: RotAim,
    tail_margin_bytes: u64,
) -> String {
    if aim == RotAim::Anywhere {
        return fault_pattern.to_owned();
    }
    let Ok(pattern) = PathPattern::new(&log_pattern(fault_pattern)) else {
        return fault_pattern.to_owned();
    };
    let mut segments = Vec::new();
    list_files(backing_dir, "", &pattern, 0, &mut segments);
    sealed_segment(segments, ROT_HEADER_SKIP_BYTES + tail_margin_bytes)
        .unwrap_or_else(|| fault_pattern.to_owned())
}

/// The newest sealed segment among `segments` (`(path, length)`) longer than `min_len`: in
/// each directory the last by name is the tail (a log names its segments in order), every
/// other one is sealed; of those, the last by name.
fn sealed_segment(mut segments: Vec<(String, u64)>, min_len: u64) -> Option<String> {
    segments.sort();
    let parent = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned();
    let tails: Vec<String> = segments
        .iter()
        .enumerate()
        .filter(|(at, (path, _))| {
            segments
                .get(at + 1)
                .is_none_or(|(next, _)| parent(next) != parent(path))
        })
        .map(|(_, (path, _))| path.clone())
        .collect();
    segments
        .into_iter()
        .filter(|(path, len)| *len > min_len && !tails.contains(path))
        .map(|(path, _)| path)
        .next_back()
}

/// Most directory levels walked under the backing directory.
const WALK_DEPTH_MAX: usize = 8;

/// Appends `(relative path, length)` of every file under `dir` that `pattern` matches.
fn list_files(
    root: &Path,
    relative: &str,
    pattern: &PathPattern,
    depth: usize,
    out: &mut Vec<(String, u64)>,
) {
    let Ok(entries) = std::fs::read_dir(root.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() && depth < WALK_DEPTH_MAX {
            list_files(root, &path, pattern, depth + 1, out);
        } else if metadata.is_file() && pattern.matches(&path) {
            out.push((path, metadata.len()));
        }
    }
}

/// The reads of damaged bytes the lazy filesystem logged since its last damage (`bit-rot` or
/// `misplaced-file`), as `path: detail`: what the restart after that damage read.
pub fn reads_since_damage(log: &[FaultLogEntry]) -> Vec<String> {
    let since = log
        .iter()
        .rposition(|entry| entry.event == "bit-rot" || entry.event == "misplaced-file")
        .map_or(0, |at| at + 1);
    log[since..]
        .iter()
        .filter(|entry| entry.event == "damage-read")
        .map(|entry| format!("{}: {}", entry.path.as_deref().unwrap_or("?"), entry.detail))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rot_aims_follow_the_seed() {
        assert_eq!(RotAim::of_seed(0), RotAim::SealedLog);
        assert_eq!(RotAim::of_seed(3), RotAim::Anywhere);
        assert_eq!(RotAim::of_seed(7), RotAim::SealedLog);
        let sealed = (0..800)
            .filter(|&s| RotAim::of_seed(s) == RotAim::SealedLog)
            .count();
        assert_eq!(sealed, 700);
    }

    #[test]
    fn a_run_s_first_rot_is_aimed_at_the_log() {
        for seed in 0..64 {
            assert_eq!(
                RotAim::of_seed(first_rot_on_the_log(seed, true)),
                RotAim::SealedLog
            );
            assert_eq!(first_rot_on_the_log(seed, false), seed);
        }
    }

    #[test]
    fn the_newest_sealed_segment_is_chosen_never_a_tail() {
        let segments = |list: &[(&str, u64)]| {
            list.iter()
                .map(|(path, len)| (path.to_string(), *len))
                .collect::<Vec<_>>()
        };
        let wal = segments(&[
            ("store/wal/0003-0002.wal", 9000),
            ("store/wal/0001-0001.wal", 9000),
            ("store/wal/0002-0001.wal", 9000),
        ]);
        assert_eq!(
            sealed_segment(wal, 2560).as_deref(),
            Some("store/wal/0002-0001.wal")
        );
        let short = segments(&[
            ("store/wal/0001-0001.wal", 9000),
            ("store/wal/0002-0001.wal", 100),
            ("store/wal/0003-0002.wal", 9000),
        ]);
        assert_eq!(
            sealed_segment(short, 2560).as_deref(),
            Some("store/wal/0001-0001.wal"),
            "too short to be hit away from its ends"
        );
        let tail_only = segments(&[("store/wal/0001-0001.wal", 9000)]);
        assert_eq!(sealed_segment(tail_only, 2560), None);
        let two_logs = segments(&[("a/wal/0001.wal", 9000), ("b/wal/0001.wal", 9000)]);
        assert_eq!(
            sealed_segment(two_logs, 2560),
            None,
            "each is its log's tail"
        );
    }

    #[test]
    fn the_pattern_names_a_sealed_segment_of_the_durable_image() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("store/wal");
        std::fs::create_dir_all(&wal).unwrap();
        std::fs::create_dir_all(dir.path().join("store/blobs")).unwrap();
        std::fs::write(dir.path().join("store/blobs/v-1"), vec![0; 9000]).unwrap();
        std::fs::write(wal.join("0002-0002.wal"), vec![0; 9000]).unwrap();
        assert_eq!(
            rot_pattern(dir.path(), "store/**", RotAim::SealedLog, 2048),
            "store/**",
            "only a tail: anywhere"
        );
        std::fs::write(wal.join("0001-0001.wal"), vec![0; 9000]).unwrap();
        assert_eq!(
            rot_pattern(dir.path(), "store/**", RotAim::SealedLog, 2048),
            "store/wal/0001-0001.wal"
        );
        assert_eq!(
            rot_pattern(dir.path(), "store/**", RotAim::Anywhere, 2048),
            "store/**"
        );
    }

    #[test]
    fn only_reads_after_the_last_damage_count() {
        let entry = |event: &str, path: &str| FaultLogEntry {
            unix_ms: 0,
            event: event.to_owned(),
            path: Some(path.to_owned()),
            detail: "d".to_owned(),
        };
        let log = vec![
            entry("bit-rot", "a"),
            entry("damage-read", "a"),
            entry("misplaced-file", "b"),
            entry("power-cut", "-"),
            entry("damage-read", "b"),
        ];
        assert_eq!(reads_since_damage(&log), vec!["b: d".to_owned()]);
        assert!(reads_since_damage(&log[..3]).is_empty());
    }
}
