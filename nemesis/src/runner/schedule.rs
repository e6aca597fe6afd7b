//! The fault schedule: a seeded pick from a weighted set of actions, each weighted zero where it
//! cannot apply (no power cut without the lazy filesystem, no resume with nothing paused), and
//! always a way back to health.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// One action of the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL one process group of the system under test.
    KillOne,
    /// SIGKILL every process of the system under test.
    KillAll,
    /// SIGSTOP one process group (a stalled process: a long GC pause, a swapped-out host). Most
    /// pauses on the lazy filesystem are stalls, aimed by a seed: the process is stopped right
    /// at a log write or a manifest create, past its lease, and continued by the fault itself.
    Pause,
    /// SIGCONT every paused process.
    Resume,
    /// Kill every process and cut the power through the lazy filesystem: unsynced writes are
    /// lost, torn or reordered.
    PowerCut,
    /// The next fsync of a matching file fails with EIO and its pages are marked clean.
    FsyncEio,
    /// Writes to matching files fail with ENOSPC.
    Enospc,
    /// A read of a matching file returns one sector with flipped bits.
    BitFlip,
    /// A write to a matching file lands at another offset.
    MisdirectedWrite,
    /// A bit of a matching file's durable content decays at rest, neither in its header nor
    /// near its end (where a torn write could explain it): a careful store must detect it.
    BitRot,
    /// A blob file's content lands under another blob's name (a misplaced write of a whole
    /// file): a careful store must detect it.
    MisplacedBlob,
    /// Clear every injected fault and resume every paused process.
    Heal,
}

impl FaultKind {
    /// Every action, in a fixed order (the order weights are drawn in).
    pub const ALL: [FaultKind; 12] = [
        FaultKind::KillOne,
        FaultKind::KillAll,
        FaultKind::Pause,
        FaultKind::Resume,
        FaultKind::PowerCut,
        FaultKind::FsyncEio,
        FaultKind::Enospc,
        FaultKind::BitFlip,
        FaultKind::MisdirectedWrite,
        FaultKind::BitRot,
        FaultKind::MisplacedBlob,
        FaultKind::Heal,
    ];

    /// The action's name as the history and the reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillOne => "kill_one",
            FaultKind::KillAll => "kill_all",
            FaultKind::Pause => "pause",
            FaultKind::Resume => "resume",
            FaultKind::PowerCut => "power_cut",
            FaultKind::FsyncEio => "fsync_eio",
            FaultKind::Enospc => "enospc",
            FaultKind::BitFlip => "bit_flip",
            FaultKind::MisdirectedWrite => "misdirected_write",
            FaultKind::BitRot => "bit_rot",
            FaultKind::MisplacedBlob => "misplaced_blob",
            FaultKind::Heal => "heal",
        }
    }

    /// Whether the action needs the lazy filesystem under the data directory.
    pub fn needs_lazyfs(self) -> bool {
        matches!(
            self,
            FaultKind::PowerCut
                | FaultKind::FsyncEio
                | FaultKind::Enospc
                | FaultKind::BitFlip
                | FaultKind::MisdirectedWrite
                | FaultKind::BitRot
                | FaultKind::MisplacedBlob
        )
    }

    /// Whether a store that only promises to detect this fault is held to every check as long
    /// as it shows no sign of having detected it (a `corrupt` answer, a refused start, a
    /// `verify` problem): the fault is placed where detection is always possible, so losing
    /// data silently breaks the promise.
    pub fn detection_required(self) -> bool {
        matches!(self, FaultKind::BitRot | FaultKind::MisplacedBlob)
    }
}

/// The relative weight of each action; zero switches an action off. One struct, so that a run's
/// configuration names every knob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultWeights {
    /// Weight of `kill_one`.
    pub kill_one: u32,
    /// Weight of `kill_all`.
    pub kill_all: u32,
    /// Weight of `pause`.
    pub pause: u32,
    /// Weight of `resume`.
    pub resume: u32,
    /// Weight of `power_cut`.
    pub power_cut: u32,
    /// Weight of `fsync_eio`.
    pub fsync_eio: u32,
    /// Weight of `enospc`.
    pub enospc: u32,
    /// Weight of `bit_flip`.
    pub bit_flip: u32,
    /// Weight of `misdirected_write`.
    pub misdirected_write: u32,
    /// Weight of `bit_rot`.
    #[serde(default)]
    pub bit_rot: u32,
    /// Weight of `misplaced_blob`.
    #[serde(default)]
    pub misplaced_blob: u32,
    /// Weight of `heal`.
    pub heal: u32,
    /// A paused process stays paused at least this long (ms) before `resume` or `heal` may
    /// wake it: longer than the system's lease (`faultline mutants` runs the store with a
    /// 200 ms lease), so its lock is taken over and a stalled holder that is not fenced shows.
    /// The end of a run resumes it in any case.
    #[serde(default)]
    pub pause_hold_ms: u64,
}

impl Default for FaultWeights {
    fn default() -> Self {
        FaultWeights {
            kill_one: 4,
            kill_all: 2,
            pause: 3,
            resume: 3,
            power_cut: 4,
            fsync_eio: 1,
            enospc: 1,
            bit_flip: 1,
            misdirected_write: 1,
            bit_rot: 4,
            misplaced_blob: 2,
            heal: 2,
            pause_hold_ms: 600,
        }
    }
}

