//! The systematic crash-state generator, as ALICE does it: replay a recorded trace on a
//! [`DiskModel`] and, at every point of it, enumerate the crash states of the operations
//! pending there: every prefix, every prefix but one omitted operation, every torn write
//! (each sector cut, old content left, either end), up to a bound. A caller's check judges
//! each state against what the program had done (acknowledged) by that point.

use std::collections::{HashMap, HashSet};

use super::crash::{crash_image, describe_fate, Fate};
use super::model::DiskModel;
use super::ops::{sector_chunks, Ino, Op, TornFill, TornSide, TornWrite, ROOT_INO};
use super::trace::{from_hex, TraceEvent};
use super::{DiskImage, LazyFsError};

/// Most sector cuts tried per torn write (spread over the write).
pub const MAX_TORN_CUTS_PER_WRITE: usize = 8;

/// One crash state and how it came about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashState {
    /// Which pending operations persisted, in words.
    pub description: String,
    /// What the disk holds.
    pub image: DiskImage,
}

/// A crash state the check refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// How many trace events had happened at the crash.
    pub after_events: usize,
    /// Which pending operations persisted.
    pub crash_state: String,
    /// What the check said.
    pub problem: String,
}

/// The outcome of exploring a trace. `truncated` means some point had more crash states
/// than the bound: an empty `violations` is then not a proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exploration {
    /// Crash points visited (trace length + 1).
    pub crash_points: usize,
    /// Distinct crash states checked, summed over points.
    pub crash_states: usize,
    /// Refused states.
    pub violations: Vec<Violation>,
    /// Whether a bound cut the enumeration short.
    pub truncated: bool,
}

/// The distinct crash states of `model`'s pending operations, at most `max_states`; the
/// flag says whether there were more.
pub fn enumerate_crash_states(model: &DiskModel, max_states: usize) -> (Vec<CrashState>, bool) {
    let pending = model.pending();
    let count = pending.len();
    let mut candidates: Vec<Vec<Fate>> = Vec::new();
    for kept in (0..=count).rev() {
        candidates.push(
            (0..count)
                .map(|i| if i < kept { Fate::Kept } else { Fate::Lost })
                .collect(),
        );
    }
    for omitted in 0..count {
        for kept in omitted + 1..=count {
            candidates.push(
                (0..count)
                    .map(|i| {
                        if i < kept && i != omitted {
                            Fate::Kept
                        } else {
                            Fate::Lost
                        }
                    })
                    .collect(),
            );
        }
    }
    for (index, op) in pending.iter().enumerate() {
        for torn in torn_variants(&op.op) {
            candidates.push(
                (0..count)
                    .map(|i| match i.cmp(&index) {
                        std::cmp::Ordering::Less => Fate::Kept,
                        std::cmp::Ordering::Equal => Fate::Torn(torn),
                        std::cmp::Ordering::Greater => Fate::Lost,
                    })
                    .collect(),
            );
        }
    }
    let mut seen = HashSet::new();
    let mut states = Vec::new();
    for fates in candidates {
        let image = crash_image(model, &fates, None);
        if !seen.insert(image.clone()) {
            continue;
        }
        if states.len() == max_states {
            return (states, true);
        }
        let description = pending
            .iter()
            .zip(&fates)
            .map(|(p, fate)| format!("#{} {}: {}", p.seq, p.op.describe(), describe_fate(fate)))
            .collect::<Vec<_>>()
            .join("; ");
        states.push(CrashState { description, image });
    }
    (states, false)
}

fn torn_variants(op: &Op) -> Vec<TornWrite> {
    let Op::Write { offset, data, .. } = op else {
        return Vec::new();
    };
    let sectors = sector_chunks(*offset, data.len() as u64, 512).len();
    if sectors < 2 {
        return Vec::new();
    }
    let step = (sectors - 1).div_ceil(MAX_TORN_CUTS_PER_WRITE).max(1);
    let mut variants = Vec::new();
    for persisted_sectors in (1..sectors).step_by(step) {
        for side in [TornSide::Head, TornSide::Tail] {
            variants.push(TornWrite {
                sector_bytes: 512,
                persisted_sectors,
                side,
                fill: TornFill::Old,
            });
        }
    }
    variants
}

