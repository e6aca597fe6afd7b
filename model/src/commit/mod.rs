//! Commit and snapshot: group commit, compaction (snapshot, manifest swap, segment deletion),
//! GC, crashes between durable steps, and a reader in another process (`store/PROTOCOL.md`: the
//! commit, snapshot / compaction and GC protocols).
//!
//! **Modelled.** A writer process appends client writes to the WAL without fsync; one fsync
//! (group commit) makes every appended record durable and acknowledges all waiting writes
//! together. Compaction writes a snapshot blob of the durable state up to LSN L, publishes a
//! manifest `{seq + 1, blob, covered_lsn = L}`, then deletes the covered segments one by one. GC
//! lists the blobs that neither the manifest nor a pin reaches, then deletes them. A reader in
//! another process reads the manifest, pins its blob, re-reads the manifest (retrying if it
//! moved), then reads the blob. The writer may crash between any two durable steps: unsynced
//! records are lost (a prefix of them may survive), an unfinished compaction or GC is
//! abandoned, and restart recovers from the manifest's snapshot plus the WAL after it.
//! Every property judges the disk as recovery would find it if the power were cut *now*, so a
//! crash between any two durable steps is covered without modelling each crash separately.
//!
//! **Abstracted away.** A segment holds one record; blobs and manifests are written atomically
//! (their tmp/fsync/rename/fsync-dir dance is the BlobStore's and ManifestStore's contract);
//! the lock (one writer; GC and compaction never overlap); the grace period of GC; record
//! payloads (a record is a client write id); torn records and CRCs.
//!
//! **Buggy variant** (log truncated before the new manifest is durable): compaction deletes the
//! covered segments before it publishes the manifest that covers them.

use crate::checking::ProtocolModel;
use crate::Variant;
use stateright::{Model, Property};
use steps::{crash, read_step};

mod steps;

/// Snapshot blobs the model may create (bounds compaction).
const MAX_BLOBS: u8 = 2;
/// Writer crashes the model may inject.
const MAX_CRASHES: u8 = 1;
/// Times the reader may restart after losing a race with compaction.
const MAX_READER_RETRIES: u8 = 1;

/// The commit and snapshot model for a variant and a number of client writes.
#[derive(Clone, Debug)]
pub struct CommitModel {
    pub(crate) variant: Variant,
    pub(crate) writes: u8,
    /// The reader re-reads the manifest after pinning. Switched off only by the test that
    /// shows the reader property catches a reader racing GC.
    pub(crate) reader_validates_pin: bool,
    /// GC keeps pinned blobs. Switched off only by the test that shows the GC property
    /// catches a GC that ignores pins.
    pub(crate) gc_respects_pins: bool,
}

impl CommitModel {
    /// A model in which clients submit `writes` writes.
    pub fn new(variant: Variant, writes: u8) -> Self {
        CommitModel {
            variant,
            writes,
            reader_validates_pin: true,
            gc_respects_pins: true,
        }
    }
}

/// A durable WAL record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    lsn: u8,
    write: u8,
}

/// A snapshot blob: the writes of LSN 1..=covered_lsn, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blob {
    id: u8,
    writes: Vec<u8>,
}

/// The current manifest (`MANIFEST.<seq>`): the current snapshot and the LSN it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Manifest {
    seq: u8,
    blob: Option<u8>,
    covered_lsn: u8,
}

/// Where the writer's compaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compaction {
    Idle,
    /// Snapshot blob durable, manifest not published yet.
    BlobWritten {
        blob: u8,
        covered_lsn: u8,
    },
    /// Manifest published; covered segments being deleted (correct order).
    Published {
        blob: u8,
        covered_lsn: u8,
    },
    /// Covered segments deleted; manifest not published yet (buggy order).
    Truncated {
        blob: u8,
        covered_lsn: u8,
    },
}

/// Where the reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reader {
    Idle {
        retries: u8,
    },
    /// Read the manifest, which named `blob`.
    SawManifest {
        blob: u8,
        retries: u8,
    },
    /// Pinned `blob`.
    Pinned {
        blob: u8,
        retries: u8,
    },
    /// Checked the manifest still names `blob`; about to read it.
    Validated {
        blob: u8,
    },
    /// Read a complete snapshot.
    Done,
    /// Gave up after its retries (a clean error, not a wrong answer).
    GaveUp,
    /// Ghost: read a blob that was not there.
    SawMissingBlob,
}

