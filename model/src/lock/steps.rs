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

    /// Reads the log up to its last accepted record: the fence. The new segment will start
    /// right after it (correct variant); records the old holder appends from now on land at or
    /// past that LSN and are cut off once the new segment exists.
    pub(super) fn fence(&self, next: &mut LockState, p: u8) {
        let epoch = holder_epoch(next, p);
        if epoch != next.highest_epoch() {
            // Already taken over: a stale holder never fences, it gives up.
            set_stage(next, p, Stage::Finished);
            return;
        }
        match self.variant {
            Variant::Correct => {
                let Ok(accepted) = next.accepted(self) else {
                    // Recovery fails: the store reports it and writes nothing.
                    set_stage(next, p, Stage::Finished);
                    return;
                };
                let first_lsn = accepted.len() as u8 + 1;
                let prev_epoch = next.segments.iter().map(|s| s.epoch).max().unwrap_or(0);
                set_stage(
                    next,
                    p,
                    Stage::Fenced {
                        first_lsn,
                        prev_epoch,
                    },
                );
            }
            Variant::Buggy => {
                if next.segments.is_empty() {
                    next.segments.push(Segment {
                        epoch: 0,
                        first_lsn: 1,
                        prev_epoch: 0,
                        records: Vec::new(),
                    });
                }
                next.takeover_epoch = epoch;
                set_stage(next, p, Stage::Ready);
            }
        }
    }

    /// Creates `<first_lsn>-<epoch>.wal` (and fsyncs the directory): from here on the holder's
    /// records are the log's tail.
    pub(super) fn open_segment(&self, next: &mut LockState, p: u8) {
        let epoch = holder_epoch(next, p);
        let Pc::Holding {
            stage:
                Stage::Fenced {
                    first_lsn,
                    prev_epoch,
                },
            ..
        } = next.processes[usize::from(p)].pc
        else {
            unreachable!("OpenSegment is offered only after Fence");
        };
        next.segments.push(Segment {
            epoch,
            first_lsn,
            prev_epoch,
            records: Vec::new(),
        });
        next.takeover_epoch = next.takeover_epoch.max(epoch);
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
        let accepted = match state.accepted(self) {
            Ok(records) => {
                let records: Vec<String> = records
                    .iter()
                    .map(|r| format!("p{}@e{}", r.writer, r.epoch))
                    .collect();
                format!("[{}]", records.join(" "))
            }
            Err(gap) => format!("ERROR no record at lsn {}", gap.lsn),
        };
        let segments: Vec<String> = state
            .segments
            .iter()
            .map(|s| {
                format!(
                    "{}-e{}<e{}:{}",
                    s.first_lsn,
                    s.epoch,
                    s.prev_epoch,
                    s.records.len()
                )
            })
            .collect();
        format!(
            "{} | epochs [{}] | segments [{}] | accepted log {accepted} | acked {:?}",
            processes.join(" "),
            epochs.join(", "),
            segments.join(" "),
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
