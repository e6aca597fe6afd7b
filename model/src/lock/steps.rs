//! The lock model's transitions that change more than one field, and its state summary.

use super::*;

impl LockModel {
    pub(super) fn create_epoch(&self, next: &mut LockState, p: u8) {
        let Pc::Decided { next: epoch } = next.processes[usize::from(p)].pc else {
            unreachable!("CreateEpoch is offered only to a process that decided");
        };
        if epoch == next.highest_epoch() + 1 {
            next.epochs.push(EpochFile {
                owner: p,
                released: false,
            });
            next.processes[usize::from(p)].pc = Pc::Holding {
                epoch,
                stage: Stage::Acquired,
            };
        } else {
            // EEXIST: someone else created that epoch first. Retry from the start.
            next.processes[usize::from(p)].pc = Pc::Idle;
        }
    }

    pub(super) fn fence(&self, next: &mut LockState, p: u8) {
        let epoch = holder_epoch(next, p);
        if epoch != next.highest_epoch() {
            // Already taken over: a stale holder never fences, it gives up.
            set_stage(next, p, Stage::Finished);
            return;
        }
        next.takeover_epoch = epoch;
        match self.variant {
            Variant::Correct => {
                let first_lsn = next.accepted(self.variant).len() as u8 + 1;
                next.segments.push(Segment {
                    epoch,
                    first_lsn,
                    records: Vec::new(),
                });
            }
            Variant::Buggy if next.segments.is_empty() => next.segments.push(Segment {
                epoch: 0,
                first_lsn: 1,
                records: Vec::new(),
            }),
            Variant::Buggy => {}
        }
        set_stage(next, p, Stage::Ready);
    }

    pub(super) fn append(&self, next: &mut LockState, p: u8) {
        let epoch = holder_epoch(next, p);
        let record = Record {
            writer: p,
            epoch,
            after_takeover: next.takeover_epoch > epoch,
        };
        let segment = match self.variant {
            Variant::Correct => next.segments.iter_mut().find(|s| s.epoch == epoch),
            Variant::Buggy => next.segments.first_mut(),
        };
        segment
            .expect("a holder that fenced has a segment")
            .records
            .push(record);
        set_stage(next, p, Stage::Appended);
    }
}

pub(super) fn holder_epoch(state: &LockState, p: u8) -> u8 {
    match state.processes[usize::from(p)].pc {
        Pc::Holding { epoch, .. } => epoch,
        pc => unreachable!("process {p} holds no epoch: {pc:?}"),
    }
}

pub(super) fn set_stage(state: &mut LockState, p: u8, stage: Stage) {
    let epoch = holder_epoch(state, p);
    state.processes[usize::from(p)].pc = Pc::Holding { epoch, stage };
}

impl ProtocolModel for LockModel {
    fn instance(variant: Variant, size: u8) -> Self {
        LockModel::new(variant, size)
    }

    fn summarize(&self, state: &LockState) -> String {
        let processes: Vec<String> = state
            .processes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("p{i}:{:?}{}", p.pc, if p.paused { "(paused)" } else { "" }))
            .collect();
        let epochs: Vec<String> = state
            .epochs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let tag = if e.released { "released" } else { "held" };
                format!("{}:p{} {tag}", i + 1, e.owner)
            })
            .collect();
        let accepted: Vec<String> = state
            .accepted(self.variant)
            .iter()
            .map(|r| format!("p{}@e{}", r.writer, r.epoch))
            .collect();
        format!(
            "{} | epochs [{}] | accepted log [{}] | acked {:?}",
            processes.join(" "),
            epochs.join(", "),
            accepted.join(" "),
            state.acknowledged
        )
    }
}

impl LockState {
    /// Panics unless the state is one the protocol can reach: lock files are created by
    /// their holders, one segment per epoch, and ghost bookkeeping is consistent.
    pub(super) fn check_invariants(&self) {
        for (index, process) in self.processes.iter().enumerate() {
            if let Pc::Holding { epoch, .. } = process.pc {
                let file = &self.epochs[usize::from(epoch - 1)];
                assert_eq!(
                    usize::from(file.owner),
                    index,
                    "epoch {epoch} has another owner"
                );
            }
        }
        for (index, segment) in self.segments.iter().enumerate() {
            let later = &self.segments[index + 1..];
            assert!(
                later.iter().all(|other| other.epoch != segment.epoch),
                "two segments for epoch {}",
                segment.epoch
            );
        }
        assert!(self.takeover_epoch <= self.highest_epoch());
        let mut acknowledged = self.acknowledged.clone();
        acknowledged.dedup();
        assert_eq!(
            acknowledged, self.acknowledged,
            "a write acknowledged twice"
        );
    }
}