impl FaultWeights {
    /// The configured weight of `kind`, before applicability.
    pub fn weight(&self, kind: FaultKind) -> u32 {
        match kind {
            FaultKind::KillOne => self.kill_one,
            FaultKind::KillAll => self.kill_all,
            FaultKind::Pause => self.pause,
            FaultKind::Resume => self.resume,
            FaultKind::PowerCut => self.power_cut,
            FaultKind::FsyncEio => self.fsync_eio,
            FaultKind::Enospc => self.enospc,
            FaultKind::BitFlip => self.bit_flip,
            FaultKind::MisdirectedWrite => self.misdirected_write,
            FaultKind::BitRot => self.bit_rot,
            FaultKind::MisplacedBlob => self.misplaced_blob,
            FaultKind::Heal => self.heal,
        }
    }
}

/// What the schedule must know of the run to weigh an action zero where it cannot apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultContext {
    /// Processes running and not paused.
    pub running: usize,
    /// Processes paused (SIGSTOP).
    pub paused: usize,
    /// Paused processes that have been paused long enough to be resumed.
    pub resumable: usize,
    /// Whether the data directory sits on the lazy filesystem.
    pub lazyfs: bool,
    /// Whether a fault injected into the filesystem is still active.
    pub filesystem_faults_active: bool,
}

impl FaultContext {
    /// Whether `kind` can apply now.
    pub fn applies(&self, kind: FaultKind) -> bool {
        if kind.needs_lazyfs() && !self.lazyfs {
            return false;
        }
        match kind {
            FaultKind::KillOne | FaultKind::Pause => self.running > 0,
            FaultKind::KillAll => self.running + self.paused > 0,
            FaultKind::Resume => self.resumable > 0,
            FaultKind::Heal => self.resumable > 0 || self.filesystem_faults_active,
            _ => true,
        }
    }
}

/// A seeded sequence of fault choices. The same seed, weights and contexts give the same choices.
#[derive(Debug)]
pub struct FaultSchedule {
    rng: StdRng,
    weights: FaultWeights,
}

impl FaultSchedule {
    /// A schedule drawing from `seed` with `weights`.
    pub fn new(seed: u64, weights: FaultWeights) -> Self {
        FaultSchedule {
            rng: StdRng::seed_from_u64(seed),
            weights,
        }
    }

    /// Picks the next action among those that apply in `context`; `None` when none does.
    pub fn next(&mut self, context: &FaultContext) -> Option<FaultKind> {
        let weighted: Vec<(FaultKind, u32)> = FaultKind::ALL
            .iter()
            .map(|&kind| {
                let weight = if context.applies(kind) {
                    self.weights.weight(kind)
                } else {
                    0
                };
                (kind, weight)
            })
            .collect();
        let total: u32 = weighted.iter().map(|(_, weight)| weight).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = self.rng.random_range(0..total);
        for (kind, weight) in weighted {
            if ticket < weight {
                return Some(kind);
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the total weight")
    }

    /// A number from the schedule's stream, for choices an action makes (which process, which
    /// crash state).
    pub fn draw(&mut self, below: u64) -> u64 {
        debug_assert!(below > 0);
        self.rng.random_range(0..below.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> FaultContext {
        FaultContext {
            running: 3,
            paused: 0,
            resumable: 0,
            lazyfs: true,
            filesystem_faults_active: false,
        }
    }

    #[test]
    fn same_seed_same_choices() {
        let picks = |seed| {
            let mut schedule = FaultSchedule::new(seed, FaultWeights::default());
            (0..50)
                .map(|_| schedule.next(&context()))
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
    }

    #[test]
    fn inapplicable_actions_are_never_picked() {
        let mut schedule = FaultSchedule::new(1, FaultWeights::default());
        let without_fs = FaultContext {
            lazyfs: false,
            ..context()
        };
        for _ in 0..1000 {
            let kind = schedule.next(&without_fs).unwrap();
            assert!(
                !kind.needs_lazyfs(),
                "{kind:?} picked without a lazy filesystem"
            );
            assert_ne!(kind, FaultKind::Resume, "resume picked with nothing paused");
            assert_ne!(kind, FaultKind::Heal, "heal picked with nothing to heal");
        }
    }

    #[test]
    fn every_applicable_action_is_reachable() {
        let mut schedule = FaultSchedule::new(3, FaultWeights::default());
        let everything = FaultContext {
            running: 2,
            paused: 1,
            resumable: 1,
            lazyfs: true,
            filesystem_faults_active: true,
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            seen.insert(schedule.next(&everything).unwrap());
        }
        assert_eq!(seen.len(), FaultKind::ALL.len());
    }

    #[test]
    fn a_fresh_pause_is_not_resumed() {
        let mut schedule = FaultSchedule::new(5, FaultWeights::default());
        let fresh = FaultContext {
            running: 1,
            paused: 1,
            resumable: 0,
            ..context()
        };
        for _ in 0..1000 {
            let kind = schedule.next(&fresh).unwrap();
            assert!(
                kind != FaultKind::Resume && kind != FaultKind::Heal,
                "{kind:?} picked for a pause younger than its hold"
            );
        }
    }

    #[test]
    fn nothing_applies_gives_none() {
        let mut schedule = FaultSchedule::new(3, FaultWeights::default());
        let idle = FaultContext::default();
        assert_eq!(schedule.next(&idle), None);
    }
}
