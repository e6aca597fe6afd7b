//! The commit model's compaction, crash and reader transitions, and its state summary.

use super::*;

impl CommitModel {
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
    // Restart: recovery sets the next LSN; records lost in the crash never happened.
    let recovered = next.recover().map_or(0, |writes| writes.len() as u8);
    next.next_lsn = recovered + 1;
    next.history.truncate(usize::from(recovered));
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
