//! [`State`]: the in-memory key space, built by applying [`WalRecord`]s in LSN order, and its
//! snapshot encoding (the payload of a snapshot blob).
//!
//! Invariants (checked by [`State::check_invariants`], asserted in debug builds):
//! - records are applied in strictly increasing LSN order;
//! - a key's version is the LSN of the record (or batch commit) that last changed it, so it is
//!   `<= applied_lsn`, strictly increases on every change and is never reused: a delete followed
//!   by a put gives the key a version above every version it ever had;
//! - a batch changes nothing until its `BatchCommit` is applied; a batch left open when any other
//!   record arrives was cut off (its writer died before the commit) and is dropped, never applied.
//!
//! Three planted bugs (crate::mutant) live here, each where its incident's mistake is made:
//! version-from-memory (11, in `snapshot`), version-restarts-after-delete (12) and
//! uncommitted-batch-visible (13). Under them the version invariants above do not hold.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::mutant::{self, Mutant};
use crate::record::{BatchId, WalRecord, MAX_KEY_BYTES};

mod snapshot;
pub use snapshot::{SnapshotDecodeError, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC};

/// A key's version: the LSN of the change that gave it its current value.
pub type Version = u64;

/// A key's current value and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The value bytes.
    pub value: Vec<u8>,
    /// LSN of the record that last changed the key.
    pub version: Version,
}

/// Answer of [`State::get_if_modified`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfModified {
    /// The caller's version is the key's current version.
    NotModified,
    /// The key changed (or is absent): here is what it holds now.
    Modified(Option<Entry>),
}

/// A record that cannot be applied: the log is not one the Store wrote.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Records must arrive in strictly increasing LSN order.
    #[error("record at lsn {lsn} arrives after lsn {applied_lsn} was applied")]
    LsnNotIncreasing { lsn: u64, applied_lsn: u64 },
    /// A BatchPut/BatchDelete/BatchCommit without its BatchBegin right before it.
    #[error("batch record for batch {batch} at lsn {lsn} has no open BatchBegin")]
    BatchRecordWithoutBegin { lsn: u64, batch: BatchId },
    /// A batch holds more operations than its BatchBegin announced.
    #[error("batch {batch} at lsn {lsn} has more than the {op_count} operations it announced")]
    BatchTooLong {
        lsn: u64,
        batch: BatchId,
        op_count: u32,
    },
    /// A BatchCommit whose count differs from the operations seen.
    #[error(
        "batch {batch} commits at lsn {lsn} with {expected} operations but {found} were logged"
    )]
    BatchCountMismatch {
        lsn: u64,
        batch: BatchId,
        expected: u32,
        found: usize,
    },
}

#[derive(Clone, Debug)]
enum BatchOp {
    Put(String, Vec<u8>),
    Delete(String),
}

#[derive(Clone, Debug)]
struct OpenBatch {
    id: BatchId,
    op_count: u32,
    ops: Vec<BatchOp>,
}

/// The key space at `applied_lsn`. See the module doc for its invariants.
#[derive(Clone, Debug, Default)]
pub struct State {
    entries: BTreeMap<String, Entry>,
    applied_lsn: u64,
    open_batch: Option<OpenBatch>,
    dropped_batches: u64,
    /// Keys deleted since this state was built; kept only under the planted bug
    /// version-restarts-after-delete (empty otherwise).
    tombstones: BTreeSet<String>,
}

impl State {
    /// An empty key space at LSN 0.
    pub fn new() -> State {
        State::default()
    }

    /// LSN of the last record applied (or the covered LSN of the snapshot it was loaded from).
    pub fn applied_lsn(&self) -> u64 {
        self.applied_lsn
    }

    /// How many cut-off batches were dropped while applying.
    pub fn dropped_batches(&self) -> u64 {
        self.dropped_batches
    }

    /// The key's current entry.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every key and entry, in key order.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// "Not modified" iff the key exists and `version` is its current version.
    pub fn get_if_modified(&self, key: &str, version: Version) -> IfModified {
        match self.entries.get(key) {
            Some(entry) if entry.version == version => IfModified::NotModified,
            current => IfModified::Modified(current.cloned()),
        }
    }

    /// Applies the record logged at `lsn`.
    pub fn apply(&mut self, lsn: u64, record: &WalRecord) -> Result<(), StateError> {
        if lsn <= self.applied_lsn {
            return Err(StateError::LsnNotIncreasing {
                lsn,
                applied_lsn: self.applied_lsn,
            });
        }
        match record {
            WalRecord::Put { key, value } => {
                self.drop_open_batch();
                self.set(key, value.clone(), lsn, false);
            }
            WalRecord::Patch { key, delta } => {
                self.drop_open_batch();
                let mut value = self
                    .entries
                    .get(key)
                    .map(|e| e.value.clone())
                    .unwrap_or_default();
                value.extend_from_slice(delta);
                self.set(key, value, lsn, false);
            }
            WalRecord::Delete { key } => {
                self.drop_open_batch();
                self.remove(key);
            }
            WalRecord::BatchBegin { batch, op_count } => {
                self.drop_open_batch();
                self.open_batch = Some(OpenBatch {
                    id: *batch,
                    op_count: *op_count,
                    ops: vec![],
                });
            }
            WalRecord::BatchPut { batch, key, value } => {
                self.push_batch_op(lsn, *batch, BatchOp::Put(key.clone(), value.clone()))?;
            }
            WalRecord::BatchDelete { batch, key } => {
                self.push_batch_op(lsn, *batch, BatchOp::Delete(key.clone()))?;
            }
            WalRecord::BatchCommit { batch, op_count } => {
                self.commit_batch(lsn, *batch, *op_count)?
            }
        }
        self.applied_lsn = lsn;
        debug_assert_eq!(self.check_invariants(), Ok(()));
        Ok(())
    }

