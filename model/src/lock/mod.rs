//! The inter-process lock: a lease with fencing epochs (STORE-DESIGN "Lock protocol").
//!
//! **Modelled.** `processes` processes each want to make one write under the lock. A process
//! reads the highest `lock/epoch-N` file and, if it is free (released, its owner dead, or its
//! owner paused past its lease), creates `epoch-(N+1)` with `O_EXCL`; losing that race means
//! retrying. The winner takes over: it fences the log and opens its own segment whose first
//! LSN follows the last accepted record. It appends its record to its segment, re-checks that
//! no higher epoch exists before acknowledging (otherwise the client gets `info`), then marks
//! its epoch released. Any process may crash at any step (for good) or pause once and resume
//! later, by which time another process may have taken the lock over. Recovery accepts the log
//! by the fencing rule: segments in `first_lsn` order, a lower-epoch segment after a
//! higher-epoch one is ignored, and each segment ends where the next accepted one begins.
//!
//! **Abstracted away.** Heartbeats and clocks (a paused owner's lease counts as expired; a
//! running owner's never does), torn tails and CRCs (an append is durable at once), the
//! owner's pid/host/nonce, backoff, and the record payload (a record is its writer and epoch).
//!
//! **Buggy variant** (takeover without fencing): there is one shared log and no segments; a
//! stale holder that resumes keeps appending to the shared tail and recovery accepts it.

use crate::checking::{can_progress, ProtocolModel};
use crate::Variant;
use stateright::{Model, Property};
use steps::{holder_epoch, set_stage};

mod steps;

/// The lock model for a given variant and number of processes.
#[derive(Clone, Debug)]
pub struct LockModel {
    pub(crate) variant: Variant,
    pub(crate) processes: u8,
    /// A free-lock test that notices dead or paused owners. Switched off only by the test
    /// that shows the liveness property catches a lock nobody can take over.
    pub(crate) owner_failure_detected: bool,
}

impl LockModel {
    /// A lock model with `processes` contenders.
    pub fn new(variant: Variant, processes: u8) -> Self {
        LockModel {
            variant,
            processes,
            owner_failure_detected: true,
        }
    }
}

/// Where a process is in its one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pc {
    /// Wants the lock.
    Idle,
    /// Read the highest epoch `next - 1` as free; about to create `epoch-next`.
    Decided { next: u8 },
    /// Created `epoch-epoch`; `stage` says how far its write has got.
    Holding { epoch: u8, stage: Stage },
    /// Finished (write acknowledged, answered `info`, or given up) and released.
    Done,
    /// Crashed; never comes back (a restarted process is a new contender).
    Crashed,
}

/// Progress of a lock holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Lock file created; log not fenced yet.
    Acquired,
    /// Log fenced and own segment open.
    Ready,
    /// Record appended (durably); acknowledgement not decided yet.
    Appended,
    /// Outcome answered; about to release.
    Finished,
}

/// One contender.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Process {
    pc: Pc,
    paused: bool,
    pause_used: bool,
}

/// `lock/epoch-N`: who created it and whether it was released.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EpochFile {
    owner: u8,
    released: bool,
}

/// A log record: its writer and the epoch the writer held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    writer: u8,
    epoch: u8,
    /// Ghost: appended after a higher epoch had completed its takeover.
    after_takeover: bool,
}

/// A WAL segment `<first_lsn>-<epoch>.wal`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    epoch: u8,
    first_lsn: u8,
    records: Vec<Record>,
}

/// Processes, lock files, log segments and ghost bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockState {
    processes: Vec<Process>,
    /// `epochs[e - 1]` is `lock/epoch-e`.
    epochs: Vec<EpochFile>,
    segments: Vec<Segment>,
    /// Ghost: writers whose record was acknowledged.
    acknowledged: Vec<u8>,
    /// Ghost: highest epoch that completed its takeover.
    takeover_epoch: u8,
}

/// A step of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockAction {
    /// Read the highest epoch and find it free.
    ReadFree(u8),
    /// Create the next epoch file with O_EXCL (fails with EEXIST if another won).
    CreateEpoch(u8),
    /// Fence the log and open an own segment (buggy variant: just start writing).
    Fence(u8),
    /// Append the record durably.
    Append(u8),
    /// Re-check the epoch, then acknowledge or answer `info`.
    Confirm(u8),
    /// Mark the epoch released.
    Release(u8),
    /// Pause long enough for the lease to run out.
    Pause(u8),
    /// Continue after a pause.
    Resume(u8),
    /// Crash for good.
    Crash(u8),
}

impl LockState {
    fn highest_epoch(&self) -> u8 {
        self.epochs.len() as u8
    }

    fn lock_is_free(&self, detect_owner_failure: bool) -> bool {
        let Some(file) = self.epochs.last() else {
            return true;
        };
        let owner = &self.processes[usize::from(file.owner)];
        file.released || (detect_owner_failure && (owner.pc == Pc::Crashed || owner.paused))
    }