/// Replay `events` from `initial` (the durable image when recording began) and check every
/// crash state at every point: `check(events so far, crash image)` returns the problem, if
/// any. At most `max_states_per_point` states per point.
pub fn explore_trace(
    initial: &DiskImage,
    events: &[TraceEvent],
    max_states_per_point: usize,
    mut check: impl FnMut(&[TraceEvent], &DiskImage) -> Result<(), String>,
) -> Result<Exploration, LazyFsError> {
    let mut model = DiskModel::from_image(initial, u64::MAX, ROOT_INO + 1)
        .map_err(|error| replay_error(0, format!("initial image: {error}")))?;
    let mut inos: HashMap<Ino, Ino> = HashMap::from([(ROOT_INO, ROOT_INO)]);
    let mut exploration = Exploration::default();
    for done in 0..=events.len() {
        if done > 0 {
            replay(&mut model, &mut inos, &events[done - 1], done - 1)?;
        }
        let (states, truncated) = enumerate_crash_states(&model, max_states_per_point);
        exploration.crash_points += 1;
        exploration.crash_states += states.len();
        exploration.truncated |= truncated;
        for state in states {
            if let Err(problem) = check(&events[..done], &state.image) {
                exploration.violations.push(Violation {
                    after_events: done,
                    crash_state: state.description,
                    problem,
                });
            }
        }
    }
    Ok(exploration)
}

fn replay(
    model: &mut DiskModel,
    inos: &mut HashMap<Ino, Ino>,
    event: &TraceEvent,
    index: usize,
) -> Result<(), LazyFsError> {
    let map = |inos: &HashMap<Ino, Ino>, ino: &Ino| {
        inos.get(ino)
            .copied()
            .ok_or_else(|| replay_error(index, format!("inode {ino} was never introduced")))
    };
    let result = match event {
        TraceEvent::Start {
            inodes,
            pending_ops,
        } => {
            if *pending_ops > 0 {
                return Err(replay_error(
                    index,
                    format!("recording began with {pending_ops} operations pending"),
                ));
            }
            for (path, ino) in inodes {
                let mut current = ROOT_INO;
                for name in path.split('/').filter(|name| !name.is_empty()) {
                    current = model
                        .lookup(current, name)
                        .map_err(|e| replay_error(index, format!("{path}: {e}")))?;
                }
                inos.insert(*ino, current);
            }
            Ok(())
        }
        TraceEvent::Create {
            parent,
            name,
            ino,
            kind,
        } => {
            let created = model.create(map(inos, parent)?, name, *kind, 0o644);
            created.map(|new| {
                inos.insert(*ino, new);
            })
        }
        TraceEvent::Write {
            ino,
            offset,
            data_hex,
        } => {
            let data = from_hex(data_hex)
                .ok_or_else(|| replay_error(index, "data_hex is not hex".into()))?;
            model.write(map(inos, ino)?, *offset, &data, None)
        }
        TraceEvent::Truncate { ino, len } => model.truncate(map(inos, ino)?, *len),
        TraceEvent::Remove { parent, name, kind } => model.remove(map(inos, parent)?, name, *kind),
        TraceEvent::Rename {
            from_parent,
            from_name,
            to_parent,
            to_name,
        } => model.rename(
            map(inos, from_parent)?,
            from_name,
            map(inos, to_parent)?,
            to_name,
            false,
        ),
        TraceEvent::Fsync { ino } => model.fsync(map(inos, ino)?).map(drop),
        TraceEvent::FsyncFailed { ino } => model.fail_fsync(map(inos, ino)?).map(drop),
        TraceEvent::Mark { .. } => Ok(()),
    };
    result.map_err(|error| replay_error(index, format!("{event:?}: {error}")))
}