    /// Sets `key` at version `lsn`. Only a batch may set one key twice at one LSN (a later
    /// operation of the batch overrides an earlier one); otherwise versions strictly increase.
    fn set(&mut self, key: &str, value: Vec<u8>, lsn: u64, in_batch: bool) {
        let version = self.version_of_change(key, lsn);
        let previous = self
            .entries
            .insert(key.to_string(), Entry { value, version });
        debug_assert!(
            versions_planted_wrong()
                || previous.is_none_or(|p| p.version < lsn || (in_batch && p.version == lsn)),
            "version must increase"
        );
    }

    /// The version a change logged at `lsn` gives `key`: `lsn` itself, above every version
    /// the key ever had (also before a delete), whatever this process remembers.
    fn version_of_change(&mut self, key: &str, lsn: u64) -> Version {
        if mutant::is_active(Mutant::VersionRestartsAfterDelete)
            && !self.entries.contains_key(key)
            && self.tombstones.remove(key)
        {
            // Planted bug 12: a put on a deleted key is taken for the key's first write and
            // restarts its version at 1, so a client still holding the key's old version 1 is
            // told "not modified" about a different value, and versions go backwards.
            return 1;
        }
        lsn
    }

    fn remove(&mut self, key: &str) {
        if self.entries.remove(key).is_some()
            && mutant::is_active(Mutant::VersionRestartsAfterDelete)
        {
            self.tombstones.insert(key.to_string());
        }
    }

    /// Applies one operation of a batch at `lsn` (its commit's LSN, or, under the planted bug
    /// uncommitted-batch-visible, its own).
    fn apply_batch_op(&mut self, op: BatchOp, lsn: u64) {
        match op {
            BatchOp::Put(key, value) => self.set(&key, value, lsn, true),
            BatchOp::Delete(key) => self.remove(&key),
        }
    }

    fn drop_open_batch(&mut self) {
        if self.open_batch.take().is_some() {
            self.dropped_batches += 1;
        }
    }

    fn open_batch_for(&mut self, lsn: u64, batch: BatchId) -> Result<&mut OpenBatch, StateError> {
        match &mut self.open_batch {
            Some(open) if open.id == batch => Ok(open),
            _ => Err(StateError::BatchRecordWithoutBegin { lsn, batch }),
        }
    }

    fn push_batch_op(&mut self, lsn: u64, batch: BatchId, op: BatchOp) -> Result<(), StateError> {
        let open = self.open_batch_for(lsn, batch)?;
        if open.ops.len() >= open.op_count as usize {
            return Err(StateError::BatchTooLong {
                lsn,
                batch,
                op_count: open.op_count,
            });
        }
        if mutant::is_active(Mutant::UncommittedBatchVisible) {
            // Planted bug 13 (Pulp's incomplete repository version): each operation of a batch
            // is applied as soon as its record is read, as if it were a plain write. While the
            // writer holds the state mutex nobody sees the difference; but a batch whose commit
            // record never became durable (a power cut tearing the write that carried it, a
            // kill between the two writes of a batch that spans a segment roll) is partly
            // visible to the recovery and to any process catching up on that log.
            open.ops.push(op.clone());
            self.apply_batch_op(op, lsn);
            return Ok(());
        }
        open.ops.push(op);
        Ok(())
    }

    fn commit_batch(&mut self, lsn: u64, batch: BatchId, op_count: u32) -> Result<(), StateError> {
        let open = self.open_batch_for(lsn, batch)?;
        if open.op_count != op_count || open.ops.len() != op_count as usize {
            let found = open.ops.len();
            return Err(StateError::BatchCountMismatch {
                lsn,
                batch,
                expected: op_count,
                found,
            });
        }
        let ops = std::mem::take(&mut open.ops);
        self.open_batch = None;
        for op in ops {
            self.apply_batch_op(op, lsn);
        }
        Ok(())
    }

    /// Checks the invariants of the module doc; returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (key, entry) in &self.entries {
            if entry.version == 0 || entry.version > self.applied_lsn {
                return Err(format!(
                    "key {key:?} has version {} outside 1..={}",
                    entry.version, self.applied_lsn
                ));
            }
            if key.len() > MAX_KEY_BYTES {
                return Err(format!("key of {} bytes exceeds the limit", key.len()));
            }
        }
        if let Some(open) = &self.open_batch {
            if open.ops.len() > open.op_count as usize {
                return Err(format!("open batch {} holds too many operations", open.id));
            }
        }
        Ok(())
    }
}

/// Whether a planted bug that breaks the version invariants is active (their debug assertions
/// then stay quiet: the bug must show in answers, not in a panic).
fn versions_planted_wrong() -> bool {
    mutant::is_active(Mutant::VersionFromMemory)
        || mutant::is_active(Mutant::VersionRestartsAfterDelete)
}

#[cfg(test)]
mod tests;