/// Disk, writer memory, reader and ghost bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommitState {
    log: Vec<Record>,
    blobs: Vec<Blob>,
    manifest: Manifest,
    pins: Vec<u8>,
    unsynced: Vec<Record>,
    waiting: Vec<u8>,
    next_lsn: u8,
    next_write: u8,
    next_blob: u8,
    compaction: Compaction,
    gc_candidates: Option<Vec<u8>>,
    reader: Reader,
    crashes: u8,
    /// Restart found the disk unrecoverable: the writer reports it and stays down.
    writer_down: bool,
    /// Ghost: write ids acknowledged to clients.
    acknowledged: Vec<u8>,
    /// Ghost: the commit order, `history[lsn - 1]` is the write given that LSN.
    history: Vec<u8>,
    /// Ghost: blobs GC deleted.
    gc_deleted: u8,
}

/// A step of the writer, the reader, or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitAction {
    /// A client write is appended to the WAL (not yet durable).
    Append,
    /// One fsync makes every appended record durable and acknowledges their writers.
    GroupCommit,
    /// Write the snapshot blob of the durable state.
    WriteSnapshot,
    /// Publish the manifest naming the new snapshot.
    PublishManifest,
    /// Delete one covered WAL segment.
    DeleteSegment,
    /// GC lists the blobs nothing reaches.
    GcList,
    /// GC deletes what it listed.
    GcDelete,
    /// Reader reads the manifest.
    ReaderReadManifest,
    /// Reader pins the blob it saw.
    ReaderPin,
    /// Reader re-reads the manifest to check its pin is on the current snapshot.
    ReaderValidate,
    /// Reader reads the pinned blob and unpins it.
    ReaderReadBlob,
    /// Writer crashes; the first `kept` unsynced records happen to survive. It restarts and
    /// recovers at once.
    Crash { kept: u8 },
}

/// Why recovery cannot rebuild the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecoveryError {
    /// The manifest names a blob that does not exist.
    MissingSnapshot,
    /// The WAL after the snapshot does not start at covered_lsn + 1 or has a hole.
    Gap { expected_lsn: u8 },
}

impl CommitState {
    /// What recovery rebuilds from the disk: the snapshot, then the WAL records after it.
    fn recover(&self) -> Result<Vec<u8>, RecoveryError> {
        let mut writes = match self.manifest.blob {
            None => Vec::new(),
            Some(id) => match self.blobs.iter().find(|b| b.id == id) {
                Some(blob) => blob.writes.clone(),
                None => return Err(RecoveryError::MissingSnapshot),
            },
        };
        let covered_lsn = self.manifest.covered_lsn;
        let after_snapshot = self.log.iter().filter(|r| r.lsn > covered_lsn);
        for (expected_lsn, record) in (covered_lsn + 1..).zip(after_snapshot) {
            if record.lsn != expected_lsn {
                return Err(RecoveryError::Gap { expected_lsn });
            }
            writes.push(record.write);
        }
        Ok(writes)
    }

    fn synced_lsn(&self) -> u8 {
        self.next_lsn - 1 - self.unsynced.len() as u8
    }
}

impl Model for CommitModel {
    type State = CommitState;
    type Action = CommitAction;

    fn init_states(&self) -> Vec<CommitState> {
        vec![CommitState {
            log: Vec::new(),
            blobs: Vec::new(),
            manifest: Manifest {
                seq: 0,
                blob: None,
                covered_lsn: 0,
            },
            pins: Vec::new(),
            unsynced: Vec::new(),
            waiting: Vec::new(),
            next_lsn: 1,
            next_write: 1,
            next_blob: 1,
            compaction: Compaction::Idle,
            gc_candidates: None,
            reader: Reader::Idle { retries: 0 },
            crashes: 0,
            writer_down: false,
            acknowledged: Vec::new(),
            history: Vec::new(),
            gc_deleted: 0,
        }]
    }

