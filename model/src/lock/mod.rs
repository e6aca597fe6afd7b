//! The inter-process lock: a lease with fencing epochs (`store/PROTOCOL.md`, the lock protocol).
//!
//! **Modelled.** `processes` processes each want to make one write under the lock. A process
//! reads the highest `lock/epoch-N` file and, if it is free (released, its owner dead, or its
//! owner paused past its lease), creates `epoch-(N+1)` with `O_EXCL`; losing that race means
//! retrying. The winner takes over in two durable steps: it re-checks it still holds the
//! highest epoch and reads the log up to its last accepted record (the fence), then creates its
//! own segment starting right after the fence; the old holder may still append in between. It
//! appends its record to its segment, re-checks that no higher epoch exists before
//! acknowledging (otherwise the client gets `info`), then marks its epoch released. Any process may crash at any step (for good) or pause and resume later,
//! by which time another process may have taken the lock over (at most two pauses and one
//! crash per run). Recovery follows the chain of segments back from the highest epoch: each
//! segment's header names the epoch of the segment it continues (`prev_epoch`, the chain head
//! its holder fenced), which contributes its records below the later segment's first LSN.
//! This is the store's rule (`store/src/wal/chain.rs`) for one segment per epoch: there a
//! segment's predecessor is the `prev_epoch` segment with the highest `first_lsn` at or below
//! its own (strictly below within one epoch, where a holder rolls segments), which with one
//! segment per epoch is simply the `prev_epoch` segment. A torn segment creation, which the
//! store removes, is abstracted away with torn tails below.
//!
//! The chain is this model's finding. The rule first written down (segments in `first_lsn`
//! order, each ending where the next begins) loses an acknowledged write when a holder passes
//! its epoch check, pauses, and opens its segment after a newer holder fenced: the late
//! segment cuts off records the newer holder built on
//! (`tests::first_lsn_order_recovery_loses_an_acknowledged_write`).
//!
//! **Abstracted away.** Heartbeats and clocks (a paused owner's lease counts as expired; a
//! running owner's never does), torn tails and CRCs (an append is durable at once), the
//! owner's pid/host/nonce, backoff, and the record payload (a record is its writer and epoch).
//!
//! **Buggy variant** (takeover without fencing): there is one shared log and no segments; a
//! stale holder that resumes keeps appending to the shared tail and recovery accepts it.

use crate::checking::ProtocolModel;
use crate::Variant;
use stateright::{Model, Property};

use steps::{holder_epoch, set_stage};

/// Pauses (lease expiries) one run may inject: two let a holder and its successor both go
/// stale, which is what the late-segment race needs.
const MAX_PAUSES: u8 = 2;
/// Crashes one run may inject.
const MAX_CRASHES: u8 = 1;

mod properties;
mod recovery;
mod steps;

/// The lock model for a given variant and number of processes.
#[derive(Clone, Debug)]
pub struct LockModel {
    pub(crate) variant: Variant,
    pub(crate) processes: u8,
    /// A free-lock test that notices dead or paused owners. Switched off only by the test
    /// that shows the liveness property catches a lock nobody can take over.
    pub(crate) owner_failure_detected: bool,
    /// Recovery follows each segment's `prev_epoch` chain. Switched off only by the test that
    /// shows the first-LSN-order rule loses an acknowledged write.
    pub(crate) recovery_follows_chain: bool,
}

/// Recovery cannot find the record with this LSN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogGap {
    lsn: u8,
}

impl LockModel {
    /// A lock model with `processes` contenders.
    pub fn new(variant: Variant, processes: u8) -> Self {
        LockModel {
            variant,
            processes,
            owner_failure_detected: true,
            recovery_follows_chain: true,
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
    /// Log read up to its fence (the last record of the chain headed by `prev_epoch`); own
    /// segment, starting at `first_lsn`, not created yet.
    Fenced { first_lsn: u8, prev_epoch: u8 },
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
    /// Ghost: appended after a higher epoch had started writing (opened its segment).
    after_takeover: bool,
}

/// A WAL segment `<first_lsn>-<epoch>.wal`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    epoch: u8,
    first_lsn: u8,
    /// Header field: the epoch of the segment this one continues (0 for the first segment).
    prev_epoch: u8,
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
    /// Ghost: highest epoch that started writing (completed its takeover).
    takeover_epoch: u8,
    /// Faults injected so far (each bounded, see `MAX_PAUSES` and `MAX_CRASHES`).
    pauses: u8,
    crashes: u8,
}

/// A step of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockAction {
    /// Read the highest epoch and find it free.
    ReadFree(u8),
    /// Create the next epoch file with O_EXCL (fails with EEXIST if another won).
    CreateEpoch(u8),
    /// Read the log up to its fence (buggy variant: just start writing at the shared tail).
    Fence(u8),
    /// Create the own segment after the fence.
    OpenSegment(u8),
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
}

impl Model for LockModel {
    type State = LockState;
    type Action = LockAction;

    fn init_states(&self) -> Vec<LockState> {
        let process = Process {
            pc: Pc::Idle,
            paused: false,
        };
        vec![LockState {
            processes: vec![process; usize::from(self.processes)],
            epochs: Vec::new(),
            segments: Vec::new(),
            acknowledged: Vec::new(),
            takeover_epoch: 0,
            pauses: 0,
            crashes: 0,
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
                if state.crashes < MAX_CRASHES {
                    actions.push(LockAction::Crash(p));
                }
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
                    Stage::Fenced { .. } => LockAction::OpenSegment(p),
                    Stage::Ready => LockAction::Append(p),
                    Stage::Appended => LockAction::Confirm(p),
                    Stage::Finished => LockAction::Release(p),
                }),
                Pc::Done | Pc::Crashed => unreachable!("skipped above"),
            }
            if state.pauses < MAX_PAUSES {
                actions.push(LockAction::Pause(p));
            }
            if state.crashes < MAX_CRASHES {
                actions.push(LockAction::Crash(p));
            }
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
            LockAction::OpenSegment(p) => self.open_segment(&mut next, p),
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
                next.processes[usize::from(p)].paused = true;
                next.pauses += 1;
            }
            LockAction::Resume(p) => next.processes[usize::from(p)].paused = false,
            LockAction::Crash(p) => {
                next.crashes += 1;
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
        properties::all()
    }
}

#[cfg(test)]
mod tests;
