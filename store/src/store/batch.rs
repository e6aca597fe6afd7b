//! [`Batch`]: puts and deletes buffered in memory, then written as one contiguous run of
//! records (`BatchBegin`, the operations, `BatchCommit`) under the state mutex and made durable
//! with one sync. Until its `BatchCommit` is durable and applied nothing of it is visible; a
//! batch cut off by a crash is dropped on replay. Aborting writes nothing at all.

use std::sync::atomic::{AtomicU32, Ordering};

use super::core::Core;
use super::StoreError;
use crate::record::{BatchId, WalRecord, MAX_KEY_BYTES};
use crate::state::Version;

/// Most operations one batch may hold.
pub const MAX_BATCH_OPS: usize = 1000;

static NEXT_BATCH: AtomicU32 = AtomicU32::new(1);

#[derive(Clone, Debug)]
enum BatchOp {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// A batch being built; see the module doc. Dropping it without [`Batch::commit`] aborts it.
#[derive(Debug)]
pub struct Batch<'a> {
    core: &'a Core,
    ops: Vec<BatchOp>,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(core: &'a Core) -> Batch<'a> {
        Batch {
            core,
            ops: Vec::new(),
        }
    }

    /// Adds "set `key` to `value`".
    pub fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.push(
            key,
            BatchOp::Put {
                key: key.into(),
                value: value.to_vec(),
            },
        )
    }

    /// Adds "remove `key`" (removing an absent key is allowed and changes nothing).
    pub fn delete(&mut self, key: &str) -> Result<(), StoreError> {
        self.push(key, BatchOp::Delete { key: key.into() })
    }

    fn push(&mut self, key: &str, op: BatchOp) -> Result<(), StoreError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StoreError::KeyTooLong { len: key.len() });
        }
        if self.ops.len() >= MAX_BATCH_OPS {
            return Err(StoreError::BatchSize {
                len: self.ops.len() + 1,
                max: MAX_BATCH_OPS,
            });
        }
        self.ops.push(op);
        Ok(())
    }

    /// How many operations the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Commits the batch atomically; returns the version every key it changed now has (the
    /// LSN of its commit record). An empty batch is an error.
    pub fn commit(self) -> Result<Version, StoreError> {
        if self.ops.is_empty() {
            return Err(StoreError::BatchSize {
                len: 0,
                max: MAX_BATCH_OPS,
            });
        }
        let records = batch_records(next_batch_id(), self.ops);
        self.core.write_all(None, &records)
    }

    /// Discards the batch; nothing was or will be written.
    pub fn abort(self) {}
}

/// A batch id unique among this process's batches (pid in the high half): ids only need to
/// differ between a batch and the cut-off one it may follow in the log.
fn next_batch_id() -> BatchId {
    (u64::from(std::process::id()) << 32) | u64::from(NEXT_BATCH.fetch_add(1, Ordering::Relaxed))
}

fn batch_records(batch: BatchId, ops: Vec<BatchOp>) -> Vec<WalRecord> {
    let op_count = ops.len() as u32;
    let mut records = Vec::with_capacity(ops.len() + 2);
    records.push(WalRecord::BatchBegin { batch, op_count });
    for op in ops {
        records.push(match op {
            BatchOp::Put { key, value } => WalRecord::BatchPut { batch, key, value },
            BatchOp::Delete { key } => WalRecord::BatchDelete { batch, key },
        });
    }
    records.push(WalRecord::BatchCommit { batch, op_count });
    records
}