    /// The records recovery accepts, in log order (see the module doc for the rule).
    fn accepted(&self, variant: Variant) -> Vec<Record> {
        if variant == Variant::Buggy {
            return self
                .segments
                .iter()
                .flat_map(|s| s.records.clone())
                .collect();
        }
        let mut order: Vec<&Segment> = self.segments.iter().collect();
        order.sort_by_key(|s| (s.first_lsn, s.epoch));
        let mut accepted: Vec<(u8, Record)> = Vec::new();
        let mut max_epoch = 0;
        for segment in order {
            if segment.epoch < max_epoch {
                continue;
            }
            max_epoch = segment.epoch;
            accepted.retain(|(lsn, _)| *lsn < segment.first_lsn);
            let next_lsn = accepted.last().map_or(1, |(lsn, _)| lsn + 1);
            if segment.first_lsn != next_lsn {
                // A gap: recovery stops at the last contiguous record.
                break;
            }
            for (offset, record) in segment.records.iter().enumerate() {
                accepted.push((segment.first_lsn + offset as u8, *record));
            }
        }
        accepted.into_iter().map(|(_, record)| record).collect()
    }
}

impl Model for LockModel {
    type State = LockState;
    type Action = LockAction;

    fn init_states(&self) -> Vec<LockState> {
        let process = Process {
            pc: Pc::Idle,
            paused: false,
            pause_used: false,
        };
        vec![LockState {
            processes: vec![process; usize::from(self.processes)],
            epochs: Vec::new(),
            segments: Vec::new(),
            acknowledged: Vec::new(),
            takeover_epoch: 0,
        }]
    }

    fn actions(&self, state: &LockState, actions: &mut Vec<LockAction>) {
        for (index, process) in state.processes.iter().enumerate() {
            let p = index as u8;
            if matches!(process.pc, Pc::Done | Pc::Crashed) {
                continue;
            }
            if process.paused {
                actions.push(LockAction::Resume(p));
                actions.push(LockAction::Crash(p));
                continue;
            }
            match process.pc {
                Pc::Idle if state.lock_is_free(self.owner_failure_detected) => {
                    actions.push(LockAction::ReadFree(p))
                }
                Pc::Idle => {}
                Pc::Decided { .. } => actions.push(LockAction::CreateEpoch(p)),
                Pc::Holding { stage, .. } => actions.push(match stage {
                    Stage::Acquired => LockAction::Fence(p),
                    Stage::Ready => LockAction::Append(p),
                    Stage::Appended => LockAction::Confirm(p),
                    Stage::Finished => LockAction::Release(p),
                }),
                Pc::Done | Pc::Crashed => unreachable!("skipped above"),
            }
            if !process.pause_used {
                actions.push(LockAction::Pause(p));
            }
            actions.push(LockAction::Crash(p));
        }
    }

    fn next_state(&self, state: &LockState, action: LockAction) -> Option<LockState> {
        let mut next = state.clone();
        match action {
            LockAction::ReadFree(p) => {
                next.processes[usize::from(p)].pc = Pc::Decided {
                    next: state.highest_epoch() + 1,
                };
            }
            LockAction::CreateEpoch(p) => self.create_epoch(&mut next, p),
            LockAction::Fence(p) => self.fence(&mut next, p),
            LockAction::Append(p) => self.append(&mut next, p),
            LockAction::Confirm(p) => {
                let epoch = holder_epoch(state, p);
                if epoch == state.highest_epoch() {
                    next.acknowledged.push(p);
                }
                set_stage(&mut next, p, Stage::Finished);
            }
            LockAction::Release(p) => {
                let epoch = holder_epoch(state, p);
                next.epochs[usize::from(epoch - 1)].released = true;
                next.processes[usize::from(p)].pc = Pc::Done;
            }
            LockAction::Pause(p) => {
                let process = &mut next.processes[usize::from(p)];
                process.paused = true;
                process.pause_used = true;
            }
            LockAction::Resume(p) => next.processes[usize::from(p)].paused = false,
            LockAction::Crash(p) => {
                let process = &mut next.processes[usize::from(p)];
                process.pc = Pc::Crashed;
                process.paused = false;
            }
        }
        if cfg!(debug_assertions) {
            next.check_invariants();
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "acknowledged writes are in the accepted log",
                |model: &LockModel, state: &LockState| {
                    let accepted = state.accepted(model.variant);
                    state
                        .acknowledged
                        .iter()
                        .all(|writer| accepted.iter().any(|r| r.writer == *writer))
                },
            ),
            Property::always(
                "no write made after a takeover is accepted",
                |model: &LockModel, state: &LockState| {
                    state
                        .accepted(model.variant)
                        .iter()
                        .all(|r| !r.after_takeover)
                },
            ),
            Property::always(
                "accepted log has one writer at a time",
                |model: &LockModel, state: &LockState| {
                    let accepted = state.accepted(model.variant);
                    accepted
                        .windows(2)
                        .all(|pair| pair[0].epoch <= pair[1].epoch)
                },
            ),
            Property::always(
                "no process waits forever for the lock",
                |model: &LockModel, state: &LockState| {
                    state
                        .processes
                        .iter()
                        .all(|p| matches!(p.pc, Pc::Done | Pc::Crashed))
                        || can_progress(model, state, |action| {
                            matches!(action, LockAction::Pause(_) | LockAction::Crash(_))
                        })
                },
            ),
            Property::sometimes(
                "a paused holder writes after a takeover",
                |_: &LockModel, state: &LockState| {
                    state
                        .segments
                        .iter()
                        .any(|s| s.records.iter().any(|r| r.after_takeover))
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests;