fn replay_error(index: usize, reason: String) -> LazyFsError {
    LazyFsError::TraceReplay { index, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lazyfs::trace::to_hex;
    use crate::lazyfs::NodeKind;

    const DATA: &[u8] = &[7; 1500];

    /// "Write tmp, fsync, rename [, fsync dir]" as a trace on a fresh mount.
    fn atomic_replace(fsync_dir: bool) -> Vec<TraceEvent> {
        let mut events = vec![
            TraceEvent::Create {
                parent: ROOT_INO,
                name: "tmp".into(),
                ino: 5,
                kind: NodeKind::File,
            },
            TraceEvent::Write {
                ino: 5,
                offset: 0,
                data_hex: to_hex(DATA),
            },
            TraceEvent::Fsync { ino: 5 },
            TraceEvent::Rename {
                from_parent: ROOT_INO,
                from_name: "tmp".into(),
                to_parent: ROOT_INO,
                to_name: "final".into(),
            },
        ];
        if fsync_dir {
            events.push(TraceEvent::Fsync { ino: ROOT_INO });
        }
        events.push(TraceEvent::Mark {
            label: "committed".into(),
        });
        events
    }

    /// `final` is never a partial file, and once the program said "committed" it exists.
    fn check(done: &[TraceEvent], image: &DiskImage) -> Result<(), String> {
        let committed = done
            .iter()
            .any(|e| matches!(e, TraceEvent::Mark { label } if label == "committed"));
        match image.file("final") {
            Some(content) if content != DATA => {
                Err(format!("final holds {} bytes, not the data", content.len()))
            }
            None if committed => Err("final is missing after commit".into()),
            _ => Ok(()),
        }
    }

    #[test]
    fn finds_the_missing_directory_fsync() {
        let exploration = explore_trace(&DiskImage::default(), &atomic_replace(false), 1000, check)
            .expect("replay");
        assert!(!exploration.truncated);
        assert!(!exploration.violations.is_empty(), "{exploration:?}");
        assert!(
            exploration
                .violations
                .iter()
                .all(|v| v.problem.contains("missing")),
            "{exploration:?}"
        );
    }

    #[test]
    fn passes_the_correct_program() {
        let exploration = explore_trace(&DiskImage::default(), &atomic_replace(true), 1000, check)
            .expect("replay");
        assert!(!exploration.truncated);
        assert_eq!(exploration.violations, vec![]);
        assert_eq!(exploration.crash_points, 7);
        assert!(exploration.crash_states >= 10, "{exploration:?}");
    }

    #[test]
    fn finds_a_rename_before_the_data_fsync() {
        let mut events = atomic_replace(true);
        events.remove(2);
        let exploration =
            explore_trace(&DiskImage::default(), &events, 1000, check).expect("replay");
        assert!(
            exploration
                .violations
                .iter()
                .any(|v| v.problem.contains("bytes")),
            "{exploration:?}"
        );
    }

    #[test]
    fn enumerates_prefixes_omissions_and_torn_writes() {
        let mut model = DiskModel::new(1 << 20);
        let ino = model
            .create(ROOT_INO, "f", NodeKind::File, 0o644)
            .expect("create");
        model.fsync(ino).expect("fsync");
        model.fsync(ROOT_INO).expect("fsync dir");
        model.write(ino, 0, &[1; 1024], None).expect("write");
        model.write(ino, 2048, &[2; 10], None).expect("write");
        let (states, truncated) = enumerate_crash_states(&model, 100);
        assert!(!truncated);
        let contents: HashSet<Vec<u8>> = states
            .iter()
            .map(|s| s.image.file("f").expect("f").to_vec())
            .collect();
        assert!(contents.contains(&Vec::new()), "nothing persisted");
        assert!(
            contents.iter().any(|c| c.len() == 2058 && c[0] == 0),
            "second write without the first"
        );
        assert!(
            contents.contains(&vec![1; 512]),
            "torn: head sector persisted"
        );
        assert!(
            contents
                .iter()
                .any(|c| c.len() == 1024 && c[..512] == [0; 512] && c[512..] == [1; 512]),
            "torn: tail"
        );
        assert!(enumerate_crash_states(&model, 2).1, "bound reported");
    }

    #[test]
    fn a_trace_begun_with_pending_ops_is_refused() {
        let events = vec![TraceEvent::Start {
            inodes: vec![],
            pending_ops: 3,
        }];
        let error =
            explore_trace(&DiskImage::default(), &events, 10, |_, _| Ok(())).expect_err("refused");
        assert!(
            error.to_string().contains("3 operations pending"),
            "{error}"
        );
    }
}
