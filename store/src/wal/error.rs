//! The WAL's error type.

use std::io;
use std::path::{Path, PathBuf};

use crate::lock::Epoch;
use crate::wal::frame::FrameError;
use crate::wal::Lsn;

/// Why a record at some offset is not the record recovery expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFault {
    /// The bytes are not a valid frame.
    #[error("{0}")]
    Frame(FrameError),
    /// A valid frame with another LSN than the next one expected (a hole or a misplaced write).
    #[error("lsn gap: found lsn {found}")]
    LsnGap {
        /// The LSN found.
        found: Lsn,
    },
    /// A valid frame of another epoch than its segment's (a misplaced write).
    #[error("record of epoch {found} in a segment of another epoch")]
    EpochMismatch {
        /// The epoch found.
        found: Epoch,
    },
}

/// Errors of the WAL. Each says whether the operation may have taken effect: only
/// [`WalError::SyncFailed`] and [`WalError::SyncPoisoned`] (from `sync`) leave records whose
/// durability is unknown; every other error means nothing was acknowledged by that call and
/// the caller may report the write as not done, except that records appended earlier and not
/// yet synced stay in doubt until a `sync` answers for them.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An IO operation failed (open, read, list, create, remove...).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The flush this call led (write + fsync) failed: records up to `lsn` may or may not be
    /// durable (outcome unknown). The Wal is poisoned; reopen it to recover.
    #[error("sync through lsn {lsn} failed, the records may or may not be durable: {source}")]
    SyncFailed {
        /// The last LSN the failed flush covered.
        lsn: Lsn,
        /// The failure.
        source: Box<WalError>,
    },
    /// A flush failed earlier (in this call's group or before it): the records this call waited
    /// for may or may not be durable (outcome unknown). Reopen the Wal to recover.
    #[error("the wal is poisoned by a failed fsync; records through lsn {lsn} may or may not be durable")]
    SyncPoisoned {
        /// The LSN the caller asked to sync.
        lsn: Lsn,
    },
    /// `append` on a poisoned Wal: nothing was appended.
    #[error("the wal is poisoned by a failed fsync; nothing was appended, reopen it")]
    Poisoned,
    /// `sync` of an LSN that was never appended (a caller bug).
    #[error("sync of lsn {lsn}, but the last appended lsn is {last_lsn}")]
    NotAppended {
        /// The LSN asked for.
        lsn: Lsn,
        /// The last appended LSN.
        last_lsn: Lsn,
    },
    /// A payload larger than [`crate::wal::frame::MAX_PAYLOAD_BYTES`]; nothing was appended.
    #[error("payload of {len} bytes exceeds the maximum {max}")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// Unsynced appends already hold `WalOptions::max_pending_bytes`; sync, then append.
    #[error("{pending_bytes} bytes are pending, the limit is {limit}: sync before appending")]
    PendingFull {
        /// Bytes pending.
        pending_bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A segment header is invalid (in a sealed segment, or a damaged durable tail).
    #[error("{path}: invalid segment header at offset 0: {source}")]
    CorruptSegmentHeader {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        source: FrameError,
    },
    /// A valid segment header that disagrees with the file name (a misplaced or renamed file).
    #[error("{path}: header says first lsn {header_first_lsn}, epoch {header_epoch}, unlike the file name")]
    SegmentHeaderMismatch {
        /// The segment.
        path: PathBuf,
        /// First LSN in the header.
        header_first_lsn: Lsn,
        /// Epoch in the header.
        header_epoch: Epoch,
    },
    /// A segment header names a predecessor epoch above its own: the chain of segments
    /// (`prev_epoch`) cannot be followed.
    #[error("{path}: header says prev epoch {prev_epoch}, above its own epoch {epoch}")]
    PrevEpochAboveEpoch {
        /// The segment.
        path: PathBuf,
        /// Its epoch.
        epoch: Epoch,
        /// The predecessor epoch in its header.
        prev_epoch: Epoch,
    },
    /// An invalid record before the end of a sealed segment.
    #[error("{path}: invalid record at offset {offset} (expected lsn {expected_lsn}): {fault}")]
    CorruptRecord {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the record in the segment.
        offset: u64,
        /// The LSN that belongs there.
        expected_lsn: Lsn,
        /// What is wrong.
        fault: RecordFault,
    },
    /// Damage in the last segment that cannot be a torn tail: a later valid record proves the
    /// damaged one had been fsynced (it may have been acknowledged). Never cut silently.
    #[error("{path}: offset {offset}: record lsn {expected_lsn} was durable (the record at offset {evidence_offset} says lsn {evidence_durable_lsn} was fsynced) but is damaged: {fault}")]
    DamagedDurableRecord {
        /// The segment.
        path: PathBuf,
        /// Offset of the damage.
        offset: u64,
        /// The LSN that belongs there.
        expected_lsn: Lsn,
        /// The damage found.
        fault: Box<WalError>,
        /// Offset of the record that proves durability.
        evidence_offset: u64,
        /// Its durable LSN.
        evidence_durable_lsn: Lsn,
    },
    /// A sealed segment ends before the records the next segment expects.
    #[error("{path}: segment ends before lsn {expected_lsn}, but the next segment starts at lsn {next_segment_first_lsn}")]
    MissingRecords {
        /// The segment.
        path: PathBuf,
        /// The first missing LSN.
        expected_lsn: Lsn,
        /// Where the next segment starts.
        next_segment_first_lsn: Lsn,
    },
    /// No segment holds `expected_lsn`: the first segment starts after it.
    #[error("{dir}: no segment holds lsn {expected_lsn}; the first is {first_segment}")]
    MissingSegment {
        /// The WAL directory.
        dir: PathBuf,
        /// The LSN needed.
        expected_lsn: Lsn,
        /// The first segment present.
        first_segment: PathBuf,
    },
    /// The log ends before an LSN the caller knows was durable (from the manifest or its own
    /// applied state): acknowledged records are missing.
    #[error("{dir}: the log ends at lsn {last_lsn}, before lsn {expected_lsn}")]
    LogEndsBeforeLsn {
        /// The WAL directory.
        dir: PathBuf,
        /// The last valid LSN.
        last_lsn: Lsn,
        /// The LSN expected at least.
        expected_lsn: Lsn,
    },
    /// Opening with an epoch older than the newest segment's: this writer has been fenced.
    #[error("{dir}: epoch {epoch} is older than the newest segment's epoch {newest}")]
    StaleEpoch {
        /// The WAL directory.
        dir: PathBuf,
        /// The epoch the caller holds.
        epoch: Epoch,
        /// The newest epoch found.
        newest: Epoch,
    },
}

impl WalError {
    /// Whether the outcome of the writes this error answers for is unknown (`info`).
    pub fn is_indeterminate(&self) -> bool {
        matches!(
            self,
            WalError::SyncFailed { .. } | WalError::SyncPoisoned { .. }
        )
    }
}

/// Builds a [`WalError::Io`].
pub(crate) fn io_error(op: &'static str, path: &Path, source: io::Error) -> WalError {
    WalError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
