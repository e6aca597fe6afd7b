//! The commit model's compaction, crash and reader transitions, and its state summary.

use super::*;

impl CommitModel {
    /// The writer's steps: appends, group commit, compaction, GC, and its crash.
    pub(super) fn writer_actions(&self, state: &CommitState, actions: &mut Vec<CommitAction>) {
        use CommitAction::*;
        if state.next_write <= self.writes {
            actions.push(Append);
        }
        if !state.unsynced.is_empty() {
            actions.push(GroupCommit);
        }
        let idle = state.compaction == Compaction::Idle && state.gc_candidates.is_none();
        match state.compaction {
            Compaction::Idle
                if idle
                    && state.next_blob <= MAX_BLOBS
                    && state.synced_lsn() > state.manifest.covered_lsn =>
            {
                actions.push(WriteSnapshot)
            }
            Compaction::Idle => {}
            Compaction::BlobWritten { .. } => actions.push(match self.variant {
                Variant::Correct => PublishManifest,
                Variant::Buggy => DeleteSegment,
            }),
            Compaction::Published { .. } => actions.push(DeleteSegment),
            Compaction::Truncated { .. } => actions.push(PublishManifest),
        }
        if idle && state.blobs.len() > 1 {
            actions.push(GcList);
        }
        if state.gc_candidates.is_some() {
            actions.push(GcDelete);
        }
        if state.crashes < MAX_CRASHES {
            for kept in 0..=state.unsynced.len() as u8 {
                actions.push(Crash { kept });
            }
        }
    }

    pub(super) fn publish(&self, next: &mut CommitState) {
        let (Compaction::BlobWritten { blob, covered_lsn }
        | Compaction::Truncated { blob, covered_lsn }) = next.compaction
        else {
            unreachable!("publish is offered only during a compaction");
        };
        next.manifest = Manifest {
            seq: next.manifest.seq + 1,
            blob: Some(blob),
            covered_lsn,
        };
        next.compaction = match self.variant {
            Variant::Correct => Compaction::Published { blob, covered_lsn },
            Variant::Buggy => Compaction::Idle,
        };
    }

    pub(super) fn delete_segment(&self, next: &mut CommitState) {
        let (Compaction::BlobWritten { blob, covered_lsn }
        | Compaction::Published { blob, covered_lsn }) = next.compaction
        else {
            unreachable!("delete is offered only during a compaction");
        };
        if let Some(index) = next.log.iter().position(|r| r.lsn <= covered_lsn) {
            next.log.remove(index);
        }
        let more = next.log.iter().any(|r| r.lsn <= covered_lsn);
        next.compaction = match (self.variant, more) {
            (_, true) => next.compaction,
            (Variant::Correct, false) => Compaction::Idle,
            (Variant::Buggy, false) => Compaction::Truncated { blob, covered_lsn },
        };
    }
}

pub(super) fn crash(next: &mut CommitState, kept: u8) {
    let survivors: Vec<Record> = next.unsynced.drain(..usize::from(kept)).collect();
    next.log.extend(survivors);
    next.unsynced.clear();
    next.waiting.clear();
    next.compaction = Compaction::Idle;
    next.gc_candidates = None;
    next.crashes += 1;
    // Restart: recovery sets the next LSN; records lost in the crash never happened. If the
    // disk cannot be recovered the writer reports it and stays down.
    match next.recover() {
        Ok(writes) => {
            next.next_lsn = writes.len() as u8 + 1;
            next.history.truncate(writes.len());
        }
        Err(_) => next.writer_down = true,
    }
}

pub(super) fn read_step(next: &mut CommitState, action: CommitAction, validates_pin: bool) {
    let manifest_blob = next.manifest.blob;
    next.reader = match (action, next.reader) {
        (CommitAction::ReaderReadManifest, Reader::Idle { retries }) => Reader::SawManifest {
            blob: manifest_blob.expect("offered only when a manifest names a blob"),
            retries,
        },
        (CommitAction::ReaderPin, Reader::SawManifest { blob, retries }) => {
            next.pins.push(blob);
            Reader::Pinned { blob, retries }
        }
        (CommitAction::ReaderValidate, Reader::Pinned { blob, retries }) => {
            if manifest_blob == Some(blob) || !validates_pin {
                Reader::Validated { blob }
            } else {
                next.pins.retain(|pin| *pin != blob);
                if retries < MAX_READER_RETRIES {
                    Reader::Idle {
                        retries: retries + 1,
                    }
                } else {
                    Reader::GaveUp
                }
            }
        }
        (CommitAction::ReaderReadBlob, Reader::Validated { blob }) => {
            next.pins.retain(|pin| *pin != blob);
            if next.blobs.iter().any(|b| b.id == blob) {
                Reader::Done
            } else {
                Reader::SawMissingBlob
            }
        }
        (action, reader) => unreachable!("{action:?} offered to reader in {reader:?}"),
    };
}

impl ProtocolModel for CommitModel {
    fn instance(variant: Variant, size: u8) -> Self {
        CommitModel::new(variant, size)
    }

    fn summarize(&self, state: &CommitState) -> String {
        let log: Vec<String> = state
            .log
            .iter()
            .map(|r| format!("{}:w{}", r.lsn, r.write))
            .collect();
        let blobs: Vec<String> = state
            .blobs
            .iter()
            .map(|b| format!("b{}{:?}", b.id, b.writes))
            .collect();
        let recovered = match state.recover() {
            Ok(writes) => format!("{writes:?}"),
            Err(error) => format!("ERROR {error:?}"),
        };
        format!(
            "wal [{}] unsynced {} | blobs [{}] | manifest seq {} blob {:?} covers {} | compaction {:?} | reader {:?} | acked {:?} | recovery now -> {recovered}",
            log.join(" "),
            state.unsynced.len(),
            blobs.join(" "),
            state.manifest.seq,
            state.manifest.blob,
            state.manifest.covered_lsn,
            state.compaction,
            state.reader,
            state.acknowledged,
        )
    }
}

impl CommitState {
    /// Panics unless the state is one the protocol can reach: LSNs increase along the log,
    /// the unsynced records follow the durable ones, and the commit order has one write per
    /// LSN handed out.
    pub(super) fn check_invariants(&self) {
        let durable_lsns = self.log.iter().map(|r| r.lsn);
        let unsynced_lsns = self.unsynced.iter().map(|r| r.lsn);
        let lsns: Vec<u8> = durable_lsns.chain(unsynced_lsns).collect();
        assert!(
            lsns.windows(2).all(|pair| pair[0] < pair[1]),
            "LSNs out of order: {lsns:?}"
        );
        assert_eq!(usize::from(self.next_lsn - 1), self.history.len());
        assert!(self.synced_lsn() >= self.manifest.covered_lsn || self.crashes > 0);
        assert_eq!(self.unsynced.len(), self.waiting.len());
    }
}
