//! [`StoreError`]: why a Store operation did not succeed, and whether it may still have
//! happened ([`Outcome`]).

use std::path::PathBuf;

use thiserror::Error;

use crate::blob::BlobError;
use crate::lock::LockError;
use crate::manifest::ManifestError;
use crate::record::{RecordDecodeError, MAX_KEY_BYTES};
use crate::state::{SnapshotDecodeError, StateError};
use crate::wal::WalError;

/// Whether a failed operation may still have taken effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It definitely did not happen and never will (a history records `fail`).
    Determinate,
    /// It may or may not have happened, now or later (a history records `info`).
    Indeterminate,
}

/// Errors of [`crate::Store`]. [`StoreError::outcome`] says whether the operation may have
/// happened; [`StoreError::code`] is the line protocol's error code (store/SERVE.md).
#[derive(Debug, Error)]
pub enum StoreError {
    /// A key longer than [`MAX_KEY_BYTES`]. Nothing was written.
    #[error("key of {len} bytes is longer than the maximum {MAX_KEY_BYTES}")]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
    },
    /// A batch with no operations, or more than the maximum. Nothing was written.
    #[error("a batch must hold 1..={max} operations, this one holds {len}")]
    BatchSize {
        /// Operations in the batch.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The directory's lock could not be taken in time. Nothing was written.
    #[error("lock of {dir} not acquired: {reason}")]
    LockUnavailable {
        /// The store directory.
        dir: PathBuf,
        /// What happened (timed out, lock file unreadable...).
        reason: String,
    },
    /// Another process took the lock over while this operation's records were being made
    /// durable: they may or may not survive (a fenced writer's records are ignored).
    #[error("the lock of epoch {epoch} was taken over by a higher epoch during the operation")]
    LockLost {
        /// The epoch this process held.
        epoch: u64,
    },
    /// The write-ahead log failed. Indeterminate iff [`WalError::is_indeterminate`] (a failed
    /// fsync: the records may or may not be durable).
    #[error("write-ahead log: {0}")]
    Wal(#[from] WalError),
    /// A record in the log is not a valid Store record.
    #[error("log record at lsn {lsn}: {source}")]
    CorruptRecord {
        /// Its LSN.
        lsn: u64,
        /// What is wrong.
        source: RecordDecodeError,
    },
    /// A committed record names a value blob that is missing, damaged or unreadable: the
    /// value it wrote cannot be read back.
    #[error("log record at lsn {lsn}: value blob {blob}: {source}")]
    ValueBlob {
        /// The record's LSN.
        lsn: u64,
        /// The value blob's id.
        blob: String,
        /// Why it could not be read (not found, failed its checksum, IO error).
        source: BlobError,
    },
    /// A committed record names a value blob that reads back with a valid checksum but is not
    /// the value the record names (its length or its SHA-256 differs from the id's).
    #[error(
        "log record at lsn {lsn}: value blob {blob} holds {found_len} bytes that are not the \
         value the record names ({expected_len} bytes, SHA-256 in the blob id)"
    )]
    ValueBlobMismatch {
        /// The record's LSN.
        lsn: u64,
        /// The value blob's id.
        blob: String,
        /// The value length the record names.
        expected_len: u64,
        /// The length of what the blob holds.
        found_len: u64,
    },
    /// The log holds a sequence of records the Store never writes.
    #[error("log: {0}")]
    BadLog(#[from] StateError),
    /// A snapshot blob is not a valid snapshot.
    #[error("snapshot blob {blob}: {source}")]
    CorruptSnapshot {
        /// The blob's id.
        blob: String,
        /// What is wrong.
        source: SnapshotDecodeError,
    },
    /// The lease lock failed (timed out, or its files could not be read or written). Nothing
    /// was written.
    #[error("lock: {0}")]
    Lock(#[from] LockError),
    /// A blob could not be written or read (or failed its checksum). Writes that fail here
    /// (snapshots) were never published.
    #[error("blob: {0}")]
    Blob(#[from] BlobError),
    /// The manifest could not be read or published. Indeterminate iff the publish may have
    /// taken effect ([`ManifestError::PublishIndeterminate`]).
    #[error("manifest: {0}")]
    Manifest(#[from] ManifestError),
    /// The manifest names no snapshot but says it covers records: it is not one the Store
    /// publishes.
    #[error("manifest seq {seq} covers lsn {covered_lsn} but names no snapshot blob")]
    ManifestWithoutSnapshot {
        /// The manifest's seq.
        seq: u64,
        /// Its covered LSN.
        covered_lsn: u64,
    },
    /// A snapshot blob's own covered LSN disagrees with the manifest's.
    #[error("snapshot blob {blob} covers lsn {snapshot_lsn} but the manifest says {manifest_lsn}")]
    SnapshotLsnMismatch {
        /// The blob.
        blob: String,
        /// What the blob says.
        snapshot_lsn: u64,
        /// What the manifest says.
        manifest_lsn: u64,
    },
    /// The manifest changed under the lease: another holder published (this process was
    /// fenced). The new snapshot was not published.
    #[error("manifest seq {found_seq} found where seq {expected_seq} was read under the lease")]
    ManifestConflict {
        /// The seq read before publishing.
        expected_seq: u64,
        /// The seq found when publishing.
        found_seq: u64,
    },
    /// A pin file or the lease keeper thread could not be created, or the log's tail could
    /// not be made durable when taking the lease. Nothing of the operation was written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the operation may have happened.
    pub fn outcome(&self) -> Outcome {
        let indeterminate = match self {
            StoreError::LockLost { .. } => true,
            StoreError::Wal(error) => error.is_indeterminate(),
            StoreError::Manifest(error) => {
                matches!(error, ManifestError::PublishIndeterminate { .. })
            }
            _ => false,
        };
        if indeterminate {
            Outcome::Indeterminate
        } else {
            Outcome::Determinate
        }
    }

    /// The line protocol's error code for this error.
    pub fn code(&self) -> &'static str {
        if self.outcome() == Outcome::Indeterminate {
            return "indeterminate";
        }
        match self {
            StoreError::KeyTooLong { .. } | StoreError::BatchSize { .. } => "invalid_argument",
            StoreError::CorruptRecord { .. }
            | StoreError::BadLog(_)
            | StoreError::CorruptSnapshot { .. }
            | StoreError::ManifestWithoutSnapshot { .. }
            | StoreError::SnapshotLsnMismatch { .. }
            | StoreError::Blob(BlobError::Corrupt { .. })
            | StoreError::ValueBlobMismatch { .. }
            | StoreError::ValueBlob {
                source: BlobError::NotFound { .. } | BlobError::Corrupt { .. },
                ..
            }
            | StoreError::Manifest(ManifestError::Corrupt { .. }) => "corrupt",
            StoreError::Wal(error) if is_corrupt_wal(error) => "corrupt",
            _ => "unavailable",
        }
    }
}

fn is_corrupt_wal(error: &WalError) -> bool {
    matches!(
        error,
        WalError::CorruptSegmentHeader { .. }
            | WalError::SegmentHeaderMismatch { .. }
            | WalError::PrevEpochAboveEpoch { .. }
            | WalError::CorruptRecord { .. }
            | WalError::DamagedDurableRecord { .. }
            | WalError::MissingRecords { .. }
            | WalError::MissingSegment { .. }
            | WalError::LogEndsBeforeLsn { .. }
    )
}