    fn actions(&self, state: &CommitState, actions: &mut Vec<CommitAction>) {
        use CommitAction::*;
        if !state.writer_down {
            self.writer_actions(state, actions);
        }
        match state.reader {
            Reader::Idle { .. } if state.manifest.blob.is_some() => {
                actions.push(ReaderReadManifest)
            }
            Reader::SawManifest { .. } => actions.push(ReaderPin),
            Reader::Pinned { .. } => actions.push(ReaderValidate),
            Reader::Validated { .. } => actions.push(ReaderReadBlob),
            _ => {}
        }
    }

    fn next_state(&self, state: &CommitState, action: CommitAction) -> Option<CommitState> {
        let mut next = state.clone();
        match action {
            CommitAction::Append => {
                let record = Record {
                    lsn: state.next_lsn,
                    write: state.next_write,
                };
                next.unsynced.push(record);
                next.waiting.push(record.write);
                next.history.truncate(usize::from(record.lsn - 1));
                next.history.push(record.write);
                next.next_lsn += 1;
                next.next_write += 1;
            }
            CommitAction::GroupCommit => {
                next.log.append(&mut next.unsynced);
                next.acknowledged.append(&mut next.waiting);
            }
            CommitAction::WriteSnapshot => {
                let covered_lsn = state.synced_lsn();
                let writes = state.history[..usize::from(covered_lsn)].to_vec();
                let blob = state.next_blob;
                next.blobs.push(Blob { id: blob, writes });
                next.next_blob += 1;
                next.compaction = Compaction::BlobWritten { blob, covered_lsn };
            }
            CommitAction::PublishManifest => self.publish(&mut next),
            CommitAction::DeleteSegment => self.delete_segment(&mut next),
            CommitAction::GcList => {
                let pinned = |id: &u8| self.gc_respects_pins && state.pins.contains(id);
                let reachable = |id: &u8| state.manifest.blob == Some(*id) || pinned(id);
                let candidates: Vec<u8> = state
                    .blobs
                    .iter()
                    .map(|b| b.id)
                    .filter(|id| !reachable(id))
                    .collect();
                if candidates.is_empty() {
                    return None;
                }
                next.gc_candidates = Some(candidates);
            }
            CommitAction::GcDelete => {
                let candidates = next.gc_candidates.take().unwrap_or_default();
                next.blobs.retain(|b| !candidates.contains(&b.id));
                next.gc_deleted += candidates.len() as u8;
            }
            CommitAction::Crash { kept } => crash(&mut next, kept),
            reader_step => read_step(&mut next, reader_step, self.reader_validates_pin),
        }
        if cfg!(debug_assertions) {
            next.check_invariants();
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "acknowledged writes survive a crash",
                |_: &CommitModel, state: &CommitState| {
                    state
                        .recover()
                        .is_ok_and(|writes| state.acknowledged.iter().all(|w| writes.contains(w)))
                },
            ),
            Property::always(
                "recovery gives a prefix of the commit order",
                |_: &CommitModel, state: &CommitState| {
                    state
                        .recover()
                        .is_ok_and(|writes| state.history.starts_with(&writes))
                },
            ),
            Property::always(
                "readers see only fully published snapshots",
                |_: &CommitModel, state: &CommitState| state.reader != Reader::SawMissingBlob,
            ),
            Property::always(
                "GC deletes nothing reachable",
                |_: &CommitModel, state: &CommitState| {
                    let exists = |id: &u8| state.blobs.iter().any(|b| b.id == *id);
                    state.manifest.blob.iter().all(exists)
                        && match state.reader {
                            Reader::Validated { blob } => exists(&blob),
                            _ => true,
                        }
                },
            ),
            Property::sometimes(
                "GC deletes an old snapshot and a reader completes",
                |_: &CommitModel, state: &CommitState| {
                    state.gc_deleted > 0 && state.reader == Reader::Done
                },
            ),
            Property::sometimes(
                "a reader retries after compaction moved the manifest",
                |_: &CommitModel, state: &CommitState| {
                    matches!(state.reader, Reader::Idle { retries: 1.. })
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests;
